"""Alerts: things going wrong during a run, each said once, in words a person can act on.

Rules read plain figures (trial durations, the process tree's RSS after each
trial, resource samples, idle worker time) and never touch the engine. Their
thresholds are the class attributes of `AlertRules`, documented in docs/monitoring.md.
"""
import statistics
import time
from dataclasses import asdict, dataclass

from scipy import stats

from ..runs.limits import format_bytes


@dataclass
class Alert:
    kind: str
    time: float
    message: str
    trial: int = None

    def to_dict(self):
        return asdict(self)


class AlertRules:
    leak_min_trials = 8
    leak_min_growth_bytes = 50 << 20
    leak_min_growth_fraction = 0.10
    leak_max_p = 0.01
    memory_pressure_below = 0.10
    idle_window_s = 10.0
    idle_above = 0.30
    starved_above = 0.10
    starved_min_s = 2.0
    slowdown_min_trials = 10
    slowdown_min_rho = 0.6
    slowdown_max_p = 0.01
    slowdown_ratio = 1.5
    slowdown_min_increase_s = 0.1
    failure_min_finished = 10
    failure_rate_below = 0.95

    def __init__(self, **thresholds):
        for name, value in thresholds.items():
            if not hasattr(AlertRules, name):
                raise TypeError(f"unknown alert threshold {name!r}")
            setattr(self, name, value)
        self.alerts = []
        self._fired = set()
        self._rss_after_trial = []
        self._durations = []
        self._finished = 0
        self._succeeded = 0
        self._idle = []   # (window start, window end, idle, starved and capacity worker-seconds)
        self._last_trial = None
        self._first_failure = None

    def _fire(self, kind, message, trial=None):
        if kind in self._fired:
            return None
        self._fired.add(kind)
        alert = Alert(kind=kind, time=time.time(), message=message, trial=trial)
        self.alerts.append(alert)
        return alert

    # -- inputs ------------------------------------------------------------
    def on_start(self, budget_left, workers):
        if 0 < budget_left < workers:
            self._fire("low_utilization",
                       f"only {budget_left} trial(s) to run on {workers} workers: {workers - budget_left} will sit "
                       "idle; raise --trials or lower --jobs")

    def on_trial(self, trial, rss_tree):
        """Record a finished trial; the trend rules run in `check_trends`, a few times a second at most."""
        self._finished += 1
        if trial.state in ("complete", "pruned"):
            self._succeeded += 1
        if trial.duration is not None and trial.state == "complete":
            self._durations.append(trial.duration)
        if trial.state in ("failed", "timeout") and self._first_failure is None:
            self._first_failure = f"trial {trial.number}: {trial.error}"
        if rss_tree:
            self._rss_after_trial.append(rss_tree)
        self._last_trial = trial
        self._check_failures(trial)

    def check_trends(self):
        """The regression-based rules (leak, slowdown), over every trial so far."""
        if self._last_trial is not None:
            self._check_leak(self._last_trial)
            self._check_slowdown(self._last_trial)

    def on_sample(self, sample):
        if sample["memory_available_fraction"] < self.memory_pressure_below:
            self._fire("memory_pressure",
                       f"only {sample['memory_available_fraction']:.0%} of the machine's memory is available: "
                       "lower --jobs, or --trial-memory to stop trials that grow too much")

    def on_tick(self, window_start, now, *, workers, finished, running_since, waited_s, proposal_ms, trial_ms,
                starved_s=None):
        """Idle worker capacity over the window (window_start, now]: `finished` is ``[(start, end)]`` of recent
        trials, `running_since` the start times of running ones, `waited_s` how long the loop waited for
        proposals and `starved_s` the worker-seconds free workers spent in that wait."""
        span = now - window_start
        if span <= 0:
            return
        busy = sum(_overlap(start, end, window_start, now) for start, end in finished)
        busy += sum(_overlap(start, now, window_start, now) for start in running_since)
        capacity = workers * span
        idle = max(0.0, capacity - busy)
        # while the loop waits for a proposal every worker that finishes meanwhile waits too (its result is
        # recorded, but no point is there for it): idle time in proportion to the loop's wait is starved time
        starved = max(starved_s or 0.0, idle * min(1.0, waited_s / span))
        self.on_idle(window_start, now, idle, min(idle, starved), capacity, proposal_ms, trial_ms)

    def on_idle(self, window_start, now, idle_worker_s, starved_worker_s, capacity_worker_s, proposal_ms, trial_ms):
        """Two rules over the last `idle_window_s` (or the run so far, when shorter): workers starved of
        proposals for more than `starved_above` of their capacity (over at least `starved_min_s`), and workers
        idle for any reason more than `idle_above` of it (over at least half the window)."""
        self._idle.append((window_start, now, idle_worker_s, starved_worker_s, capacity_worker_s))
        self._idle = [entry for entry in self._idle if now - entry[1] <= self.idle_window_s]
        span = now - min(entry[0] for entry in self._idle)
        capacity = sum(entry[4] for entry in self._idle)
        if capacity <= 0:
            return
        idle = sum(entry[2] for entry in self._idle) / capacity
        starved = sum(entry[3] for entry in self._idle) / capacity
        slow_optimizer = (f"the optimizer is too slow for these trials (a proposal takes {proposal_ms:.0f} ms, "
                          f"a trial {trial_ms:.0f} ms): use --strategy random, --surrogate RF or ET, or fewer --jobs")
        if span >= self.starved_min_s and starved > self.starved_above:
            self._fire("low_utilization", f"workers waited for the optimizer's next point {starved:.0%} of the "
                                          f"last {span:.0f} s: {slow_optimizer}")
        elif span >= 0.5 * self.idle_window_s and idle > self.idle_above:
            cause = slow_optimizer if starved >= 0.5 * idle else \
                "the workers wait for dispatch: trials are too short for the per-trial overhead"
            self._fire("low_utilization", f"workers were idle {idle:.0%} of the last {span:.0f} s: {cause}")

    def on_worker_lost(self, trial, error):
        self._fire("worker_lost", f"trial {trial.number} killed its worker process ({str(error)[:120]}); the pool "
                                  "was replaced and the trials beside it rerun; look for a crash or a memory blow-up "
                                  "at its parameters", trial=trial.number)

    # -- rules -------------------------------------------------------------
    def _check_failures(self, trial):
        if self._finished >= self.failure_min_finished:
            rate = self._succeeded / self._finished
            if rate < self.failure_rate_below:
                self._fire("failure_rate",
                           f"{self._finished - self._succeeded} of {self._finished} trials failed (success rate "
                           f"{rate:.0%}); the first failure was {self._first_failure}",
                           trial=trial.number)

    def _check_leak(self, trial):
        rss = self._rss_after_trial
        if len(rss) < self.leak_min_trials:
            return
        growth = rss[-1] - rss[0]
        if growth < max(self.leak_min_growth_bytes, self.leak_min_growth_fraction * rss[0]):
            return
        fit = stats.linregress(range(len(rss)), rss)
        if fit.slope > 0 and fit.pvalue < self.leak_max_p:
            self._fire("memory_leak",
                       f"memory of the kernel and its workers grew by {format_bytes(growth)} over {len(rss)} trials "
                       f"({format_bytes(fit.slope)} per trial): something outlives each trial (a global list, a "
                       "cache); --trial-memory stops a trial that grows too much", trial=trial.number)

    def _check_slowdown(self, trial):
        times = self._durations
        if len(times) < self.slowdown_min_trials:
            return
        rho, p = stats.spearmanr(range(len(times)), times)
        third = len(times) // 3
        first, last = statistics.median(times[:third]), statistics.median(times[-third:])
        if (rho > self.slowdown_min_rho and p < self.slowdown_max_p and last > self.slowdown_ratio * first
                and last - first >= self.slowdown_min_increase_s):
            self._fire("slowdown",
                       f"trials are getting slower: the median went from {first:.2g} s to {last:.2g} s over "
                       f"{len(times)} trials; the search may be moving to costlier settings, or workers are "
                       "accumulating state", trial=trial.number)


def _overlap(start, end, window_start, window_end):
    if start is None or end is None:
        return 0.0
    return max(0.0, min(end, window_end) - max(start, window_start))
