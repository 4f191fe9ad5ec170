"""The inputs of a refinement, checked and split once: starting points, holdout, subsample, folds."""
import numpy as np

from ..errors import ConfigError


def starting_points(pipe, candidates):
    from sklearn.pipeline import Pipeline

    starts = []
    if pipe is not None:
        if not isinstance(pipe, Pipeline):
            raise ConfigError(f"refine() needs a scikit-learn Pipeline, got {type(pipe).__name__}; wrap the model "
                              "with make_pipeline(...) so its steps can be ablated and tuned")
        starts.append(("initial", pipe))
    if candidates is not None:
        if not isinstance(candidates, (list, tuple)) or not candidates:
            raise ConfigError("--candidates must name a non-empty list of estimators or pipelines")
        for i, candidate in enumerate(candidates):
            if not hasattr(candidate, "fit"):
                raise ConfigError(f"candidate {i} is a {type(candidate).__name__}, not an estimator")
            if not isinstance(candidate, Pipeline):
                from sklearn.pipeline import make_pipeline
                candidate = make_pipeline(candidate)
            starts.append((f"candidate{i}", candidate))
    if not starts:
        raise ConfigError("give a pipeline to refine, or --candidates to start from the best of them")
    return starts


def check_spaces(spaces, starts):
    """--spaces before anything runs: each key a step of the pipeline (its full name, prep__scale, or its last
    part, scale), each value a space over that step's parameters. A key that matched nothing would be
    silently ignored, and the round would tune the built-in space instead."""
    if spaces is None:
        return None
    if not isinstance(spaces, dict):
        raise ConfigError(f"spaces must be a dict of step name -> space, got {type(spaces).__name__}")
    from ..search.space import parse_space

    steps = {}
    for _, pipe in starts:
        for path, value in pipe.get_params(deep=True).items():
            if hasattr(value, "get_params") and not isinstance(value, type):
                for key in {path, path.rsplit("__", 1)[-1]}:
                    steps.setdefault(key, []).append(value)
    for key, space in spaces.items():
        if key not in steps:
            names = sorted({path for path in steps if "__" not in path})
            raise ConfigError(f"--spaces names step {key!r}, which the pipeline does not have; its steps are "
                              f"{', '.join(names)} (nested ones as outer__inner)")
        try:
            dims = parse_space(space)
        except ConfigError as err:
            raise ConfigError(f"--spaces[{key!r}]: {err}") from None
        known = set().union(*(estimator.get_params(deep=True) for estimator in steps[key]))
        unknown = [name for name in dims if name not in known]
        if unknown:
            kind = type(steps[key][0]).__name__
            raise ConfigError(f"--spaces[{key!r}] tunes {unknown[0]!r}, which {kind} does not have; its parameters "
                              f"include {', '.join(sorted(known)[:8])}")
    return spaces


def arrays(X, y):
    try:
        y = np.asarray(y)
        n = len(X)
    except TypeError:
        raise ConfigError("X and y must be array-like (arrays, DataFrames)") from None
    if n != len(y):
        raise ConfigError(f"X has {n} rows but y has {len(y)}; give X and y of the same length")
    return X, y


def rows(X, index):
    return X.iloc[index] if hasattr(X, "iloc") else np.asarray(X)[index]


def split_holdout(X, y, holdout, classification, seed):
    if not holdout:
        return X, y, None, None
    from sklearn.model_selection import train_test_split

    index = np.arange(len(y))
    dev, hold = train_test_split(index, test_size=holdout, random_state=seed,
                                 stratify=y if classification else None)
    return rows(X, dev), y[dev], rows(X, hold), y[hold]


def subsample_rows(X, y, n, classification, seed):
    if n is None or n >= len(y):
        return X, y
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(np.arange(len(y)), train_size=n, random_state=seed,
                               stratify=y if classification else None)
    return rows(X, keep), y[keep]


def folds(X, y, cv, classification, seed, repeats):
    from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold

    splitter = (RepeatedStratifiedKFold if classification else RepeatedKFold)(
        n_splits=cv, n_repeats=repeats, random_state=seed)
    return list(splitter.split(X, y))
