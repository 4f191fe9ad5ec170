"""`refine()`: MLE-STAR's outer loop, measured. Ablate, refine the most impactful component, keep only
improvements, repeat; then ensemble the best solutions and check a holdout never seen by the search.

Every comparison of two solutions uses the same repeated folds (paired), and a
change is accepted only when the candidate's mean fold score is higher and the
one-sided Nadeau-Bengio corrected t-test gives p < ACCEPT_P.
"""
import numbers
import time

import numpy as np

from ..errors import ConfigError, expected
from .ensemble import ENSEMBLES, make_ensemble
from .leakage import leakage_warnings
from ..validate import positive_int
from .result import RefineResult, RoundRecord
from .spaces import default_space

ACCEPT_P = 0.10           # one-sided p-value a change needs to be kept
REFINE_REPEATS = 2        # repeats of the K folds used to compare solutions
GAP_LIMIT = 0.03          # relative CV-holdout gap that flags overfitting of the folds
ENSEMBLE_MEMBERS = 2      # the best distinct solutions combined (MLE-STAR's L = 2)


def refine(pipe, X, y, *, cv=5, scoring=None, rounds=4, trials=20, spaces=None, candidates=None, ensemble="vote",
           holdout=0.2, subsample=None, jobs=None, backend="loky", seed=0, progress=True, listeners=(),
           history_inputs=(), x_name=None):
    """Refine `pipe` (a scikit-learn Pipeline, or the best of `candidates`) on (X, y), one component at a time.

    Each round ablates the current pipeline (steps and changed hyperparameters), picks the most impactful
    component not yet refined, tunes only its step's hyperparameters (`trials` trials; the space comes from
    `spaces[step]` or the built-in defaults) and keeps the change only if it improves the paired CV score.
    `holdout` rows are set aside first and only scored at the end; `subsample` rows are used for the rounds,
    the final pipeline is refit on all development rows.
    """
    from sklearn.base import clone, is_classifier

    rounds = positive_int("rounds", rounds)
    trials = positive_int("trials", trials)
    if not isinstance(cv, numbers.Integral) or isinstance(cv, bool) or cv < 2:
        raise ConfigError(f"cv must be a number of folds, at least 2, {expected('e.g. 5', cv)}")
    if ensemble not in ENSEMBLES:
        raise ConfigError(f"unknown ensemble {ensemble!r}; use one of {', '.join(ENSEMBLES)}")
    if isinstance(holdout, bool) or not isinstance(holdout, numbers.Real) or not 0 <= holdout < 0.9:
        raise ConfigError(f"holdout must be a fraction in [0, 0.9), {expected('e.g. 0.2', holdout)}")
    if subsample is not None:
        subsample = positive_int("subsample", subsample)
    if spaces is not None and not isinstance(spaces, dict):
        raise ConfigError(f"spaces must be a dict of step name -> space, got {type(spaces).__name__}")
    starts = _starting_points(pipe, candidates)
    X, y = _arrays(X, y)
    classification = is_classifier(starts[0][1])
    clock = time.time()
    view = _Views(listeners, progress)

    X_dev, y_dev, X_hold, y_hold = _split_holdout(X, y, holdout, classification, seed)
    X_work, y_work = _subsample(X_dev, y_dev, subsample, classification, seed)
    warnings_ = leakage_warnings(X_work, y_work, classification, history_inputs, x_name)
    folds = _folds(X_work, y_work, cv, classification, seed)
    ratio = 1.0 / (cv - 1)
    scorer_name = scoring or ("accuracy" if classification else "r2")

    def fold_scores(estimator):
        from sklearn.model_selection import cross_validate

        return list(cross_validate(estimator, X_work, y_work, cv=folds, scoring=scoring,
                                   n_jobs=_jobs(jobs, backend), error_score="raise")["test_score"])

    view.emit("start", {"rounds": rounds, "rows": len(y_work), "holdout_rows": 0 if y_hold is None else len(y_hold)})
    scored = [(name, est, fold_scores(est)) for name, est in starts]
    name, current, current_scores = max(scored, key=lambda item: np.mean(item[2]))
    initial_score = float(np.mean(current_scores))
    solutions = [(name, current, current_scores)]
    history, refined = [], set()
    for number in range(1, rounds + 1):
        view.emit("round", {"round": number, "phase": "ablation", "history": [r.to_dict() for r in history]})
        record = _one_round(number, current, current_scores, X_work, y_work, cv, scoring, trials, spaces, refined,
                            jobs, backend, seed, fold_scores, ratio, view, history)
        if record is None:
            break
        history.append(record)
        if record.accepted:
            current, current_scores = record.candidate, record.candidate_scores
            solutions.append((f"round{number}", current, current_scores))
        view.emit("round_done", {"round": number, "history": [r.to_dict() for r in history]})

    best, best_scores, ensemble_info = current, current_scores, None
    if ensemble != "none":
        ensemble_info, best, best_scores = _ensemble(ensemble, solutions, current, current_scores, classification,
                                                     X_work, y_work, folds, scoring, fold_scores, ratio)
    final = clone(best).fit(X_dev, y_dev)
    holdout_info = None
    if X_hold is not None:
        from sklearn.metrics import check_scoring

        hold = float(check_scoring(final, scoring=scoring)(final, X_hold, y_hold))
        cv_score = float(np.mean(best_scores))
        gap = (cv_score - hold) / abs(cv_score) if cv_score else 0.0
        holdout_info = {"score": hold, "cv_score": cv_score, "gap": gap, "flagged": gap > GAP_LIMIT,
                        "rows": int(len(y_hold))}
    for record in history:
        record.__dict__.pop("candidate", None)
        record.__dict__.pop("candidate_scores", None)
    result = RefineResult(
        best_pipeline=final, best_score=float(np.mean(best_scores)), initial_score=initial_score, history=history,
        scoring=scorer_name, ensemble=ensemble_info, holdout=holdout_info,
        candidates=[(n, float(np.mean(s))) for n, _, s in scored] if candidates is not None else [],
        warnings=warnings_, notes=_notes(subsample, X_dev, X_work, history, rounds),
        metrics={"wall_s": time.time() - clock, "rounds": len(history), "rows_searched": int(len(y_work)),
                 "trials": sum(len(r.trials.trials) for r in history if r.trials is not None)})
    view.emit("end", {"history": [r.to_dict() for r in history], "best_score": result.best_score,
                      "holdout": holdout_info, "ensemble": ensemble_info, "warnings": warnings_})
    return result


def _one_round(number, current, current_scores, X, y, cv, scoring, trials, spaces, refined, jobs, backend, seed,
               fold_scores, ratio, view, history):
    """Ablate, choose, refine, judge. None when nothing is left to refine."""
    from sklearn.base import clone

    from .. import tune
    from ..ablation import ablate

    study = ablate(current, X, y, cv=cv, scoring=scoring, repeats=1, params=True, jobs=jobs, backend=backend,
                   seed=seed + number, progress=False)
    view.emit("ablation", {"round": number, "ranking": [r.to_dict() for r in study.ranking],
                           "history": [r.to_dict() for r in history]})
    choice = _choose(study, current, spaces, refined, X)
    if choice is None:
        return None
    row, step, space = choice
    refined.add(step)
    params, tuned = {}, None
    if space is None:     # removing the component helps: try without it
        action = "remove"
        params = {step: "passthrough"}
    else:
        action = "tune"
        view.emit("tune", {"round": number, "step": step, "trials": trials, "history": [r.to_dict() for r in history]})
        prefixed = {f"{step}__{k}": v for k, v in space.items()}
        prefixed.update(_final_step_space(current, step, spaces, X))
        tuned = tune(lambda p, base=current: clone(base).set_params(**p), prefixed, trials=trials, data=(X, y),
                     cv=cv, scoring=scoring, jobs=jobs, backend=backend, seed=seed + number, journal=False,
                     progress=False)
        params = tuned.best_params or {}
    candidate = clone(current).set_params(**params)
    candidate_scores = fold_scores(candidate) if params else list(current_scores)
    p_value = _one_sided_p(candidate_scores, current_scores, ratio)
    improved = float(np.mean(candidate_scores)) > float(np.mean(current_scores))
    record = RoundRecord(round=number, component=row.component, kind=row.kind, label=row.label, action=action,
                         step=step, score_before=float(np.mean(current_scores)),
                         score_after=float(np.mean(candidate_scores)), accepted=bool(improved and p_value is not None
                                                                                    and p_value < ACCEPT_P),
                         p_value=p_value, params=params if action == "tune" else {step: "passthrough"},
                         trials=tuned, ablation=study)
    record.candidate, record.candidate_scores = candidate, candidate_scores
    return record


def _choose(study, pipe, spaces, refined, X):
    """The most impactful component (by ablation rank) whose step is not refined yet and can be changed."""
    params = pipe.get_params()
    for row in study.ranking:
        if row.kind not in ("step", "param") or row.delta is None:
            continue
        step = row.component if row.kind == "step" else row.component.rsplit("__", 1)[0]
        if step in refined or step not in params:
            continue
        if row.kind == "step" and row.label == "harmful" and _removable(pipe, step):
            return row, step, None
        space = _space_for(step, params[step], spaces, X)
        if space:
            return row, step, space
    return None


def _final_step_space(pipe, step, spaces, X):
    """A transformer's best setting depends on the model after it: tune the final estimator alongside it."""
    from sklearn.pipeline import Pipeline

    if not isinstance(pipe, Pipeline) or step == pipe.steps[-1][0]:
        return {}
    name, estimator = pipe.steps[-1]
    space = _space_for(name, estimator, spaces, X) or {}
    return {f"{name}__{k}": v for k, v in space.items()}


def _removable(pipe, step):
    from sklearn.pipeline import Pipeline

    return not (isinstance(pipe, Pipeline) and step == pipe.steps[-1][0])


def _space_for(step, estimator, spaces, X):
    short = step.rsplit("__", 1)[-1]
    if spaces:
        for key in (step, short):
            if key in spaces:
                return spaces[key]
    return default_space(estimator, n_features=np.asarray(X).shape[1] if np.asarray(X).ndim == 2 else None)


def _one_sided_p(candidate, current, ratio):
    from ..ablation.stats import corrected_t_test

    diffs = [c - b for c, b in zip(candidate, current)]
    mean, se, p_two = corrected_t_test(diffs, ratio)
    if p_two is None:
        return None
    return p_two / 2 if mean > 0 else 1 - p_two / 2


def _ensemble(kind, solutions, current, current_scores, classification, X, y, folds, scoring, fold_scores, ratio):
    distinct, seen = [], set()
    for name, est, scores in sorted(solutions, key=lambda s: -np.mean(s[2])):
        key = repr(est.get_params())
        if key not in seen:
            seen.add(key)
            distinct.append((name, est, scores))
    members = [(n, e) for n, e, _ in distinct[:ENSEMBLE_MEMBERS]]
    if len(members) < 2:
        return {"kind": kind, "members": len(members), "score": None, "kept": False,
                "reason": "fewer than two distinct solutions"}, current, current_scores
    model = make_ensemble(kind, members, classification, X, y, folds, scoring)
    scores = fold_scores(model)
    p_value = _one_sided_p(scores, current_scores, ratio)
    kept = float(np.mean(scores)) > float(np.mean(current_scores)) and p_value is not None and p_value < ACCEPT_P
    info = {"kind": kind, "members": len(members), "score": float(np.mean(scores)), "kept": bool(kept),
            "p_value": p_value, "weights": getattr(model, "weights", None)}
    return (info, model, scores) if kept else (info, current, current_scores)


# -- inputs ---------------------------------------------------------------------------------------------------
def _starting_points(pipe, candidates):
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


def _arrays(X, y):
    try:
        y = np.asarray(y)
        n = len(X)
    except TypeError:
        raise ConfigError("X and y must be array-like (arrays, DataFrames)") from None
    if n != len(y):
        raise ConfigError(f"X has {n} rows but y has {len(y)}; give X and y of the same length")
    return X, y


def _rows(X, index):
    return X.iloc[index] if hasattr(X, "iloc") else np.asarray(X)[index]


def _split_holdout(X, y, holdout, classification, seed):
    if not holdout:
        return X, y, None, None
    from sklearn.model_selection import train_test_split

    index = np.arange(len(y))
    dev, hold = train_test_split(index, test_size=holdout, random_state=seed,
                                 stratify=y if classification else None)
    return _rows(X, dev), y[dev], _rows(X, hold), y[hold]


def _subsample(X, y, n, classification, seed):
    if n is None or n >= len(y):
        return X, y
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(np.arange(len(y)), train_size=n, random_state=seed,
                               stratify=y if classification else None)
    return _rows(X, keep), y[keep]


def _folds(X, y, cv, classification, seed):
    from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold

    splitter = (RepeatedStratifiedKFold if classification else RepeatedKFold)(
        n_splits=cv, n_repeats=REFINE_REPEATS, random_state=seed)
    return list(splitter.split(X, y))


def _jobs(jobs, backend):
    if backend == "sequential":
        return 1
    return -1 if jobs is None else jobs


def _notes(subsample, X_dev, X_work, history, rounds):
    notes = []
    if subsample is not None and len(X_work) < len(X_dev):
        notes.append(f"rounds ran on {len(X_work)} of {len(X_dev)} rows; the final pipeline was refit on all of them")
    if len(history) < rounds:
        notes.append(f"stopped after {len(history)} round(s): no component left that ablation ranks and that has a "
                     "search space (add one with --spaces)")
    return notes


class _Views:
    def __init__(self, listeners, progress):
        self.listeners = list(listeners)
        if progress:
            from .views import make_refine_view
            self.listeners.append(make_refine_view(progress))

    def emit(self, event, snapshot):
        for listener in self.listeners:
            listener(event, snapshot)
