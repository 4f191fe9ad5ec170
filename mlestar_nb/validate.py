"""Checks every public function shares: each says what it expected and what it got."""
import difflib
import numbers
import warnings

from .errors import ConfigError, expected


def positive_int(option, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError(f"{option} must be a positive integer, {expected('1 or more', value)}")
    return int(value)


def positive_seconds(option, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ConfigError(f"{option} must be a positive number of seconds, {expected('e.g. 60', value)}")
    return float(value)


def workers(jobs, backend):
    """How many workers a backend gets: 1 for sequential, every cluster thread for dask without --jobs,
    all cores otherwise."""
    from .executors import BACKENDS, available_cores

    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if backend == "sequential":
        return 1
    if jobs is None:
        return None if backend == "dask" else available_cores()
    jobs = positive_int("jobs", jobs)
    cores = available_cores()
    if backend == "loky" and jobs > cores:
        warnings.warn(f"jobs={jobs} starts more worker processes than this machine's {cores} cores: they share the "
                      f"cores, so each trial runs slower and memory grows; use jobs={cores} or fewer (threads suit "
                      "trials that wait rather than compute)", UserWarning, stacklevel=3)
    return jobs


def valid_scoring(value):
    """A scikit-learn scorer name (or callable) checked before anything runs: a typo would fail every fit."""
    if value is None or callable(value):
        return value
    from sklearn.metrics import get_scorer, get_scorer_names

    try:
        get_scorer(value)
    except (ValueError, TypeError):
        names = get_scorer_names()
        close = difflib.get_close_matches(str(value), names, n=3) or [n for n in names if str(value).lower() in n][:3]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"unknown scoring {value!r}{hint}; use a scikit-learn scorer name such as accuracy, "
                          "roc_auc, r2 or neg_mean_squared_error") from None
    return value
