"""What a worker does with one trial: call the objective, turn its value into a score.

The value may be a number, a dict with "score" and further metrics, or an
unfitted scikit-learn estimator, which is cross-validated here fold by fold so
that a hopeless trial can be pruned early (median rule, as Optuna's
MedianPruner). The trial runs inside the worker-side envelope
(`runs.envelope`) that ablation units share; every outcome comes back as a
plain dict. With a progressive budget a trial may continue from the object its
configuration's previous rung kept (search/continuation.py).
"""
from dataclasses import dataclass

from ..executors.shipping import resolve
from ..runs.envelope import UsageProblem, as_score, is_estimator, run_enveloped, seed_for
from . import continuation
from .measures import built_in_measures

PRUNE_MIN_TRIALS = 5


@dataclass
class SearchPayload:
    """Everything a worker needs for a whole search, shipped once."""

    objective: object
    data: tuple = None          # (X, y) for estimator objectives
    cv: object = 5
    scoring: object = None
    maximize: bool = True
    seed: int = None            # with a seed, each trial seeds random and numpy.random from it and its number
    seed_globals: bool = True   # False on the threads backend, where the kernel's generators are shared
    keeper: object = None       # continuation.Keeper, when the objective continues from a configuration's last rung
    objectives: object = None   # an objectives.ObjectiveSpec: every name it needs is in the trial's metrics


def run_trial(shared, number, params, prune_table, limits=None, step=None):
    """Run one trial in a worker and describe its outcome as a plain dict.

    `limits` is ``(timeout seconds or None, memory bytes or None)``; `step` (a
    progressive budget's trial) is ``(configuration key, the budget it may
    continue from or None, the budget to keep its object at or None)``.
    """
    payload = resolve(shared)
    seed = seed_for(payload.seed, number) if payload.seed is not None and payload.seed_globals else None
    keeper = payload.keeper if step is not None else None
    previous = None
    if keeper is not None and step[1] is not None:
        previous = keeper.load(step[0], step[1])
    if keeper is None:
        work = lambda: _score(payload.objective(dict(params)), payload, prune_table) + (None,)  # noqa: E731
    else:
        work = lambda: _continued(payload, params, previous, step[1])  # noqa: E731
    outcome = run_enveloped(work, limits=limits, seed=seed)
    state, score, metrics, folds, kept = outcome.pop("value") or (None, None, {}, [], None)
    if outcome["usage_error"] is not None:
        state, outcome["error"] = "usage_error", outcome["usage_error"]
    elif outcome["stopped"] is not None:
        state = "timeout" if outcome["stopped"] == "timeout" else "failed"
    elif outcome["error"] is not None:
        state = "failed"
    outcome.update(number=number, state=state, value=score, metrics=metrics, intermediate=folds,
                   continued_from=step[1] if previous is not None else None)
    if keeper is not None and state == "complete":
        if kept is not None and step[2] is not None:
            keeper.keep(step[0], step[2], kept)
        if previous is not None:
            keeper.drop(step[0], step[1])
    return outcome


def _continued(payload, params, previous, budget):
    """A trial that may continue from `previous` (kept at `budget`): the cell's own object, or one fitted
    estimator per fold."""
    if isinstance(previous, continuation.Folds) and not _same_folds(payload.cv):
        previous = None
    first = previous[0] if isinstance(previous, continuation.Folds) else previous
    value, kept = continuation.call(payload.objective, params, first, budget)
    if is_estimator(value):
        return _cross_validate_continued(value, payload, params, previous, budget)
    return _score(value, payload, None) + (kept,)


def _score(value, payload, prune_table):
    if is_estimator(value):
        return _cross_validate(value, payload, prune_table)
    metrics = {}
    if payload.objectives is not None:   # several objectives: the trial's value is the first one's
        metrics = {str(k): plain_metric(v) for k, v in payload.objectives.returned(value).items()}
        return "complete", as_score(metrics[payload.objectives.first]), metrics, []
    if isinstance(value, dict):
        if "score" not in value:
            raise ValueError(f"the objective returned a dict without 'score' (keys: {sorted(value)})")
        metrics = {str(k): plain_metric(v) for k, v in value.items() if k != "score"}
        value = value["score"]
    return "complete", as_score(value), metrics, []


def plain_metric(value):
    """A metric as a plain Python value: numbers stay numbers (nan and inf included), anything else its repr."""
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        value = value.item()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return repr(value)


def _data(estimator, payload):
    if payload.data is None:
        raise UsageProblem(
            f"the cell returned an unfitted {type(estimator).__name__} but no data to score it on; "
            "add --data X y (and --cv K, --scoring S), or end the cell with a score"
        )
    return payload.data


def _cross_validate(estimator, payload, prune_table):
    from sklearn.base import is_classifier
    from sklearn.model_selection import check_cv, cross_validate

    X, y = _data(estimator, payload)
    splits = check_cv(payload.cv, y, classifier=is_classifier(estimator)).split(X, y)
    folds, fit_times, measuring = [], [], payload.objectives is not None
    for fold, (train, test) in enumerate(splits):
        result = cross_validate(estimator, X, y, cv=[(train, test)], scoring=payload.scoring,
                                error_score="raise", return_estimator=measuring)
        folds.append(as_score(result["test_score"][0]))
        fit_times.append(float(result["fit_time"][0]))
        running = sum(folds) / len(folds)
        if _should_prune(running, fold, prune_table, payload.maximize):
            return "pruned", running, {}, folds
    if measuring:   # score, fit_s, predict_ms and size_kb, as several objectives may need
        measured = {"score": sum(folds) / len(folds), **built_in_measures(result["estimator"][0], X, fit_times)}
        return (*_score(measured, payload, None)[:3], folds)
    return "complete", sum(folds) / len(folds), {}, folds


def _cross_validate_continued(first, payload, params, previous, budget):
    """Cross-validation that keeps each fold's fitted estimator; with `previous` (the last rung's, one per fold),
    the cell runs once per fold with `previous` bound to that fold's estimator, and an estimator it returns as it
    is (not a new one) is fitted on from where it was, on the same fold."""
    from sklearn.base import clone, is_classifier
    from sklearn.metrics import check_scoring
    from sklearn.model_selection import check_cv
    from sklearn.utils import _safe_indexing

    X, y = _data(first, payload)
    splits = check_cv(payload.cv, y, classifier=is_classifier(first)).split(X, y)
    scorer = check_scoring(first, scoring=payload.scoring)
    fitted, folds = continuation.Folds(), []
    for fold, (train, test) in enumerate(splits):
        before = previous[fold] if previous is not None and fold < len(previous) else None
        estimator = first if fold == 0 or before is None else \
            continuation.call(payload.objective, params, before, budget)[0]
        model = estimator if before is not None and estimator is before else clone(estimator)
        model.fit(_safe_indexing(X, train), _safe_indexing(y, train))
        folds.append(as_score(scorer(model, _safe_indexing(X, test), _safe_indexing(y, test))))
        fitted.append(model)
    return "complete", sum(folds) / len(folds), {}, folds, fitted


def _same_folds(cv):
    """Whether every rung gets the same folds (a splitter that shuffles needs a random_state)."""
    return not (getattr(cv, "shuffle", False) and getattr(cv, "random_state", None) is None)


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
