"""`ablate()`: the public entry point, usable with or without IPython.

It checks every option (saying what it expected and what it got), builds the
variants and the paired folds, runs the study over the executor and returns an
`AblationResult`.
"""
import numbers
import platform
import statistics
import time

from ..errors import ConfigError, expected
from ..executors import make_executor
from ..executors.shipping import check_shippable
from ..runs.background import may_run_in_background
from ..runs.interrupts import returns_on_interrupt
from ..live.views import announce_finished
from ..validate import positive_int, valid_scoring, workers
from .result import AblationResult
from .study import Study, _most_common
from .variants import block_variants, pipeline_variants
from .views import AblationModel
from .work import AblationPayload


@may_run_in_background("ablation", lambda: AblationModel())
@returns_on_interrupt
def ablate(target, X=None, y=None, *, cv=5, scoring=None, repeats=3, params=False, features=None,
           components=None, minimize=False, seed=0, jobs=None, backend="loky", client=None, scheduler=None,
           progress=True, listeners=()):
    """Measure what each component of `target` contributes to its score; rank components by impact.

    `target` is a scikit-learn Pipeline, cross-validated on (X, y): each step
    is knocked out in turn (nested Pipelines, ColumnTransformers and
    FeatureUnions included; the final estimator gives way to a Dummy), with
    ``params=True`` each hyperparameter set away from its default is reset, and
    with ``features={group: columns}`` each group of columns is dropped.

    Or `target` is a function of no arguments whose code has
    ``if component("name"):`` blocks, listed in `components`; it returns a
    score (a number, or per-fold scores), or an unfitted estimator that is
    cross-validated on (X, y).

    Every variant is scored on the same folds (paired), `repeats` times with a
    different shuffle (seed + repeat), all fits spread over `jobs` workers.
    ``backend="dask"`` runs them on `client`, or the cluster at `scheduler`,
    or the active Client, or a LocalCluster started for this study.
    """
    repeats = positive_int("repeats", repeats)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ConfigError(f"seed must be an integer, {expected('e.g. 0', seed)}")
    n_workers = workers(jobs, backend)
    executor = make_executor(backend, n_workers, client=client, scheduler=scheduler)
    _check_cv(cv, repeats)
    scoring = valid_scoring(scoring)
    if (X is None) != (y is None):
        raise ConfigError("give both X and y (data=X y), or neither")
    is_pipeline = _is_pipeline(target)
    if is_pipeline:
        if X is None:
            raise ConfigError("a pipeline is scored by cross-validation and needs the data: "
                              "ablate(pipe, X, y), or %ablate pipe --data X y")
        if components is not None:
            raise ConfigError("components= names the blocks of a function; a pipeline's components are its steps")
        if minimize:
            raise ConfigError("minimize is for a cell whose score is a loss; scikit-learn scorers are "
                              "higher-is-better (use e.g. --scoring neg_mean_squared_error)")
        variants = pipeline_variants(target, X, params=params, features=features)
        if len(variants) < 2:
            raise ConfigError("the pipeline has no step to knock out; every step is already 'passthrough'")
        blocks = None
    elif callable(target):
        if params or features is not None:
            raise ConfigError("params and features ablate a pipeline's parts (line form: %ablate pipe --data X y)"
                              "; a cell's components are its component('name') blocks")
        variants = block_variants(_check_components(components))
        blocks = target
    else:
        raise ConfigError(f"ablate() takes a scikit-learn Pipeline or a function using component('name'), "
                          f"got a {type(target).__name__}; wrap an estimator with make_pipeline(...)")

    folds, ratio = (None, 0.0) if X is None else _make_folds(target if is_pipeline else None, X, y, cv,
                                                              repeats, seed)
    payload = AblationPayload(variants=variants, folds=folds, X=X, y=y, scoring=scoring, blocks=blocks, seed=seed,
                              seed_globals=backend != "threads")
    if folds is None:
        units = [(v, r, None) for v in range(len(variants)) for r in range(repeats)]
    else:
        units = [(v, r, k) for v in range(len(variants)) for r in range(repeats) for k in range(len(folds[r]))]
    views = list(listeners)
    if progress:
        from .views import make_ablation_view
        views.insert(0, make_ablation_view(progress))   # drawn first: before anyone else hears of the start
    if executor.pickles:
        check_shippable(payload, getattr(blocks, "namespace", None), "the pipeline" if is_pipeline else "the cell")
    started_at = time.time()
    study = Study(payload=payload, units=units, executor=executor, maximize=not minimize,
                  test_train_ratio=ratio, listeners=views).run()
    result = _result(study, is_pipeline, folds, repeats, scoring, minimize)
    result.metrics.update(started_at=started_at, host=platform.node(), seed=seed)
    result.data = None if X is None else (X, y)
    announce_finished(views, result)
    return result


def _result(study, is_pipeline, folds, repeats, scoring, minimize):
    base = study.scores[0]
    values = [base[k] for k in sorted(base)]
    notes = []
    if not values and study.errors[0]:
        notes.append(f"the baseline failed on every fit ({study.errors[0][0]}), so nothing could be compared")
    k = len(folds[0]) if folds else study.cell_folds()
    if folds is not None:
        test = f"Nadeau-Bengio corrected paired t-test over {repeats} x {k} folds"
    elif k > 1:
        used = 1 if study.identical_repeats() else repeats
        test = f"Nadeau-Bengio corrected paired t-test over {used} x {k} fold scores (assumed {k}-fold CV)"
    else:
        test = f"paired t-test over {repeats} repeat(s)"
        if repeats < 2:
            notes.append("one repeat of a cell that returns one number gives no p-value: use --repeats 3 or "
                         "more, return per-fold scores, or end the cell with an estimator and add --data X y")
        elif not study.identical_repeats():
            notes.append("a cell that returns one number is compared repeat by repeat with a plain paired t-test, "
                         "which ignores that repeats reuse the same rows (p-values run low): return per-fold "
                         "scores (drop .mean()), or end the cell with an estimator and add --data X y")
    if study.identical_repeats():
        notes.append("the cell gave the same scores on every repeat (its CV does not reshuffle), so only the first "
                     "repeat counts" + (" and no p-value can be given" if k == 1 else "") + ": use "
                     "KFold(5, shuffle=True) without a fixed random_state (each repeat is seeded apart), or end "
                     "the cell with an estimator and add --data X y")
    if study.status in ("interrupted", "stopped"):
        notes.append(f"{study.status}: {study.done} of {len(study.units)} fits finished")
    failed = [r.component for r in study.rows() if r.label == "failed"]
    if failed:
        notes.append(f"every fit failed for: {', '.join(failed)} (see error on each)")
    return AblationResult(
        form="pipeline" if is_pipeline else "cell", scoring=_scoring_name(scoring, is_pipeline or folds is not None),
        direction="minimize" if minimize else "maximize",
        baseline=statistics.fmean(values) if values else None,
        baseline_spread=statistics.stdev(values) if len(values) > 1 else 0.0, baseline_scores=values,
        ranking=study.rows(), repeats=repeats, folds=k, test=test, status=study.status, metrics=study.metrics(),
        notes=notes, resources=study.monitor.history, baseline_failed=len(study.errors[0]), baseline_error=_most_common(study.errors[0]))


def _make_folds(pipe, X, y, cv, repeats, seed):
    """The same splits for every variant within a repeat, a new shuffle per repeat; and n_test / n_train."""
    import numpy as np
    from sklearn.base import is_classifier
    from sklearn.model_selection import KFold, StratifiedKFold
    from sklearn.utils.multiclass import type_of_target
    from sklearn.utils.validation import _num_samples

    try:
        n = _num_samples(X)
        if _num_samples(y) != n:
            raise ConfigError(f"X has {n} rows but y has {_num_samples(y)}; give X and y of the same length")
    except TypeError as err:
        raise ConfigError(f"X and y must be array-like (arrays, DataFrames, lists): {err}") from None
    if not isinstance(cv, numbers.Integral):
        splits = [list(cv.split(X, y))]
    else:
        if cv > n:
            raise ConfigError(f"cv={cv} folds need at least {cv} rows, but X has {n}")
        kind = type_of_target(y)
        stratify = kind in ("binary", "multiclass") and (pipe is None or is_classifier(pipe))
        if stratify:
            stratify = int(np.unique(np.asarray(y), return_counts=True)[1].min()) >= cv
        splitter = StratifiedKFold if stratify else KFold
        splits = [list(splitter(n_splits=int(cv), shuffle=True, random_state=seed + r).split(X, y))
                  for r in range(repeats)]
    folds = [[(np.asarray(tr, dtype=np.intp), np.asarray(te, dtype=np.intp)) for tr, te in rep] for rep in splits]
    ratios = [len(te) / len(tr) for rep in folds for tr, te in rep if len(tr)]
    return folds, (sum(ratios) / len(ratios) if ratios else 0.0)


def _is_pipeline(target):
    try:
        from sklearn.pipeline import Pipeline
    except ImportError:  # pragma: no cover - scikit-learn is a dependency
        return False
    return isinstance(target, Pipeline)


def _check_components(components):
    if components is None:
        raise ConfigError("components= must list the names used in the function's component('name') blocks")
    if isinstance(components, str):
        components = [components]
    names = list(components)
    if not names or not all(isinstance(n, str) and n for n in names):
        example = "['scaling', 'poly']"
        raise ConfigError(f"components must be a non-empty list of block names, {expected(example, names)}")
    if len(set(names)) != len(names):
        raise ConfigError(f"components lists a name twice: {names}")
    return names


def _check_cv(cv, repeats):
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ConfigError(f"cv must be at least 2 folds, got {cv}")
        return
    if not hasattr(cv, "split"):
        raise ConfigError(f"cv must be a number of folds or a splitter object, {expected('e.g. 5', cv)}")
    if repeats > 1:
        raise ConfigError("repeats > 1 reshuffles the folds, which needs cv as a number of folds; "
                          "with a splitter object use repeats=1")


def _scoring_name(scoring, scored_by_us):
    if not scored_by_us:
        return "cell score"
    if scoring is None:
        return "default score"
    return scoring if isinstance(scoring, str) else getattr(scoring, "__name__", type(scoring).__name__)


