"""What a worker does with one trial: call the objective, turn its value into a score.

The value may be a number, a dict with "score" and further metrics, or an
unfitted scikit-learn estimator, which is cross-validated here fold by fold so
that a hopeless trial can be pruned early (median rule, as Optuna's
MedianPruner). Every outcome comes back as a plain dict; nothing raises except
an interrupt.
"""
import math
import numbers
import os
import socket
import time
import traceback
import warnings
from dataclasses import dataclass, field

from .cell import CELL_FILENAME
from .executors.shipping import resolve
from .limits import TrialStopped, enforced, format_bytes

PRUNE_MIN_TRIALS = 5


@dataclass
class SearchPayload:
    """Everything a worker needs for a whole search, shipped once."""

    objective: object
    data: tuple = None          # (X, y) for estimator objectives
    cv: object = 5
    scoring: object = None
    maximize: bool = True
    extra: dict = field(default_factory=dict)


class ObjectiveUsageError(Exception):
    """The objective's value cannot be scored with the options given (the user must change them)."""


def run_trial(shared, number, params, prune_table, limits=None):
    """Run one trial in a worker and describe its outcome.

    `limits` is ``(timeout seconds or None, memory bytes or None)``.
    """
    payload = resolve(shared)
    outcome = {"number": number, "worker": f"{socket.gethostname()}/{os.getpid()}",
               "metrics": {}, "intermediate": [], "error": None}
    outcome["start"] = time.time()
    clock = time.perf_counter()
    timeout_s, memory_bytes = limits or (None, None)
    with warnings.catch_warnings(record=True) as caught, enforced(timeout_s, memory_bytes) as watch:
        warnings.simplefilter("always")
        try:
            value = payload.objective(dict(params))
            state, score, metrics, folds = _score(value, payload, prune_table)
            outcome.update(state=state, value=score, metrics=metrics, intermediate=folds)
        except TrialStopped:
            outcome.update(state="timeout" if watch.reason == "timeout" else "failed", value=None,
                           error=watch.message)
        except ObjectiveUsageError as err:
            outcome.update(state="usage_error", value=None, error=str(err))
        except MemoryError as err:
            reason = _describe_error(err)
            if memory_bytes is not None:
                reason = (f"memory limit exceeded: {str(err) or 'MemoryError'} "
                          f"(--trial-memory {format_bytes(memory_bytes)})")
            outcome.update(state="failed", value=None, error=reason)
        except Exception as err:  # a failing trial is data, not a crash of the search
            outcome.update(state="failed", value=None, error=_describe_error(err))
    outcome["warnings"] = _distinct_warnings(caught)
    outcome["duration"] = time.perf_counter() - clock
    outcome["end"] = outcome["start"] + outcome["duration"]
    return outcome


def _score(value, payload, prune_table):
    if _is_estimator(value):
        return _cross_validate(value, payload, prune_table)
    metrics = {}
    if isinstance(value, dict):
        if "score" not in value:
            raise ValueError(f"the objective returned a dict without 'score' (keys: {sorted(value)})")
        metrics = {str(k): _plain_metric(v) for k, v in value.items() if k != "score"}
        value = value["score"]
    return "complete", _as_score(value), metrics, []


def _as_score(value):
    if value is None:
        raise ValueError("the objective is None: end the cell with the score, not a statement or print()")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if getattr(value, "shape", None) == () and hasattr(value, "item"):
            return _as_score(value.item())
        raise TypeError(f"the objective must be a number, a dict with 'score' or an estimator, "
                        f"got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"the objective is {value}, not a finite number")
    return value


def _plain_metric(value):
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return repr(value)


def _is_estimator(value):
    return hasattr(value, "fit") and hasattr(value, "get_params")


def _cross_validate(estimator, payload, prune_table):
    from sklearn.base import is_classifier
    from sklearn.model_selection import check_cv, cross_validate

    if payload.data is None:
        raise ObjectiveUsageError(
            f"the cell returned an unfitted {type(estimator).__name__} but no data to score it on; "
            "add --data X y (and --cv K, --scoring S), or end the cell with a score"
        )
    X, y = payload.data
    splits = check_cv(payload.cv, y, classifier=is_classifier(estimator)).split(X, y)
    folds = []
    for fold, (train, test) in enumerate(splits):
        result = cross_validate(estimator, X, y, cv=[(train, test)], scoring=payload.scoring,
                                error_score="raise")
        folds.append(_as_score(result["test_score"][0]))
        running = sum(folds) / len(folds)
        if _should_prune(running, fold, prune_table, payload.maximize):
            return "pruned", running, {}, folds
    return "complete", sum(folds) / len(folds), {}, folds


def _should_prune(running, fold, prune_table, maximize):
    """Median rule: worse than the median of finished trials' running means at this fold."""
    if not prune_table or fold >= len(prune_table):
        return False
    others = sorted(prune_table[fold])
    if len(others) < PRUNE_MIN_TRIALS:
        return False
    middle = len(others) // 2
    median = others[middle] if len(others) % 2 else (others[middle - 1] + others[middle]) / 2
    return running < median if maximize else running > median


def _distinct_warnings(caught, limit=3):
    """Warnings are kept on the trial instead of flooding the notebook: a few distinct first lines."""
    seen = []
    for item in caught:
        text = f"{item.category.__name__}: {str(item.message).splitlines()[0] if str(item.message) else ''}"
        if text not in seen:
            seen.append(text)
        if len(seen) == limit:
            break
    return seen


def _describe_error(err):
    """One line: the exception, and the cell line it came from when it came from the cell."""
    text = "".join(traceback.format_exception_only(type(err), err)).strip().splitlines()[-1]
    cell_lines = [frame.lineno for frame in traceback.extract_tb(err.__traceback__)
                  if frame.filename == CELL_FILENAME]
    if cell_lines:
        text += f" (cell line {cell_lines[-1]})"
    return text
