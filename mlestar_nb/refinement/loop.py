"""`refine()`: MLE-STAR's outer loop, measured. Ablate, refine the most impactful component, keep only
improvements, repeat; then ensemble the best solutions and check a holdout never seen by the search.

The folds are drawn once: 1 + CHECK_REPEATS shuffles of `cv` folds. Each round's
search scores its trials on the first shuffle; solutions are judged, paired, on
all of them, and a change is kept when its mean there is higher (MLE-STAR's
"keep it if the validation score improves"); the one-sided Nadeau-Bengio
corrected t-test's p-value is reported with it. A significance gate (p < 0.10)
rejected real gains on a few hundred rows and threw their round's trials away;
judging on the unused shuffles alone measured the same as all three within
noise (docs/refine.md), and all three give each decision more scores. The
first shuffle's optimism applies to the candidate and, a winner of an earlier
round, mostly to the current solution too; the holdout checks the end.
"""
import numbers
import platform
import time

import numpy as np

from ..errors import ConfigError, expected
from ..runs import control as run_control
from ..runs.background import may_run_in_background
from ..live.views import announce_finished
from ..runs.dispatch import Events
from ..runs.interrupts import InterruptGuard, returns_on_interrupt
from ..validate import positive_int, valid_scoring, workers
from .choice import choose, final_step_space, joint_space
from .ensemble import ENSEMBLES, make_ensemble
from .inputs import arrays, check_spaces, folds, split_holdout, starting_points, subsample_rows
from .leakage import leakage_warnings
from .memory import TrialMemory, changed, current_values
from .result import RefineResult, RoundRecord
from .views import RefineModel

CHECK_REPEATS = 2         # shuffles of the K folds that no search uses, added to the judging folds
GAP_LIMIT = 0.03          # relative CV-holdout gap that flags overfitting of the folds
ENSEMBLE_MEMBERS = 2      # the best distinct solutions combined (MLE-STAR's L = 2)


@may_run_in_background("refine", lambda: RefineModel())
@returns_on_interrupt
def refine(pipe, X, y, *, cv=5, scoring=None, rounds=4, trials=20, spaces=None, candidates=None, ensemble="vote",
           holdout=0.2, subsample=None, jobs=None, backend="loky", client=None, scheduler=None, seed=0,
           progress=True, listeners=(), history_inputs=(), x_name=None):
    """Refine `pipe` (a scikit-learn Pipeline, or the best of `candidates`) on (X, y), one component at a time.

    Each round ablates the current pipeline (steps and changed hyperparameters), picks the most impactful
    component not yet refined, tunes only its step's hyperparameters (`trials` trials, plus those a round that
    removed a step did not spend; the space comes from `spaces[step]` or the built-in defaults; the search
    starts at the current settings) and keeps the change only if it scores higher on folds the search did not
    use. `holdout` rows are set aside first and only scored at the end; `subsample` rows are used for the
    rounds, the final pipeline is refit on all development rows. Every fit runs on `backend` ("dask": `client`,
    `scheduler`, the active Client, or one LocalCluster for the whole run). Ctrl-C stops the rounds and returns
    what is finished, the interrupted round's trials included.
    """
    from sklearn.base import is_classifier

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
    workers(jobs, backend)
    scoring = valid_scoring(scoring)
    starts = starting_points(pipe, candidates)
    spaces = check_spaces(spaces, starts)
    X, y = arrays(X, y)
    classification = is_classifier(starts[0][1])
    views = list(listeners)
    if progress:
        from .views import make_refine_view
        views.insert(0, make_refine_view(progress))   # drawn first: before anyone else hears of the start
    with InterruptGuard() as guard, _cluster(backend, jobs, client, scheduler) as client:
        run = _Refinement(X, y, cv=cv, scoring=scoring, spaces=spaces, holdout=holdout, subsample=subsample,
                          jobs=jobs, backend=backend, client=client, seed=seed, classification=classification,
                          listeners=views, guard=guard)
        result = run.run(starts, rounds, trials, ensemble, history_inputs, x_name, candidates is not None)
    announce_finished(views, result)
    return result


class _Refinement:
    """One run of the loop: the data split once, the folds drawn once, every fit on one backend."""

    def __init__(self, X, y, *, cv, scoring, spaces, holdout, subsample, jobs, backend, client, seed,
                 classification, listeners, guard):
        self.cv, self.scoring, self.spaces, self.seed = cv, scoring, spaces, seed
        self.jobs, self.backend, self.client = jobs, backend, client
        self.classification, self.guard = classification, guard
        self.control = run_control.active() or run_control.RunControl()
        self.events = Events(listeners, self.snapshot)
        self.state = {"status": "running", "error": None, "round": None, "phase": None, "step": None,
                      "trials": None, "ranking": [], "initial_score": None, "best_score": None}
        self._clock = time.perf_counter()
        self.X_dev, self.y_dev, self.X_hold, self.y_hold = split_holdout(X, y, holdout, classification, seed)
        self.X, self.y = subsample_rows(self.X_dev, self.y_dev, subsample, classification, seed)
        self.subsample = subsample
        self.judge_folds = folds(self.X, self.y, cv, classification, seed, repeats=1 + CHECK_REPEATS)
        self.search_folds = self.judge_folds[:cv]
        self.ratio = 1.0 / (cv - 1)
        self.history, self.refined = [], set()
        self.memory = TrialMemory()   # every trial of every round, for the searches that follow
        self.interrupted = None       # where Ctrl-C stopped the run

    def _options(self):
        return {"jobs": self.jobs, "backend": self.backend, **({"client": self.client} if self.client else {})}

    def scores(self, *estimators):
        """Fold scores of each estimator on the judging folds (paired); None for one whose fit failed."""
        from ..ablation.paired import score_on_folds

        return score_on_folds(list(estimators), self.X, self.y, self.judge_folds, scoring=self.scoring,
                              seed=self.seed, **self._options())

    def snapshot(self):
        """The plain-dict state views draw (docs/design.md, "Live views")."""
        return {"kind": "refine", **self.state, "status": self.control.describe(self.state["status"]),
                "history": self._table(), "elapsed_s": time.perf_counter() - self._clock}

    def emit(self, event, **changes):
        self.state.update(changes)
        self.events.publish(event)

    def run(self, starts, rounds, trials, ensemble, history_inputs, x_name, from_candidates):
        try:
            result = self._run(starts, rounds, trials, ensemble, history_inputs, x_name, from_candidates)
        except BaseException as err:
            self.emit("end", status="error", error=str(err) or type(err).__name__)
            raise
        self.emit("end", status=result.status, best_score=result.best_score, holdout=result.holdout,
                  ensemble=result.ensemble, warnings=result.warnings)
        return result

    def _run(self, starts, rounds, trials, ensemble, history_inputs, x_name, from_candidates):
        from sklearn.base import clone

        clock = time.time()
        warnings_ = leakage_warnings(self.X, self.y, self.classification, history_inputs, x_name)
        self.emit("start", rounds=rounds, rows=len(self.y), holdout_rows=0 if self.y_hold is None else len(self.y_hold))
        try:
            scored = self._score_starts(starts)
        except KeyboardInterrupt:
            return self._interrupted_at_start(starts, rounds, warnings_, clock)
        name, current, current_scores = max(scored, key=lambda item: np.mean(item[2]))
        initial_score = float(np.mean(current_scores))
        self.emit("scored", initial_score=initial_score, best_score=initial_score)
        solutions = [(name, current, current_scores)]
        try:
            for number in range(1, rounds + 1):
                self._check_stop()
                polish = number == rounds and number > 1
                self.emit("round", round=number, phase="polish" if polish else "ablation", step=None)
                unspent = number * trials - self._trials_spent()
                if polish:
                    record = self._polish(number, current, current_scores, unspent)
                else:
                    record = self._round(number, current, current_scores, unspent)
                if record is None:
                    break
                self.history.append(record)
                if record.accepted:
                    current, current_scores = record.candidate, record.candidate_scores
                    solutions.append((f"round{number}", current, current_scores))
                self.emit("round_done", best_score=float(np.mean(current_scores)))
            self._check_stop()
        except KeyboardInterrupt:
            self.interrupted = self.interrupted or f"round {len(self.history) + 1}"

        best, best_scores, ensemble_info = current, current_scores, None
        if ensemble != "none" and not self.interrupted:
            try:
                self.emit("ensemble", phase="ensemble", step=None)
                ensemble_info, best, best_scores = self._ensemble(ensemble, solutions, current, current_scores)
            except KeyboardInterrupt:
                self.interrupted = "the ensemble"
        self.emit("refit", phase="refit on all development rows", step=None)
        final = clone(best).fit(self.X_dev, self.y_dev)
        holdout_info = self._holdout(final, best_scores)
        if self.guard.requested and not self.interrupted:
            self.interrupted = "the final refit (every round had finished)"
        for record in self.history:
            record.__dict__.pop("candidate", None)
            record.__dict__.pop("candidate_scores", None)
        return RefineResult(
            best_pipeline=final, best_score=float(np.mean(best_scores)), initial_score=initial_score,
            history=self.history, scoring=self._scoring_name(),
            ensemble=ensemble_info, holdout=holdout_info,
            candidates=[(n, float(np.mean(s))) for n, _, s in scored] if from_candidates else [],
            warnings=warnings_, notes=self._notes(rounds), status=self._status(),
            metrics={"wall_s": time.time() - clock, "rounds": len(self.history), "rows_searched": int(len(self.y)),
                     "trials": self._trials_spent(), "started_at": clock, "host": platform.node(), "seed": self.seed,
                     "splitter": self._splitter_name()},
            best_fold_scores=[float(s) for s in best_scores], data=(self.X_dev, self.y_dev))

    def _splitter_name(self):
        """The judging folds, as the splitter that drew them (inputs.folds)."""
        kind = "RepeatedStratifiedKFold" if self.classification else "RepeatedKFold"
        return f"{kind}(n_splits={self.cv}, n_repeats={1 + CHECK_REPEATS}, random_state={self.seed})"

    def _check_stop(self):
        """Between rounds: Ctrl-C, or a stop asked of a background run, ends the rounds here."""
        self.guard.check()
        self.control.check()
        if self.control.stopping:
            raise KeyboardInterrupt

    def _status(self):
        if not self.interrupted:
            return "completed"
        return "stopped" if self.control.stopping else "interrupted"

    def _scoring_name(self):
        return self.scoring or ("accuracy" if self.classification else "r2")

    def _interrupted_at_start(self, starts, rounds, warnings_, clock):
        """Ctrl-C before the starting pipeline was scored: nothing was learned, and nothing is fitted."""
        self.interrupted = "scoring the starting pipeline"
        return RefineResult(
            best_pipeline=starts[0][1], best_score=None, initial_score=None, history=[],
            scoring=self._scoring_name(), warnings=warnings_,
            notes=self._notes(rounds) + ["best_pipeline is the starting pipeline, not fitted"],
            status=self._status(), metrics={"wall_s": time.time() - clock, "rounds": 0,
                                           "rows_searched": int(len(self.y)), "trials": 0})

    def _score_starts(self, starts):
        paired = self.scores(*(est for _, est in starts))
        scored = [(name, est, s) for (name, est), s in zip(starts, paired.scores) if s is not None]
        if not scored:
            raise ConfigError(f"the starting pipeline fails to fit: {paired.errors[0]}; fix it (or the data) first")
        return scored

    def _trials_spent(self):
        return sum(len(r.trials.trials) for r in self.history if r.trials is not None)

    def _table(self):
        return [r.to_dict() for r in self.history]

    def _round(self, number, current, current_scores, trials):
        """Ablate, choose, refine, judge. None when nothing can be refined."""
        from ..ablation import ablate

        study = ablate(current, self.X, self.y, cv=self.cv, scoring=self.scoring, repeats=1, params=True,
                       seed=self.seed + number, progress=False, **self._options())
        if study.status == "interrupted":
            raise KeyboardInterrupt
        self.emit("ablation", ranking=[r.to_dict() for r in study.ranking])
        choice = choose(study, current, self.spaces, self.refined, self.X)
        if choice is None and self.refined:
            self.refined.clear()      # every component had its round: a new pass, most impactful first again
            choice = choose(study, current, self.spaces, self.refined, self.X)
        if choice is None:
            return None
        row, step, space = choice
        self.refined.add(step)
        tuned = None
        if space is None:     # removing the component helps: try without it
            action, params = "remove", {step: "passthrough"}
        else:
            action = "tune"
            space = {f"{step}__{k}": v for k, v in space.items()}
            space.update(final_step_space(current, step, self.spaces, self.X))
            tuned = self._tune(number, current, step, space, trials)
            params = changed(current, tuned.best_params or {})
            if not self._beats_current(tuned, current):
                params = {}
        record = RoundRecord(round=number, component=row.component, kind=row.kind, label=row.label, action=action,
                             step=step, score_before=float(np.mean(current_scores)), score_after=None,
                             accepted=False, p_value=None, params=params, trials=tuned, ablation=study)
        return self._finish(record, current, current_scores)

    def _polish(self, number, current, current_scores, trials):
        """The last round: every step with a space, tuned jointly from every earlier trial.

        One component at a time cannot move two interacting settings together (SelectKBest's k and the
        Nystroem gamma that suits that many features); every earlier trial is a point of the joint space,
        scored on the same folds, so this search starts where the rounds left off, not from scratch.
        """
        space = joint_space(current, self.spaces, self.X)
        if not space:
            return self._round(number, current, current_scores, trials)
        steps = sorted({name.rsplit("__", 1)[0] for name in space}, key=[n for n, _ in current.steps].index)
        tuned = self._tune(number, current, ", ".join(steps), space, trials)
        params = changed(current, tuned.best_params or {})
        if not self._beats_current(tuned, current):
            params = {}
        record = RoundRecord(round=number, component="all steps with a space", kind="polish", label="-",
                             action="polish", step=", ".join(steps), score_before=float(np.mean(current_scores)),
                             score_after=None, accepted=False, p_value=None, params=params, trials=tuned)
        return self._finish(record, current, current_scores)

    def _finish(self, record, current, current_scores):
        """Judge the round's candidate; an interrupt keeps the record (and its trials) unjudged."""
        tuned, number = record.trials, record.round
        try:
            if tuned is not None and tuned.status in ("interrupted", "stopped") and (
                    tuned.status == "interrupted" or self.control.stopping):
                raise KeyboardInterrupt
            self._judge(record, current, current_scores)
        except KeyboardInterrupt:
            self.history.append(record)  # its trials are kept; the candidate is not judged
            self.interrupted = f"round {number}" + (f" (its search had finished {len(tuned.trials)} trial(s))"
                                                    if tuned is not None else "")
            raise
        return record

    def _tune(self, number, current, label, space, trials):
        """Search `space` (the pipeline's own parameter names) from what earlier trials and settings know."""
        from sklearn.base import clone

        from ..search.tuner import tune

        self.emit("tune", phase="polish" if self.state["phase"] == "polish" else "tuning", step=label, trials=trials)
        known = self.memory.known(current, space)
        start = current_values(current, space)
        result = tune(lambda p, base=current: clone(base).set_params(**p), space, trials=trials,
                      data=(self.X, self.y), cv=self.search_folds, scoring=self.scoring, seed=self.seed + number,
                      start=None if start in [point for point, _ in known] else start, known=known,
                      initial=_initial_design(trials, len(space)), journal=False, progress=False,
                      **self._options())
        for trial in result.trials:
            if trial.state == "complete":
                self.memory.add(clone(current).set_params(**trial.params), trial.value)
        return result

    def _beats_current(self, tuned, current):
        """Whether the round's best trial beat the current settings on the search folds (when they were scored)."""
        before = self.memory.score_of(current)
        return tuned.best_score is not None and (before is None or tuned.best_score > before)

    def _judge(self, record, current, current_scores):
        """Score the candidate on the judging folds; kept when its mean there is higher."""
        from sklearn.base import clone

        if not record.params:       # the search's best was where it started
            candidate_scores = list(current_scores)
        else:
            record.candidate = clone(current).set_params(**record.params)
            paired = self.scores(record.candidate)
            candidate_scores = paired.scores[0]
            record.error = paired.errors[0]
        if candidate_scores is None:
            record.score_after = float("nan")
            return
        record.candidate_scores = candidate_scores
        record.score_after = float(np.mean(candidate_scores))
        record.p_value = _one_sided_p(candidate_scores, current_scores, self.ratio)
        record.accepted = bool(record.params) and _better(candidate_scores, current_scores)

    def _ensemble(self, kind, solutions, current, current_scores):
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
        model = make_ensemble(kind, members, self.classification, self.X, self.y, self.search_folds, self.scoring)
        paired = self.scores(model)
        scores = paired.scores[0]
        if scores is None:
            return {"kind": kind, "members": len(members), "score": None, "kept": False,
                    "reason": f"the ensemble failed to fit: {paired.errors[0]}"}, current, current_scores
        kept = _better(scores, current_scores)
        info = {"kind": kind, "members": len(members), "score": float(np.mean(scores)), "kept": bool(kept),
                "p_value": _one_sided_p(scores, current_scores, self.ratio), "weights": getattr(model, "weights", None)}
        return (info, model, scores) if kept else (info, current, current_scores)

    def _holdout(self, final, best_scores):
        if self.X_hold is None:
            return None
        from sklearn.metrics import check_scoring

        hold = float(check_scoring(final, scoring=self.scoring)(final, self.X_hold, self.y_hold))
        cv_score = float(np.mean(best_scores))
        gap = (cv_score - hold) / abs(cv_score) if cv_score else 0.0
        return {"score": hold, "cv_score": cv_score, "gap": gap, "flagged": gap > GAP_LIMIT,
                "rows": int(len(self.y_hold))}

    def _notes(self, rounds):
        notes, history = [], self.history
        if self.interrupted:
            notes.append(f"{self._status()} in {self.interrupted}: the rounds before it are kept and the best solution "
                         "so far was refit" + ("; no ensemble was tried" if "ensemble" not in self.interrupted
                                               else ""))
        if self.subsample is not None and len(self.X) < len(self.X_dev):
            notes.append(f"rounds ran on {len(self.X)} of {len(self.X_dev)} rows; the final pipeline was refit on "
                         "all of them")
        if len(history) < rounds and not self.interrupted:
            notes.append(f"stopped after {len(history)} round(s): no component that ablation ranks has a search "
                         "space (add one with --spaces)")
        steps = [r.step for r in history]
        if len(set(steps)) < len(steps):
            again = next(i for i, step in enumerate(steps) if step in steps[:i])
            notes.append(f"every component with a search space had its round by round {again}; later rounds "
                         "refined them again, most impactful first, each starting from the current settings")
        failed = [f"round {r.round}: {r.error}" for r in history if getattr(r, "error", None)]
        if failed:
            notes.append("candidates that failed to fit were not kept (" + "; ".join(failed) + ")")
        return notes


class _cluster:
    """With backend="dask": the Client every part of the run uses, started once (a LocalCluster) if none."""

    def __init__(self, backend, jobs, client, scheduler):
        self.backend, self.jobs, self.client, self.scheduler = backend, jobs, client, scheduler
        self.executor = None

    def __enter__(self):
        if self.backend != "dask":
            if self.client is not None or self.scheduler is not None:
                raise ConfigError(f"a Dask client or scheduler is for backend='dask' only, not {self.backend!r}; "
                                  "add --backend dask")
            return None
        from ..executors import make_executor

        self.executor = make_executor("dask", workers(self.jobs, "dask"), client=self.client,
                                      scheduler=self.scheduler)
        self.executor.start()
        return self.executor.client

    def __exit__(self, *exc):
        if self.executor is not None:
            self.executor.shutdown()
        return False


def _initial_design(trials, n_dims):
    """Random points before the surrogate takes over. A round's search is short and starts from known points,
    so it needs less exploring than tune()'s default 2d + 2: a third of the round, at least 2."""
    return max(2, min(2 * n_dims + 2, trials // 3))


def _better(candidate, current):
    return float(np.mean(candidate)) > float(np.mean(current)) + 1e-12


def _one_sided_p(candidate, current, ratio):
    from ..ablation.stats import corrected_t_test

    diffs = [c - b for c, b in zip(candidate, current)]
    mean, se, p_two = corrected_t_test(diffs, ratio)
    if p_two is None:
        return None
    return p_two / 2 if mean > 0 else 1 - p_two / 2
