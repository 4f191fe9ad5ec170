"""The variants of an ablation study: the baseline, and one per component taken out.

A pipeline's variants are built here in the kernel as unfitted clones (workers
clone them again per fit), so every variant is a plain scikit-learn estimator:

- step: each step of the pipeline and of every nested Pipeline, ColumnTransformer
  and FeatureUnion is skipped. In a Pipeline or ColumnTransformer it becomes
  'passthrough' (its input goes on unchanged); in a FeatureUnion, whose members
  add columns, it becomes 'drop'. The final estimator is replaced by a Dummy
  baseline of the same task (the prior for a classifier, the mean for a regressor).
- param (``params=True``): each hyperparameter set away from its default is reset.
- features (``features={group: columns}``): each group's columns are dropped from
  X; a ColumnTransformer that reads X directly gets its column lists rewritten so
  it still selects the columns it did (by name or by their new positions).
- block (cell form): each ``component("name")`` is switched off.
"""
import inspect
from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError

# Params that change how a fit runs, not what it learns; resetting them measures nothing.
IGNORED_PARAMS = frozenset({"verbose", "n_jobs", "random_state", "copy", "copy_X", "memory", "warm_start",
                            "verbose_feature_names_out", "transform_input", "force_int_remainder_cols"})
STRUCTURE_PARAMS = frozenset({"steps", "transformers", "transformer_list"})
OFF = ("passthrough", "drop", None)


@dataclass
class Variant:
    name: str                  # the component taken out ("baseline" for none)
    kind: str                  # baseline | step | param | features | block
    detail: str = ""
    estimator: object = None   # pipeline form: the variant's unfitted pipeline
    columns: list = None       # features: positions of the columns kept (None: all)
    block: str = None          # cell form: the component() name switched off


def pipeline_variants(pipe, X, *, params=False, features=None):
    """Baseline first, then steps, params and feature groups, in pipeline order."""
    from sklearn.base import clone

    variants = [Variant("baseline", "baseline", "everything in", estimator=clone(pipe))]
    final = _final_paths(pipe)
    for path, step, container in walk_steps(pipe):
        if path in final:
            dummy = _dummy_for(pipe)
            if dummy is None:
                continue
            value, detail = dummy, f"{_type(step)} -> {_type(dummy)}({dummy.strategy})"
        else:
            value = "drop" if container == "union" else "passthrough"
            detail = f"{_type(step)} -> {value}"
        variants.append(Variant(path, "step", detail, estimator=clone(pipe).set_params(**{path: value})))
    if params:
        for path, value, default in changed_params(pipe):
            name = path.rsplit("__", 1)[-1]
            variants.append(Variant(path, "param", f"{name}={_short(value)} -> default {_short(default)}",
                                    estimator=clone(pipe).set_params(**{path: default})))
    if features is not None:
        columns = column_names(X)
        for group, positions in check_features(features, X).items():
            dropped = set(positions)
            keep = [i for i in range(len(columns)) if i not in dropped]
            variants.append(Variant(str(group), "features", f"drops {len(positions)} column(s): "
                                    f"{_short_list([columns[i] for i in positions])}",
                                    estimator=_without_columns(pipe, dropped, columns), columns=keep))
    return variants


def block_variants(names):
    return [Variant("baseline", "baseline", "every block on")] + [
        Variant(name, "block", f"component({name!r}) is False", block=name) for name in names]


def walk_steps(est, path=""):
    """(path, step, container) for every member of nested compositions, parents before children."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    if isinstance(est, Pipeline):
        members, container = [(n, s) for n, s in est.steps], "pipeline"
    elif isinstance(est, ColumnTransformer):
        members, container = [(n, t) for n, t, _ in est.transformers], "columns"
    elif isinstance(est, FeatureUnion):
        members, container = list(est.transformer_list), "union"
    else:
        return
    for name, step in members:
        if is_off(step):
            continue
        sub = f"{path}__{name}" if path else name
        yield sub, step, container
        yield from walk_steps(step, sub)


def _final_paths(pipe):
    """The final step of the pipeline, and of a Pipeline that is itself the final step, and so on."""
    from sklearn.pipeline import Pipeline

    paths, est, prefix = set(), pipe, ""
    while isinstance(est, Pipeline) and est.steps and not is_off(est.steps[-1][1]):
        name, est = est.steps[-1]
        prefix = f"{prefix}__{name}" if prefix else name
        paths.add(prefix)
    return paths


def _dummy_for(pipe):
    from sklearn.base import is_classifier, is_regressor
    from sklearn.dummy import DummyClassifier, DummyRegressor

    if is_classifier(pipe):
        return DummyClassifier(strategy="prior")
    if is_regressor(pipe):
        return DummyRegressor(strategy="mean")
    return None


def changed_params(pipe):
    """(path, value, default) for every hyperparameter set away from its class default."""
    nodes = [("", pipe)] + [(p, s) for p, s, _ in walk_steps(pipe) if hasattr(s, "get_params")]
    seen, out = set(), []
    while nodes:
        path, est = nodes.pop(0)
        if id(est) in seen:
            continue
        seen.add(id(est))
        signature = inspect.signature(type(est).__init__).parameters
        for name, value in est.get_params(deep=False).items():
            if name in IGNORED_PARAMS or name in STRUCTURE_PARAMS:
                continue
            full = f"{path}__{name}" if path else name
            if hasattr(value, "get_params") and not isinstance(value, type):
                nodes.append((full, value))   # e.g. SelectFromModel(estimator=...): look inside too
            default = signature[name].default if name in signature else inspect.Parameter.empty
            if default is inspect.Parameter.empty or (isinstance(default, str) and default in ("warn", "deprecated")):
                continue
            if not _same(value, default):
                out.append((full, value, default))
    return out


def _same(a, b):
    if a is b:
        return True
    if hasattr(a, "get_params") or hasattr(b, "get_params"):
        return False
    try:
        equal = a == b
        if isinstance(equal, (bool, np.bool_)):
            return bool(equal) or (_is_nan(a) and _is_nan(b))
        return bool(np.array_equal(np.asarray(a), np.asarray(b)))
    except Exception:
        return False


def _is_nan(x):
    return isinstance(x, float) and x != x


# -- feature groups -------------------------------------------------------------
def column_names(X):
    if hasattr(X, "columns"):
        return list(X.columns)
    shape = getattr(X, "shape", None)
    if shape is None or len(shape) != 2:
        raise ConfigError(f"--features needs a 2-D X (array or DataFrame), got {type(X).__name__}")
    return list(range(shape[1]))


def check_features(features, X):
    """Validate {group: columns}; return {group: [positions]}."""
    if not isinstance(features, dict) or not features:
        raise ConfigError(f"--features must be a non-empty dict of group -> columns, e.g. "
                          f"{{'noise': [5, 6, 7]}}, got {type(features).__name__}")
    columns = column_names(X)
    is_frame = hasattr(X, "columns")
    index = {c: i for i, c in enumerate(columns)}
    out = {}
    for group, cols in features.items():
        if isinstance(cols, (str, int, np.integer)) and not isinstance(cols, bool):
            cols = [cols]
        if not isinstance(cols, (list, tuple, np.ndarray)) or len(cols) == 0:
            raise ConfigError(f"--features group {group!r} must list its columns, e.g. [0, 1, 2], got {cols!r}")
        positions = []
        for col in cols:
            col = col.item() if isinstance(col, np.generic) else col
            try:
                known = col in index and not isinstance(col, bool)
            except TypeError:   # unhashable, e.g. a nested list
                known = False
            if not known:
                what = "X's column names" if is_frame else f"column positions 0..{len(columns) - 1}"
                raise ConfigError(f"--features group {group!r} names column {col!r}, which X does not have; "
                                  f"use {what}")
            positions.append(index[col])
        if len(set(positions)) == len(columns):
            raise ConfigError(f"--features group {group!r} is every column of X; dropping it leaves nothing "
                              "to fit: split it into smaller groups")
        out[group] = sorted(set(positions))
    return out


def _without_columns(pipe, dropped, columns):
    """A clone whose ColumnTransformers that read X directly still select the same remaining columns."""
    from sklearn.base import clone

    est = clone(pipe)
    for ct in _raw_input_column_transformers(est):
        ct.set_params(transformers=[(name, trans, _remap(spec, dropped, columns))
                                    for name, trans, spec in ct.transformers])
    return est


def _raw_input_column_transformers(est):
    """ColumnTransformers that receive X itself: first in a pipeline, or a member of a union that does."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import FeatureUnion, Pipeline

    if isinstance(est, ColumnTransformer):
        yield est
    elif isinstance(est, Pipeline):
        for _, step in est.steps:
            if not is_off(step):
                yield from _raw_input_column_transformers(step)
                return
    elif isinstance(est, FeatureUnion):
        for _, member in est.transformer_list:
            if not is_off(member):
                yield from _raw_input_column_transformers(member)


def _remap(spec, dropped, columns):
    """A ColumnTransformer column spec, rewritten for X without the `dropped` positions."""
    if callable(spec):
        return spec   # e.g. make_column_selector: evaluated on the reduced X at fit time
    scalar = isinstance(spec, (str, int, np.integer)) and not isinstance(spec, bool)
    items = [spec] if scalar else spec
    if isinstance(items, slice):
        if not all(v is None or isinstance(v, (int, np.integer)) for v in (items.start, items.stop, items.step)):
            raise ConfigError("--features cannot rewrite a ColumnTransformer that selects a slice of column "
                              "names; list the columns instead")
        positions, by_name = list(range(len(columns)))[items], False
    else:
        items = list(np.asarray(items).tolist()) if isinstance(items, np.ndarray) else list(items)
        if items and all(isinstance(v, bool) for v in items):
            positions, by_name = [i for i, keep in enumerate(items) if keep], False
        elif all(isinstance(v, str) for v in items):
            index = {c: i for i, c in enumerate(columns)}
            positions, by_name = [index[v] for v in items if v in index], True
        else:
            positions, by_name = [int(v) % len(columns) for v in items], False
    kept_all = [i for i in range(len(columns)) if i not in dropped]
    new_position = {old: new for new, old in enumerate(kept_all)}
    kept = [p for p in positions if p not in dropped]
    out = [columns[p] if by_name else new_position[p] for p in kept]
    if scalar:
        return out[0] if out else []
    return out


# -- small helpers ----------------------------------------------------------------
def is_off(step):
    """A step switched off: None, 'passthrough' or 'drop' (never compares an estimator with a string)."""
    return step is None or (isinstance(step, str) and step in OFF)


def _type(est):
    return type(est).__name__


def _short(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _short_list(items, limit=6):
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")
