"""`tune()`: the public entry point, usable with or without IPython.

It validates every option (saying what it expected and what it got), builds the
strategy, executor and journal, runs the engine and returns a `TuneResult`.
"""
import hashlib
import json
import math
import numbers
import os
import platform
import time

from ..runs.background import may_run_in_background
from ..runs.interrupts import returns_on_interrupt
from .engine import Search, StopRules
from ..errors import ConfigError, expected
from ..executors import make_executor
from ..executors.shipping import check_shippable
from ..live.views import announce_finished
from .continuation import Keeper, takes_previous
from .fidelity import AsyncHalving, RungStrategy, parse_fidelity
from .journal import Journal, fingerprint, journal_path, known_journals, objective_change
from ..runs.limits import parse_memory
from ..validate import positive_int, positive_seconds, valid_scoring, workers
from .front import FrontTracker
from .objectives import check_resumed, objective_options, trial_loss
from .result import Trial, TuneResult, metric_from_record
from .space import check_point, parse_space, point_from_json, space_to_json
from .strategies import STRATEGIES, SURROGATES, make_strategy
from .trial import SearchPayload
from .views import SearchModel

DEFAULT_JOURNAL_DIR = ".mlestar"


@may_run_in_background("search", lambda: SearchModel(), extendable=True)
@returns_on_interrupt
def tune(objective, space, *, trials=30, minimize=False, strategy="auto", surrogate="GP", initial=None,
         start=None, known=None, jobs=None, backend="loky", timeout=None, patience=None, target=None, seed=None,
         name=None, resume=False, force=False, data=None, cv=5, scoring=None, trial_timeout=None, trial_memory=None,
         journal=True, journal_dir=DEFAULT_JOURNAL_DIR, progress=True, show_output=False, listeners=(),
         alert_thresholds=None, client=None, scheduler=None, objectives=None, constraints=(), select=None,
         reference=None, fidelity=None, eta=None, budget_total=None):
    """Search `space` for the parameters that give `objective(params)` its best score.

    `objective` takes a dict of parameters and returns a number, a dict with
    "score" (other keys are kept as trial metrics), or an unfitted scikit-learn
    estimator, which is cross-validated on ``data=(X, y)`` with `cv` folds and
    `scoring`. Scores are maximized unless ``minimize=True``. Every finished
    trial is appended to ``journal_dir/name.jsonl``; ``resume=True`` continues
    that journal up to `trials` in all, and refuses a journal begun by another
    cell, or on data of other shapes, unless ``force=True``.
    `trial_timeout` (seconds) and `trial_memory` (bytes, or a size such as
    "500MB") stop a single trial that runs too long or grows its worker too
    much; they need worker processes. What a trial prints is kept on it
    (`trial.output`, its last lines); ``show_output=True`` also shows it under
    the progress as each trial ends.
    `progress` is "auto" (True: a live widget panel in a notebook, a text line
    elsewhere), "widget", "text" or False; `alert_thresholds` overrides
    attributes of `alerts.AlertRules`.

    ``backend="dask"`` runs trials on a Dask cluster: `client` (a
    `distributed.Client`), or `scheduler` (an address such as
    "tcp://10.0.0.5:8786"), or else the active default Client, or else a
    LocalCluster started for this run; `jobs` then caps the trials in flight.

    ``fidelity={"epochs": (3, 81)}`` runs each configuration at growing
    budgets, bound to that name in `params`, with asynchronous successive
    halving: a configuration goes on to `eta` times the budget when it ranks in
    the top 1/`eta` of its rung; only trials at the full budget can be the
    best; `budget_total` caps the budget spent. An objective that takes
    `previous` continues from what its configuration's last rung kept
    (docs/architecture_search.md).

    ``background=True`` returns a `RunHandle` as soon as the search has
    started and runs it on its own thread: the notebook stays free, and the
    handle (or the panel's buttons) stops, pauses or extends it;
    ``handle.result()`` returns this TuneResult when it ends.

    Several objectives: ``objectives={"score": "max", "predict_ms": "min"}``
    (or "score:max,predict_ms:min"); the objective returns a dict holding each,
    or an estimator, whose fit_s, predict_ms and size_kb the worker measures.
    ``constraints=["predict_ms<=1.5"]`` keeps breaking trials off the front.
    The result's `pareto`, `hypervolume` (against `reference`, a dict with
    one value per objective, or one derived from the trials) and `select()`;
    `select` is the rule `best_trial` follows ("knee" by default).
    docs/multiobjective.md has the details.
    """
    if not callable(objective):
        raise ConfigError(f"objective must be callable as objective(params), {expected('a function', objective)}")
    dims = parse_space(space)
    trials = positive_int("trials", trials)
    n_workers = workers(jobs, backend)
    timeout = positive_seconds("timeout", timeout)
    trial_timeout = positive_seconds("trial_timeout", trial_timeout)
    trial_memory = None if trial_memory is None else parse_memory(trial_memory)
    if (trial_timeout or trial_memory) and backend != "loky":
        raise ConfigError(f"trial limits need loky worker processes, but backend is {backend!r}: a thread (the "
                          "kernel's, or a Dask worker's) cannot be stopped safely; use --backend loky")
    patience = None if patience is None else positive_int("patience", patience)
    initial = None if initial is None else positive_int("initial", initial)
    if initial is not None and initial > trials:
        raise ConfigError(f"initial is {initial} random points but the budget is {trials} trials, so the surrogate "
                          "would never be used; lower --initial or raise --trials")
    if target is not None and (isinstance(target, bool) or not isinstance(target, numbers.Real)
                               or not math.isfinite(target)):
        raise ConfigError(f"target must be a finite number, {expected('e.g. 0.95', target)}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral)):
        raise ConfigError(f"seed must be an integer, {expected('e.g. 0', seed)}")
    if str(surrogate).upper() not in SURROGATES:
        raise ConfigError(f"unknown surrogate {surrogate!r}; use one of {', '.join(SURROGATES)}")
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    cv = positive_int("cv", cv) if isinstance(cv, numbers.Integral) and not isinstance(cv, bool) else cv
    if isinstance(cv, int) and cv < 2:
        raise ConfigError(f"cv must be at least 2 folds, got {cv}")
    if progress not in (True, False, None, "auto", "widget", "text"):
        raise ConfigError(f"progress must be True, False, 'auto', 'widget' or 'text', got {progress!r}")
    if show_output and not progress:
        raise ConfigError("show_output shows what trials print under the progress view, which quiet/progress=False "
                          "turns off; drop one of them")
    if data is not None and (not isinstance(data, (tuple, list)) or len(data) != 2):
        raise ConfigError(f"data must be a pair (X, y), {expected('(X, y)', type(data).__name__)}")
    if data is not None and minimize:
        raise ConfigError("minimize does not apply to an estimator scored on data: scikit-learn scorers are "
                          "higher-is-better (a loss is neg_..., e.g. --scoring neg_log_loss); drop --minimize")
    scoring = valid_scoring(scoring)
    if force and not resume:
        raise ConfigError("force only applies to --resume (it continues a journal begun by another cell or data)")

    spec, rule = objective_options(objectives, constraints, reference, select, minimize=minimize, patience=patience,
                                   target=target, known=known, objective=objective, data=data)
    fidelity = parse_fidelity(fidelity, eta, budget_total, dims)
    if fidelity is not None and spec is not None:
        raise ConfigError("a progressive budget promotes configurations by one score, so it does not take several "
                          "objectives; drop fidelity (--fidelity) or objectives (--objectives)")
    start = _start_points(dims, start, trials, fidelity)
    known = _known_points(dims, known)
    if fidelity is not None and known:
        raise ConfigError("known trials have no budget, so a progressive budget cannot place them on a rung; "
                          "pass them as start points (start=...) instead, or drop fidelity")

    maximize = spec.maximize if spec is not None else not minimize
    name = name or default_name(objective, dims)
    strat = make_strategy(strategy, dims, budget=trials, seed=seed, surrogate=surrogate, n_initial=initial,
                          objectives=spec)
    if fidelity is not None:
        strat = RungStrategy(lambda: make_strategy(strategy, dims, budget=trials, seed=seed, surrogate=surrogate,
                                                   n_initial=initial), fidelity)
    from ..live.alerts import AlertRules
    try:
        alert_rules = AlertRules(**(alert_thresholds or {}))
    except TypeError as err:
        raise ConfigError(f"alert_thresholds: {err}; see the attributes of mlestar_nb.alerts.AlertRules") from None
    started_at = time.time()
    executor = make_executor(backend, n_workers, client=client, scheduler=scheduler)
    executor.connect()  # a wrong scheduler address fails here, before the journal is touched
    keeper = Keeper(in_kernel=not executor.pickles) if fidelity is not None and takes_previous(objective) else None
    payload = SearchPayload(objective=objective, data=tuple(data) if data is not None else None,
                            cv=cv, scoring=scoring, maximize=maximize, seed=seed, seed_globals=backend != "threads",
                            keeper=keeper, objectives=spec)
    views = list(listeners)
    if progress:
        from .views import make_search_view
        views.insert(0, make_search_view(progress, show_output=show_output))   # drawn before others hear
    rules = StopRules(trials, timeout, patience, target, maximize, trial_timeout, trial_memory)
    try:
        if executor.pickles:   # before the journal is touched: a failed start must not move it aside
            check_shippable(payload, getattr(objective, "namespace", None))
        header = {"name": name, "space": space_to_json(dims), "direction": "maximize" if maximize else "minimize",
                  "objective": fingerprint(objective, data), **(spec.to_json() if spec is not None else {})}
        if fidelity is not None:
            header["fidelity"] = fidelity.to_json()
        journal_obj, previous, notes = _open_journal(journal, journal_dir or DEFAULT_JOURNAL_DIR, header, dims,
                                                     resume, force)
        try:
            if len(previous) >= trials:
                notes.append(f"the journal already holds {len(previous)} finished trials, at or over the budget of "
                             f"{trials}: nothing new was run; raise --trials to continue")
            for trial in previous:
                loss = trial_loss(trial, maximize, spec) if trial.state in ("complete", "pruned") else None
                if loss is not None:
                    strat.tell(trial.params, loss)
            for params, score in known:
                strat.tell(params, -score if maximize else score)
            done = [trial.params for trial in previous]
            strat.enqueue(point for point in start if point not in done)  # a resumed run does not redo them
            rules.budget = max(trials, len(previous))
            halving = None if fidelity is None else AsyncHalving(fidelity, maximize, previous)
            search = Search(payload=payload, strategy=strat, executor=executor, rules=rules, journal=journal_obj,
                            previous=previous, listeners=views, prune=data is not None and spec is None,
                            alert_rules=alert_rules, front=FrontTracker(spec, rule) if spec is not None else None,
                            halving=halving)
            search.run()
        finally:
            if journal_obj is not None:
                journal_obj.close()
            if keeper is not None:
                keeper.close()
    except BaseException:
        executor.shutdown(kill=True)  # idempotent: covers what fails before the run owns the executor
        raise
    notes.extend(getattr(executor, "notes", ()))
    if known:
        notes.append(f"the optimizer started from {len(known)} known trial(s) scored before (not rerun, not counted)")
    if search.stopped_running:
        notes.append(f"{search.stopped_running} running trial(s) were stopped by the interrupt and not recorded")
    if search.stop_reason == "grid exhausted":
        notes.append(f"the grid has {len(search.trials)} points, fewer than the budget of {trials}")
    metrics = {**search.metrics(len(previous)), "known_trials": len(known), "budget": trials, "seed": seed,
               "started_at": started_at, "host": platform.node()}
    if metrics["proposals_fallback"]:
        notes.append(f"{metrics['proposals_fallback']} point(s) were random draws: workers took points faster than "
                     "the Bayesian model could make them (docs/bayes.md); --strategy bayes always waits for the model")
    result = TuneResult(
        name=name, direction="maximize" if maximize else "minimize", strategy=strat.name, space=dims,
        trials=search.trials, status=search.status, stop_reason=search.stop_reason,
        metrics=metrics,
        journal_path=journal_obj.path if journal_obj else None,
        notes=notes, alerts=list(alert_rules.alerts), error=search.error,
        resources=search.monitor.history, payload=payload, objectives=spec, selection=rule,
        fidelity=None if fidelity is None else fidelity.to_json(),
    )
    announce_finished(views, result)
    return result


def _start_points(dims, start, trials, fidelity=None):
    if start is None:
        return []
    points = [start] if isinstance(start, dict) else start
    if not isinstance(points, (list, tuple)):
        raise ConfigError(f"start must be a dict of parameters or a list of them, {expected('a dict', start)}")
    if fidelity is not None and any(isinstance(p, dict) and fidelity.name in p for p in points):
        raise ConfigError(f"a start point is a configuration; its budget '{fidelity.name}' is set by the schedule "
                          f"(it starts at {fidelity.budgets[0]}): drop '{fidelity.name}' from the start point")
    if len(points) > trials:
        raise ConfigError(f"start has {len(points)} points but the budget is {trials} trials; raise the trials "
                          "or give fewer start points")
    return [check_point(dims, point) for point in points]


def _known_points(dims, known):
    if known is None:
        return []
    if not isinstance(known, (list, tuple)):
        raise ConfigError(f"known must be a list of (params, score) pairs, {expected('a list', known)}")
    pairs = []
    for item in known:
        if not (isinstance(item, (list, tuple)) and len(item) == 2):
            raise ConfigError(f"each known trial is a (params, score) pair, got {item!r}")
        params, score = item
        if isinstance(score, bool) or not isinstance(score, numbers.Real) or not math.isfinite(score):
            raise ConfigError(f"a known trial's score must be a finite number, got {score!r}")
        pairs.append((check_point(dims, params, "known trial"), float(score)))
    return pairs


def _open_journal(enabled, directory, header, dims, resume, force):
    """Return (journal or None, trials from an earlier run, notes for the result)."""
    notes = []
    if not enabled:
        if resume:
            raise ConfigError("resume needs the journal; drop --no-journal (journal=False)")
        return None, [], notes
    name = header["name"]
    journal = Journal(journal_path(os.path.abspath(directory), name))
    try:
        journal.lock()
        if not resume:
            journal.start(header)
            return journal, [], notes
        if not journal.exists():
            found = ", ".join(known_journals(os.path.dirname(journal.path))) or "none"
            hint = ("; without --name the name comes from the cell's code and space, so an edited cell has a new one: "
                    "pass --name of the journal to continue" if name.startswith("tune-") else "")
            raise ConfigError(f"no journal named '{name}' to resume in {os.path.dirname(journal.path)} "
                              f"(found: {found}); check --name, or run without --resume to start it{hint}")
        stored, records, skipped = journal.load()
        if stored.get("space") != json.loads(json.dumps(header["space"])):
            raise ConfigError(f"journal '{name}' was written for a different space; resume with the same "
                              "space, or start a new search with another --name")
        if stored.get("fidelity") != json.loads(json.dumps(header.get("fidelity"))):
            raise ConfigError(f"journal '{name}' was written with another progressive budget "
                              f"({_fidelity_words(stored.get('fidelity'))}, now {_fidelity_words(header.get('fidelity'))});"
                              " resume with the same --fidelity, --eta and --budget-total, or give this run a new --name")
        if stored.get("direction") != header["direction"]:
            raise ConfigError(f"journal '{name}' was written to {stored.get('direction')}, not to "
                              f"{header['direction']}; match --minimize to the original run")
        change = objective_change(stored.get("objective"), header["objective"])
        if change and not force:
            raise ConfigError(f"journal '{name}' was begun {change}, so its scores measure another objective; "
                              "--resume --force (force=True) continues it anyway, mixing both, or give this run "
                              "a new --name")
        check_resumed(name, stored, header)
        previous = _trials_from_records(records, dims, header.get("fidelity"))
        journal.reopen()
        notes.append(f"resumed {len(previous)} finished trial(s) from {journal.path}")
        if change:
            notes.append(f"resumed with --force although the journal was begun {change}")
        if skipped:
            notes.append(f"skipped {skipped} unreadable journal line(s)")
        return journal, previous, notes
    except OSError as err:
        journal.close()
        raise ConfigError(f"cannot write the journal in {os.path.dirname(journal.path)} ({err.strerror or err}); "
                          "pass --journal-dir DIR with a folder you can write, or --no-journal to run without one "
                          "(library: journal_dir=..., journal=False)") from None
    except BaseException:
        journal.close()
        raise


def _fidelity_words(info):
    if not info:
        return "none"
    words = f"{info['name']}={info['low']}..{info['high']}, eta {info['eta']}"
    return words + (f", budget total {info['budget_total']:g}" if info.get("budget_total") else "")


def _trials_from_records(records, dims, fidelity=None):
    trials, seen = [], set()
    for record in records:
        if record["number"] in seen:
            continue
        seen.add(record["number"])
        fields = {k: record.get(k) for k in ("value", "state", "start", "end", "duration", "worker", "error",
                                             "continued_from")}
        params = point_from_json(dims, record["params"])
        if fidelity is not None:
            params[fidelity["name"]] = record["params"].get(fidelity["name"])
        trials.append(Trial(number=record["number"], params=params,
                            metrics={k: metric_from_record(v) for k, v in (record.get("metrics") or {}).items()},
                            intermediate=record.get("intermediate") or [],
                            warnings=record.get("warnings") or [], **fields))
    return trials


def default_name(objective, dims):
    """The journal's name when none is given: a digest of the cell's code (or the function's name) and the space."""
    identity = getattr(objective, "source", None) or getattr(objective, "__qualname__", type(objective).__name__)
    digest = hashlib.sha1((identity + json.dumps(space_to_json(dims), sort_keys=True)).encode()).hexdigest()
    return f"tune-{digest[:8]}"
