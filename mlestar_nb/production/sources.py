"""Which model a result stands for, and what is known about how it was made.

Each kind of result hands `save()` a `ModelSource`: the fitted estimator, the
data it was fitted on (for the schema, the fingerprint, the input example and
the timings), its score with the per-fold scores, the scorer and the splitter,
and a summary of the run that found it. A search refits its chosen trial (the
best, or ``trial=``) from the objective and data it kept (`TuneResult.payload`);
a refinement gives its `best_pipeline`; any result takes ``model=``.
"""
import hashlib
import numbers
from dataclasses import dataclass, field

from ..errors import ConfigError


@dataclass
class ModelSource:
    estimator: object                  # fitted
    X: object = None
    y: object = None
    origin: str = ""                   # what the model is, in words: "search 'x', trial 12"
    params: dict = None
    score: float = None
    cv_scores: list = None
    scoring: str = None
    splitter: str = None
    search: dict = field(default_factory=dict)   # the run that found it: kind, strategy, seed, trials, journal


def model_source(result, *, model=None, data=None, trial=None):
    """The `ModelSource` for `result` (a TuneResult, RefineResult, or any result when `model` is given)."""
    X, y = _data_pair(data)
    kind = getattr(result, "kind", None)
    if kind in ("search", "multiobjective"):   # several objectives: the trial the selection rule picks
        return _from_search(result, model, X, y, trial)
    if trial is not None:
        raise ConfigError(f"trial= picks a trial of a search; a {type(result).__name__} has none")
    if kind == "refinement":
        return _from_refinement(result, model, X, y)
    if model is None:
        raise ConfigError(f"a {type(result).__name__} holds no model to save; pass the fitted model: "
                          "result.save(path, model=fitted, data=(X, y))")
    if X is None and getattr(result, "data", None) is not None:
        X, y = result.data
    return ModelSource(estimator=_fitted(model), X=X, y=y, origin=f"the model passed to save() ({kind or 'run'})",
                       search={"kind": kind})


def _data_pair(data):
    if data is None:
        return None, None
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ConfigError(f"data must be a pair (X, y), got {type(data).__name__}")
    return data[0], data[1]


# -- a search --------------------------------------------------------------------------------------
def _from_search(result, model, X, y, trial):
    chosen = _chosen_trial(result, trial)
    payload = result.payload
    if X is None and payload is not None and payload.data is not None:
        X, y = payload.data
    if model is None:
        estimator = _refit(result, chosen, X, y)
        origin = f"search '{result.name}', trial {chosen.number}, refit on all {len(y)} rows"
    else:
        estimator = _fitted(model)
        origin = f"the model passed to save() (search '{result.name}', trial {chosen.number})"
    scoring = splitter = None
    if payload is not None and payload.data is not None:
        scoring = _scoring_name(payload.scoring, estimator)
        splitter = _splitter_name(payload.cv, estimator, y)
    return ModelSource(
        estimator=estimator, X=X, y=y, origin=origin, params=dict(chosen.params), score=chosen.value,
        cv_scores=list(chosen.intermediate) or None, scoring=scoring, splitter=splitter,
        search=_search_summary(result, chosen))


def _chosen_trial(result, trial):
    if trial is None:
        if result.best_trial is None:
            raise ConfigError(f"search '{result.name}' has no completed trial, so there is no best model to save")
        return result.best_trial
    number = getattr(trial, "number", trial)
    if isinstance(number, bool) or not isinstance(number, numbers.Integral):
        raise ConfigError(f"trial must be a trial number (or a Trial), got {trial!r}")
    for candidate in result.trials:
        if candidate.number == number:
            if candidate.state != "complete":
                raise ConfigError(f"trial {number} is {candidate.state}; save a completed trial (see "
                                  "result.top_trials())")
            return candidate
    raise ConfigError(f"search '{result.name}' has no trial {number}; its trials are numbered "
                      f"{min(t.number for t in result.trials)} to {max(t.number for t in result.trials)}"
                      if result.trials else f"search '{result.name}' has no trials")


def _refit(result, chosen, X, y):
    """Run the objective once more with the trial's parameters (seeded as the trial was) and fit what it returns."""
    from ..runs.envelope import is_estimator, seed_for, seeded

    payload = result.payload
    if payload is None:
        raise ConfigError(f"search '{result.name}' keeps no objective (it was loaded, not run here); pass the "
                          "fitted model: result.save(path, model=fitted, data=(X, y))")
    seed = seed_for(payload.seed, chosen.number) if payload.seed is not None and payload.seed_globals else None
    with seeded(seed):
        value = payload.objective(dict(chosen.params))
    if not is_estimator(value):
        raise ConfigError("the search's cell ends with a score, not an estimator, so there is no model to refit; "
                          "pass the fitted model: result.save(path, model=fitted, data=(X, y))")
    if X is None:
        raise ConfigError("the search has no data to refit the estimator on; run it with --data X y, or pass "
                          "data=(X, y) to save()")
    with seeded(seed):
        return value.fit(X, y)


def _search_summary(result, chosen):
    journal_hash = None
    if result.journal_path:
        try:
            journal_hash = sha256_file(result.journal_path)
        except OSError:
            journal_hash = None
    m = result.metrics
    return {"kind": "search", "name": result.name, "strategy": result.strategy, "direction": result.direction,
            "seed": m.get("seed"), "trials": len(result.trials), "completed": len(result.completed_trials),
            "budget": m.get("budget"), "trial": chosen.number, "journal": result.journal_path,
            "journal_sha256": journal_hash, "status": result.status, **_objectives_summary(result, chosen)}


def _objectives_summary(result, chosen):
    """For a search with objectives: what they are, the rule in force, and the saved trial's value of each."""
    spec = getattr(result, "objectives", None)
    if spec is None:
        return {}
    from ..search.selection import describe_rule

    return {"objectives": spec.to_json(), "selection": describe_rule(result.selection),
            "objective_values": spec.values(chosen)}


# -- a refinement ----------------------------------------------------------------------------------
def _from_refinement(result, model, X, y):
    if X is None and result.data is not None:
        X, y = result.data
    estimator = _fitted(model if model is not None else result.best_pipeline)
    m = result.metrics
    return ModelSource(
        estimator=estimator, X=X, y=y, score=result.best_score, cv_scores=list(result.best_fold_scores) or None,
        scoring=result.scoring, splitter=m.get("splitter"),
        origin="the model passed to save() (refinement)" if model is not None else
        f"refinement's best pipeline, refit on all {len(y) if y is not None else '?'} development rows",
        search={"kind": "refinement", "rounds": len(result.history), "accepted": len(result.accepted_rounds),
                "trials": m.get("trials"), "seed": m.get("seed"), "status": result.status,
                "holdout": result.holdout})


# -- shared pieces ---------------------------------------------------------------------------------
def _fitted(model):
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    if not (hasattr(model, "predict") or hasattr(model, "transform")):
        raise ConfigError(f"model must be a fitted scikit-learn estimator, got {type(model).__name__}")
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise ConfigError(f"the {type(model).__name__} is not fitted; fit it first (model.fit(X, y))") from None
    except TypeError:   # not a scikit-learn estimator at all: let skops decide what it can write
        pass
    return model


def _scoring_name(scoring, estimator):
    from sklearn.base import is_classifier

    if scoring is None:
        return "accuracy" if is_classifier(estimator) else "r2"
    return scoring if isinstance(scoring, str) else getattr(scoring, "__name__", repr(scoring))


def _splitter_name(cv, estimator, y):
    from sklearn.base import is_classifier
    from sklearn.model_selection import check_cv

    if isinstance(cv, (list, tuple)):
        return f"{len(cv)} given train/test splits"
    try:
        return repr(check_cv(cv, y, classifier=is_classifier(estimator)))
    except Exception:  # an exotic splitter that check_cv rejects outside its search
        return repr(cv)


def sha256_file(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()
