"""The search loop: keep every worker busy, record each trial the moment it ends.

The loop hands a new point to each free worker at once (no batches), records
finished trials in the journal and the strategy, applies the stop rules, and
publishes a plain snapshot to listeners (views draw it; the engine draws
nothing). Proposals from a costly strategy are computed ahead in a background
thread, so a free worker takes a ready point instead of waiting for a surrogate
fit; how far ahead adapts to the ratio of proposal time to trial time.
"""
import collections
import math
import threading
import time
from dataclasses import dataclass

from .alerts import AlertRules
from .errors import ConfigError
from .executors import WorkerLost
from .interrupts import InterruptGuard
from .monitor import ResourceMonitor
from .proposer import Proposer
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
                 prune=False, alert_rules=None, tick_s=0.5):
        self.payload = payload
        self.strategy = strategy
        self.executor = executor
        self.rules = rules
        self.journal = journal
        self.trials = list(previous)
        self.listeners = list(listeners)
        self.prune = prune
        self.status = "running"
        self.stop_reason = None
        self.stopped_running = 0
        self._running = {}          # future -> (Trial, pool generation)
        self._lock = threading.Lock()
        self._generation = 0
        self._retry = collections.deque()   # (trial, run alone?) whose worker died
        self._attempts = {}
        self._ran_alone = {}
        self._submitted_at = {}
        self._restarted = set()          # pool generations the engine killed on purpose
        self.monitor = ResourceMonitor(min_interval=tick_s)
        self.alert_rules = alert_rules or AlertRules()
        self._tick_s = tick_s
        self._last_tick = None
        self._last_wait_s = 0.0
        self._submitted_epoch = {}
        self._limits = (rules.trial_timeout, rules.trial_memory)
        self._next_number = max((t.number for t in self.trials), default=-1) + 1
        self._since_improvement = 0
        self._best = None
        for trial in self.trials:
            self._note_best(trial)
        self._run_durations = []
        self._previous_count = len(self.trials)
        self.view_seconds = 0.0     # time the loop spent drawing views
        self._started = None
        self._loop_start = None
        self._startup_s = 0.0

    # -- the loop ---------------------------------------------------------
    def run(self):
        clock = time.perf_counter()
        self._started = time.time()
        self.executor.start()
        handle = self.executor.share(self.payload)
        self.executor.preload(handle)
        self._startup_s = time.perf_counter() - clock
        background = self.strategy.is_costly and self.executor.n_workers > 1
        self.proposer = Proposer(self.strategy, self._running_points, background)
        self._loop_start = time.perf_counter()
        self._publish("start")
        self._guard = InterruptGuard(raise_at_once=self.executor.runs_in_kernel)
        self.monitor.sample(force=True)
        self.alert_rules.on_start(self.rules.budget - len(self.trials), self.executor.n_workers)
        try:
            with self._guard:
                self._loop(handle)
            self.status = "stopped" if self.stop_reason not in (None, "budget", "grid exhausted") else "completed"
            self.stop_reason = self.stop_reason or "budget"
            self.executor.shutdown()
        except KeyboardInterrupt:
            self.status, self.stop_reason = "interrupted", "interrupt"
            self.stopped_running = len(self._running) + len(self._retry)
            self.executor.shutdown(kill=True)
        except BaseException:
            self.status = "error"
            self.executor.shutdown(kill=True)
            raise
        finally:
            self._loop_end = time.perf_counter()
            self.alert_rules.check_trends()
            self.proposer.close()
            self.executor.unshare(handle)
            self._publish("end")
        return self

    def _loop(self, handle):
        deadline = None if self.rules.timeout is None else self._loop_start + self.rules.timeout
        exhausted = False
        while True:
            self._guard.check()
            self._resubmit_lost(handle)
            while (not exhausted and not self._retry and self.stop_reason is None
                   and len(self._running) < self.executor.n_workers
                   and len(self.trials) + len(self._running) < self.rules.budget):
                if deadline is not None and time.perf_counter() >= deadline:
                    self.stop_reason = "timeout"
                    break
                point = self.proposer.take(self._guard.check)
                if point is None:
                    exhausted = True
                    break
                self._submit(handle, Trial(number=self._take_number(), params=point))
            if not self._running and not self._retry:
                if exhausted and self.stop_reason is None and len(self.trials) < self.rules.budget:
                    self.stop_reason = "grid exhausted"
                return
            wait = 0.25 if deadline is None else max(0.0, min(0.25, deadline - time.perf_counter()))
            for future in self.executor.wait(list(self._running), timeout=wait):
                self._finish(future)
            self._stop_overdue()
            self._tick(exhausted)

    def _resubmit_lost(self, handle):
        """Run again the trials whose worker died: alone, when the loss may have been another trial's fault."""
        while self._retry:
            trial, alone = self._retry[0]
            if alone and self._running:
                return
            if len(self._running) >= self.executor.n_workers:
                return
            self._retry.popleft()
            self._submit(handle, trial, alone=alone)
            if alone:
                return

    def _take_number(self):
        number = self._next_number
        self._next_number += 1
        return number

    def _running_points(self):
        with self._lock:
            return [trial.params for trial, _ in self._running.values()]

    def _submit(self, handle, trial, alone=False):
        self._attempts[trial.number] = self._attempts.get(trial.number, 0) + 1
        self._ran_alone[trial.number] = alone
        self._submitted_at[trial.number] = time.perf_counter()
        self._submitted_epoch[trial.number] = time.time()
        future = self.executor.submit(run_trial, handle, trial.number, trial.params, self._prune_table(),
                                      self._limits)
        with self._lock:
            self._running[future] = (trial, self._generation)

    def _stop_overdue(self):
        """A trial stuck past --trial-timeout in code the worker cannot interrupt: restart its worker."""
        limit = self.rules.trial_timeout
        if limit is None or not self.executor.can_restart:
            return
        grace = max(2.0, 0.2 * limit)
        now = time.perf_counter()
        overdue = [(f, t) for f, (t, g) in list(self._running.items())
                   if g == self._generation and now - self._submitted_at[t.number] > limit + grace]
        if not overdue:
            return
        for future, trial in overdue:
            with self._lock:
                self._running.pop(future)
            trial.state, trial.value = "timeout", None
            trial.duration = now - self._submitted_at[trial.number]
            trial.error = (f"the trial passed --trial-timeout {limit:g} s and did not stop "
                           f"(stuck outside Python); its worker was restarted")
            self._record(trial)
        self._restarted.add(self._generation)
        self._generation += 1
        self.executor.recover()

    def _finish(self, future):
        with self._lock:
            trial, generation = self._running.pop(future)
        try:
            outcome = self.executor.outcome(future)
        except WorkerLost as err:
            if generation in self._restarted:   # we restarted that pool for another trial: rerun, no blame
                self._retry.append((trial, False))
                self._attempts[trial.number] -= 1
                return
            if generation == self._generation:
                self._generation += 1
                self.executor.recover()
            if not self._lost_for_good(trial, err):
                self._retry.append((trial, err.shared))
                return
            self.alert_rules.on_worker_lost(trial, err)
            outcome = {"state": "failed", "error": f"worker_lost: {err}", "value": None}
        if outcome["state"] == "usage_error":
            raise ConfigError(outcome["error"])
        for key in ("value", "state", "start", "end", "duration", "worker", "error", "metrics", "intermediate",
                    "warnings"):
            if key in outcome:
                setattr(trial, key, outcome[key])
        self._record(trial)

    def _lost_for_good(self, trial, err):
        """A trial is failed when its worker died while it ran alone, or died on it twice."""
        if err.shared:
            return self._ran_alone.get(trial.number, False)
        return self._attempts.get(trial.number, 0) >= 2

    def _record(self, trial):
        self.trials.append(trial)
        if trial.duration is not None:
            self._run_durations.append(trial.duration)
        if trial.state in ("complete", "pruned"):
            self.strategy.tell(trial.params, -trial.value if self.rules.maximize else trial.value)
        if self.journal is not None:
            self.journal.append(trial.to_record())
        improved = self._note_best(trial)
        if trial.state == "complete":
            self._since_improvement = 0 if improved else self._since_improvement + 1
        self.alert_rules.on_trial(trial, self.monitor.rss_tree())
        self._adapt_lookahead()
        self._check_rules()
        self._publish("trial", trial)

    def _note_best(self, trial):
        if trial.state != "complete":
            return False
        if self._best is None or (trial.value > self._best if self.rules.maximize else trial.value < self._best):
            self._best = trial.value
            return True
        return False

    def _check_rules(self):
        rules = self.rules
        if self.stop_reason is not None:
            return
        if rules.target is not None and self._best is not None:
            if (self._best >= rules.target) if rules.maximize else (self._best <= rules.target):
                self.stop_reason = "target"
        if rules.patience is not None and self._since_improvement >= rules.patience:
            self.stop_reason = "patience"

    def _adapt_lookahead(self):
        """Compute ahead enough points to cover proposal time, and no more (stale points cost quality)."""
        if not self.proposer._background or not self._run_durations or not self.proposer.asks:
            return
        recent = self._run_durations[-10:]
        trial_s = max(1e-3, sum(recent) / len(recent))
        ask_s = self.proposer.ask_seconds / self.proposer.asks
        ahead = math.ceil(self.executor.n_workers * ask_s / trial_s) + 1
        self.proposer.set_ahead(max(1, min(self.executor.n_workers, ahead)))

    def _tick(self, exhausted):
        """Between waits: sample resources, feed the alert rules, let views redraw."""
        now = time.time()
        if self._last_tick is not None and now - self._last_tick < self._tick_s:
            return
        window_start, self._last_tick = self._last_tick, now
        sample = self.monitor.sample()
        self.alert_rules.on_sample(sample)
        self.alert_rules.check_trends()
        still_to_run = (not exhausted and self.stop_reason is None
                        and len(self.trials) + len(self._running) < self.rules.budget)
        if window_start is not None and still_to_run:
            span = now - window_start
            busy = sum(_overlap(t.start, t.end, window_start, now) for t in self.trials[-4 * self.executor.n_workers:]
                       if t.start is not None)
            busy += sum(_overlap(self._submitted_epoch[t.number], now, window_start, now)
                        for t, _ in list(self._running.values()))
            capacity = self.executor.n_workers * span
            waited = self.proposer.wait_seconds - self._last_wait_s
            recent = self._run_durations[-10:]
            self.alert_rules.on_idle(now, max(0.0, capacity - busy), capacity,
                                     1000 * self.proposer.ask_seconds / max(1, self.proposer.asks),
                                     1000 * (sum(recent) / len(recent) if recent else 0.0),
                                     waiting_for_proposals=waited > 0.25 * max(1e-9, capacity - busy))
        self._last_wait_s = self.proposer.wait_seconds
        self._publish("tick")

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
        counts = collections.Counter(t.state for t in self.trials)
        best = None
        done = [t for t in self.trials if t.state == "complete"]
        if done:
            pick = max if self.rules.maximize else min
            top = pick(done, key=lambda t: t.value)
            best = {"number": top.number, "value": top.value, "params": dict(top.params)}
        elapsed = 0.0 if self._loop_start is None else time.perf_counter() - self._loop_start
        ran = len(self.trials) - self._previous_count
        left = max(0, self.rules.budget - len(self.trials))
        eta = elapsed / ran * left if ran and self.status == "running" else None
        ordered = sorted(done, key=lambda t: t.value, reverse=self.rules.maximize)[:5]
        return {
            "status": self.status, "stop_reason": self.stop_reason, "budget": self.rules.budget,
            "finished": len(self.trials), "running": len(self._running),
            "complete": counts["complete"], "failed": counts["failed"], "pruned": counts["pruned"],
            "timeout": counts["timeout"], "best": best, "elapsed_s": elapsed, "eta_s": eta,
            "workers": self.executor.n_workers, "maximize": self.rules.maximize,
            "top": [{"number": t.number, "value": t.value, "params": dict(t.params)} for t in ordered],
            "history": [(t.value, t.state) for t in self.trials],
            "resources": self.monitor.last, "alerts": [a.to_dict() for a in self.alert_rules.alerts],
        }

    def _publish(self, event, trial=None):
        if not self.listeners:
            return
        clock = time.perf_counter()
        snap = self.snapshot()
        for listener in self.listeners:
            listener(event, snap, trial)
        self.view_seconds += time.perf_counter() - clock

    def metrics(self, previous_count):
        ran = self.trials[previous_count:]
        wall = max(1e-9, self._loop_end - self._loop_start)
        busy = sum(t.duration or 0.0 for t in ran)
        finished = [t for t in ran if t.state in ("complete", "failed", "pruned", "timeout")]
        succeeded = [t for t in finished if t.state in ("complete", "pruned")]
        out = {
            "backend": self.executor.name,
            "workers": self.executor.n_workers,
            "trials_run": len(ran),
            "wall_s": wall,
            "startup_s": self._startup_s,
            "worker_utilization": min(1.0, busy / (self.executor.n_workers * wall)),
            "success_rate": len(succeeded) / len(finished) if finished else 0.0,
            "proposals": self.proposer.asks,
            "proposal_s_total": self.proposer.ask_seconds,
            "proposal_ms_mean": 1000 * self.proposer.ask_seconds / max(1, self.proposer.asks),
            "proposal_wait_s": self.proposer.wait_seconds,
            "stopped_running": self.stopped_running,
            "view_s": self.view_seconds,
        }
        out.update(summarize_durations(ran))
        out.update(self.monitor.metrics())
        return out


def _overlap(start, end, window_start, window_end):
    if start is None or end is None:
        return 0.0
    return max(0.0, min(end, window_end) - max(start, window_start))
