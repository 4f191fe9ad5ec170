"""The search loop: keep every worker busy, record each trial the moment it ends.

The loop hands a new point to each free worker at once (no batches), records
finished trials in the journal and the strategy, applies the stop rules, and
publishes a plain snapshot to listeners (views draw it; the engine draws
nothing). Running tasks, lost workers and Ctrl-C are the dispatcher's
(`runs.dispatch`); points come from the proposer, which computes them ahead
when the strategy is slow.
"""
import collections
import time
from dataclasses import dataclass

from ..errors import ConfigError
from ..live.alerts import AlertRules
from ..live.monitor import ResourceMonitor
from ..runs.control import Cancelled
from ..runs.dispatch import Dispatcher, Events
from .fidelity import WAIT
from .journal import JournalFailed
from .objectives import trial_loss
from .proposer import Proposer, StrategyFailed, proposal_metrics
from .result import Trial, summarize_durations
from .trial import run_trial


@dataclass
class StopRules:
    budget: int
    timeout: float = None
    patience: int = None
    target: float = None
    maximize: bool = True
    trial_timeout: float = None     # seconds; enforced in the worker, then by restarting it
    trial_memory: int = None        # bytes a trial may add to its worker


class Search:
    """One run of the loop. Create, call `run()` once, read the attributes it sets."""

    def __init__(self, *, payload, strategy, executor, rules, journal=None, previous=(), listeners=(),
                 prune=False, alert_rules=None, tick_s=0.5, halving=None, front=None):
        self.payload = payload
        self.strategy = strategy
        self.executor = executor
        self.rules = rules
        self.journal = journal
        self.trials = list(previous)
        self.halving = halving           # a progressive budget's schedule (fidelity.AsyncHalving), or None
        self.prune = prune and halving is None
        self.front = front               # a front.FrontTracker when the search has objectives
        self.status = "running"
        self.stop_reason = None
        self.error = None
        self.stopped_running = 0
        self.events = Events(listeners, self.snapshot)
        self.monitor = ResourceMonitor(min_interval=tick_s)
        self.alert_rules = alert_rules or AlertRules()
        self.dispatcher = Dispatcher(executor, payload)
        self.proposer = None
        self._live = {}                  # trial number -> Trial, while it runs
        self._tick_s = tick_s
        self._last_tick = None
        self._last_wait_s = 0.0
        self._last_starved_s = 0.0
        self._limits = (rules.trial_timeout, rules.trial_memory)
        self._next_number = max((t.number for t in self.trials), default=-1) + 1
        self._since_improvement = 0
        self._best = None
        for trial in self.trials:
            self._note_best(trial)
        self._durations = []
        self._previous_count = len(self.trials)
        self._loop_start = self._loop_end = None

    # -- the loop ---------------------------------------------------------
    def run(self):
        try:
            with self.dispatcher as dispatcher:
                self.monitor.sample(force=True)   # before the proposer's threads compete for the GIL (monitor.py)
                self.proposer = Proposer(self.strategy, self._running_points,
                                         background=self.strategy.is_costly and dispatcher.n_workers > 1,
                                         n_workers=dispatcher.n_workers)
                self._loop_start = time.perf_counter()
                self.alert_rules.on_start(self.rules.budget - len(self.trials), dispatcher.n_workers)
                self.events.publish("start")
                try:
                    self._loop(dispatcher)
                finally:
                    self._loop_end = time.perf_counter()
                    self.proposer.close()
            finished = self.stop_reason in (None, "budget", "grid exhausted", "budget total")
            self.status = "completed" if finished else "stopped"
            self.stop_reason = self.stop_reason or "budget"
        except Cancelled:
            self.status, self.stop_reason = "stopped", "cancelled"
            self.stopped_running = self.dispatcher.unfinished
        except KeyboardInterrupt:
            self.status, self.stop_reason = "interrupted", "interrupt"
            self.stopped_running = self.dispatcher.unfinished
        except (StrategyFailed, JournalFailed) as err:   # the finished trials are kept: the result says why
            self.status, self.stop_reason, self.error = "error", err.stop_reason, str(err)
        except BaseException as err:
            self.status, self.error = "error", str(err)
            raise
        finally:
            self.alert_rules.check_trends()
            self.events.publish("end")
        return self

    def _loop(self, dispatcher):
        deadline = None if self.rules.timeout is None else self._loop_start + self.rules.timeout
        control = dispatcher.control
        exhausted = False
        while True:
            dispatcher.check()
            self.rules.budget += control.take_extension()
            while (not exhausted and self.stop_reason is None and control.may_start()
                   and dispatcher.has_room(dispatcher.n_workers) and self._still_to_start()):
                if deadline is not None and time.perf_counter() >= deadline:
                    self.stop_reason = "timeout"
                    break
                point = self._next_point(dispatcher)
                if point is WAIT or self.stop_reason is not None:   # waits for a running trial; or a trial
                    break                                           # recorded meanwhile stopped the run
                if point is None:
                    exhausted = True
                    break
                self._submit(dispatcher, Trial(number=self._take_number(), params=point))
                self._tick(exhausted)   # trials recorded while it waited for points keep freeing room
            if not dispatcher.active:
                if control.stopping:
                    self.stop_reason = self.stop_reason or "stop requested"
                    return
                if control.paused and not exhausted and self.stop_reason is None and self._still_to_start():
                    control.wait_while_paused(0.25)
                    self._tick(exhausted)
                    continue
                if exhausted and self.stop_reason is None and len(self.trials) < self.rules.budget:
                    self.stop_reason = getattr(self.halving, "stop_reason", None) or "grid exhausted"
                return
            wait = 0.25 if deadline is None else max(0.0, min(0.25, deadline - time.perf_counter()))
            for done in dispatcher.wait(wait):
                self._finish(done)
            self._stop_overdue(dispatcher)
            self._tick(exhausted)

    def _next_point(self, dispatcher):
        take = lambda: self.proposer.take(lambda: self._record_finished(dispatcher))  # noqa: E731
        if self.halving is None:
            return take()
        return self.halving.next(take, self.rules.budget - len(self.trials) - len(self._live))

    def _record_finished(self, dispatcher):
        """While the loop waits for a point: record the trials that finished meanwhile (and check for Ctrl-C),
        so that their results reach the model, which the point may be waiting for, and the journal and views
        at once. With 16 workers a round's results come together, and the first of them freed a worker."""
        for done in dispatcher.wait(0):
            self._finish(done)

    def _still_to_start(self):
        return len(self.trials) + len(self._live) < self.rules.budget

    def _take_number(self):
        number = self._next_number
        self._next_number += 1
        return number

    def _running_points(self):
        """Parameters of the running trials (read by the proposer's thread)."""
        live = self._live
        return [live[key].params for key in self.dispatcher.running_keys() if key in live]

    def _submit(self, dispatcher, trial):
        self._live[trial.number] = trial
        step = () if self.halving is None else (self.halving.started(trial),)
        dispatcher.submit(trial.number, run_trial, trial.number, trial.params, self._prune_table(), self._limits,
                          *step)

    def _stop_overdue(self, dispatcher):
        """A trial stuck past --trial-timeout in code the worker cannot interrupt: restart its worker."""
        limit = self.rules.trial_timeout
        if limit is None or not self.executor.can_restart:
            return
        grace = max(2.0, 0.2 * limit)
        now = time.perf_counter()
        overdue = [key for key, submitted, _ in dispatcher.running() if now - submitted > limit + grace]
        for number in dispatcher.restart(overdue):
            trial = self._live.pop(number)
            trial.state, trial.value = "timeout", None
            trial.error = (f"the trial passed --trial-timeout {limit:g} s and did not stop "
                           f"(stuck outside Python); its worker was restarted")
            self._record(trial)

    def _finish(self, done):
        trial = self._live.pop(done.key)
        if done.lost is not None:
            self.alert_rules.on_worker_lost(trial, done.lost)
            trial.state, trial.value, trial.error = "failed", None, f"worker_lost: {done.lost}"
        else:
            outcome = done.outcome
            if outcome["state"] == "usage_error":
                raise ConfigError(outcome["error"])
            for key in ("value", "state", "start", "end", "duration", "worker", "error", "metrics",
                        "intermediate", "warnings", "output", "continued_from"):
                if key in outcome:
                    setattr(trial, key, outcome[key])
        self._record(trial)

    def _record(self, trial):
        self.trials.append(trial)
        if self.halving is not None:
            self.halving.finished(trial)
        if trial.duration is not None:
            self._durations.append(trial.duration)
        if trial.state in ("complete", "pruned"):
            loss = trial_loss(trial, self.rules.maximize, self.front and self.front.spec)
            if loss is not None:
                self.strategy.tell(trial.params, loss)
        if self.journal is not None:
            try:
                self.journal.append(trial.to_record())
            except OSError as err:   # a full disk: every trial recorded before this one is in the journal
                raise JournalFailed(self.journal.path, trial.number, len(self.trials) - 1, err) from None
        improved = self._note_best(trial)
        if trial.state == "complete" and self._counts(trial):
            self._since_improvement = 0 if improved else self._since_improvement + 1
        self.alert_rules.on_trial(trial, self.monitor.rss_tree())
        self.proposer.trial_finished(trial.duration)
        self._check_rules()
        self.events.publish("trial", trial=trial.to_record())

    def _note_best(self, trial):
        if trial.state != "complete" or not self._counts(trial):
            return False
        if self._best is None or (trial.value > self._best if self.rules.maximize else trial.value < self._best):
            self._best = trial.value
            return True
        return False

    def _counts(self, trial):
        """Whether a trial can be the best: with a progressive budget, only at the full budget."""
        return self.halving is None or self.halving.counts(trial)

    def _check_rules(self):
        rules = self.rules
        if self.stop_reason is not None:
            return
        if rules.target is not None and self._best is not None:
            if (self._best >= rules.target) if rules.maximize else (self._best <= rules.target):
                self.stop_reason = "target"
        if rules.patience is not None and self._since_improvement >= rules.patience:
            self.stop_reason = "patience"

    def _tick(self, exhausted):
        """Between waits: sample resources, feed the alert rules, let views redraw."""
        now = time.time()
        if self._last_tick is not None and now - self._last_tick < self._tick_s:
            return
        window_start, self._last_tick = self._last_tick, now
        self.alert_rules.on_sample(self.monitor.sample())
        self.alert_rules.check_trends()
        still_to_run = (not exhausted and self.stop_reason is None and self.dispatcher.control.may_start()
                        and self._still_to_start())
        if window_start is not None and still_to_run:
            recent = self._durations[-10:]
            self.alert_rules.on_tick(
                window_start, now, workers=self.dispatcher.n_workers,
                finished=[(t.start, t.end) for t in self.trials[-4 * self.dispatcher.n_workers:]],
                running_since=[epoch for _, _, epoch in self.dispatcher.running()],
                waited_s=self.proposer.wait_seconds - self._last_wait_s, proposal_ms=self.proposer.ask_ms_mean,
                trial_ms=1000 * (sum(recent) / len(recent) if recent else 0.0),
                starved_s=self.proposer.starved_worker_s - self._last_starved_s)
        self._last_wait_s = self.proposer.wait_seconds
        self._last_starved_s = self.proposer.starved_worker_s
        self.events.publish("tick")

    def _prune_table(self):
        """Per fold, the running mean CV score of each completed trial (for the median rule)."""
        if not self.prune:
            return None
        table = []
        for trial in self.trials:
            if trial.state != "complete":
                continue
            total = 0.0
            for fold, score in enumerate(trial.intermediate):
                total += score
                if fold == len(table):
                    table.append([])
                table[fold].append(total / (fold + 1))
        return table

    # -- what listeners and results see -----------------------------------
    def snapshot(self):
        """The plain-dict state views draw (documented in docs/design.md, "Live views")."""
        counts = collections.Counter(t.state for t in self.trials)
        done = [t for t in self.trials if t.state == "complete" and self._counts(t)]
        ordered = sorted(done, key=lambda t: t.value, reverse=self.rules.maximize)
        best = None
        if ordered:
            best = {"number": ordered[0].number, "value": ordered[0].value, "params": dict(ordered[0].params)}
        elapsed = 0.0 if self._loop_start is None else (self._loop_end or time.perf_counter()) - self._loop_start
        ran = len(self.trials) - self._previous_count
        left = max(0, self.rules.budget - len(self.trials))
        eta = elapsed / ran * left if ran and self.status == "running" else None
        return {
            "kind": "search", "status": self.dispatcher.control.describe(self.status),
            "stop_reason": self.stop_reason, "error": self.error,
            "budget": self.rules.budget, "finished": len(self.trials), "running": len(self._live),
            "complete": counts["complete"], "failed": counts["failed"], "pruned": counts["pruned"],
            "timeout": counts["timeout"], "best": best, "elapsed_s": elapsed, "eta_s": eta,
            "workers": self.executor.n_workers, "maximize": self.rules.maximize,
            "top": [{"number": t.number, "value": t.value, "params": dict(t.params)} for t in ordered[:5]],
            "history": [(t.value, t.state if self._counts(t) else "partial") for t in self.trials],
            "resources": self.monitor.last, "alerts": [a.to_dict() for a in self.alert_rules.alerts],
            "rungs": None if self.halving is None else self.halving.snapshot(),
            "front": self.front.snapshot(self.trials) if self.front is not None else None,
        }

    def metrics(self, previous_count):
        ran = self.trials[previous_count:]
        start = self._loop_start or 0.0
        wall = max(1e-9, (self._loop_end or start) - start)
        busy = sum(t.duration or 0.0 for t in ran)
        finished = [t for t in ran if t.state in ("complete", "failed", "pruned", "timeout")]
        succeeded = [t for t in finished if t.state in ("complete", "pruned")]
        proposer = self.proposer
        out = {
            "backend": self.executor.name,
            "workers": self.executor.n_workers,
            "trials_run": len(ran),
            "wall_s": wall,
            "startup_s": self.dispatcher.startup_s,
            "worker_utilization": min(1.0, busy / (self.executor.n_workers * wall)),
            "success_rate": len(succeeded) / len(finished) if finished else None,   # None: nothing finished
            **proposal_metrics(proposer),
            "stopped_running": self.stopped_running,
            "view_s": self.events.seconds,
        }
        out.update(summarize_durations(ran))
        out.update(self.monitor.metrics())
        return out
