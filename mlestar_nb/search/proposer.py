"""Points from a strategy, computed ahead in threads when asking is slow (a surrogate fit).

The proposer owns its look-ahead policy (`Plan`). It measures demand (workers /
trial time, in points per second) against the strategy's own cost (seconds per
model fit and per point) and sets how many points one fit yields (the batch), how
many points to keep ready (enough to cover the next batch's computation at the
rate workers take them, or the trials that finish together, and no more: a point
computed long before it runs ignores the results that arrived meanwhile) and how
hard each proposal may work (`Strategy.effort`): proposals may take at most
`CPU_SHARE` of a core, since the search loop needs the kernel's GIL to hand
points out and record results. Ready points made before results that add
`STALE_FRACTION` to the data are recomputed when the CPU has room. Until the
strategy's first model nothing is made ahead of need, and trials long beside
that model wait for it rather than take more of the initial design. Model upkeep
(refitting hyperparameters) runs on a second thread, so that no proposal waits
for it, and rarer, cheaper and time-boxed (`Strategy.economy`) when the CPU is
scarce (2 CPU-bound workers on 2 cores) or points are in high demand: the
workers keep their cores.

The CPU the proposer uses (`proposal_cpu_s`) and the worker-seconds lost while no
point was ready (`starved_worker_s`, which the `low_utilization` alert reads)
are counted. When a strategy names a `fallback` (`auto` does: random draws) and
demand exceeds what the strategy can make even at its cheapest, a worker that
would wait gets a fallback point instead; each one is counted and the result
says so.
"""
import collections
import math
import os
import threading
import time

CLOSE_WAIT_S = 0.5     # how long close() waits for a proposal in progress; the threads are daemons
SPARE_CPU_RATIO = 0.8  # thread CPU time / wall time of recent proposals above which the CPU counts as free
DEMAND_MARGIN = 1.5    # make points this much faster than workers take them
CPU_SHARE = 0.25       # the share of one core the proposals may take: the loop shares the kernel's GIL with them
POINT_CPU_GUESS = 0.01  # CPU seconds per point at full effort, until measured (each effort level about halves it)
PROPOSER_NICE = 10     # added to the kernel's nice value for the proposal threads (19 at most)
STALE_FRACTION = 0.05  # a ready point is stale once the results since it was made add this share to the data
FRESH_WAIT_SHARE = 0.5  # trials that finish together keep only the points that cover one batch's computation
                        # ready, and the rest wait for points made from their results, when a batch for every
                        # worker costs at most this share of a trial
FIRST_MODEL_GUESS_S = 0.25  # the first model's wait: the loop recording a round of 16 results (about 0.1 s),
                            # a hyperparameter fit with restarts (50-120 ms) and one batch (20-30 ms)
FIRST_MODEL_SHARE = 1 / 3  # workers wait for the first model, once, when it costs at most this share of a trial


class StrategyFailed(RuntimeError):
    """The strategy raised while proposing: the search stops with status 'error' and keeps its trials."""

    stop_reason = "strategy error"


class Plan:
    """How many points per fit, how many to keep ready, and how hard to work, from demand and measured cost.

    `demand` is points per second (None before any trial has finished); `cost` is
    the strategy's ``(seconds per fit, seconds per point)`` (None before the first
    fit).
    """

    def __init__(self, n_workers, max_effort):
        self.n_workers = max(1, n_workers)
        self.max_effort = max_effort
        self.batch = 1
        self.lead = 1 if n_workers > 1 else 0
        self.effort = 0
        self.outrun = False     # demand exceeds what the cheapest proposals can give

    def update(self, demand, cost, effort, burst=0, cpu_per_point=None):
        """`burst`: the most trials seen finishing within one batch's computation time (trials of equal length
        finish together: the points they need must be ready before they finish, not computed after);
        `cpu_per_point`: CPU seconds a point has cost lately."""
        if demand is None:
            self.batch, self.lead, self.effort = self.n_workers, 1, effort
            return self
        share = demand * (cpu_per_point or POINT_CPU_GUESS / 2 ** effort)   # of one core, at this demand
        if cost is None:        # no model point yet: only the CPU budget to go by
            self.batch, self.lead = self.n_workers, max(1, burst)
            self.effort = min(self.max_effort, effort + self._levels_over(share))
            return self
        fixed, per_point = cost
        self.effort = effort
        need = DEMAND_MARGIN * demand
        batch = self._batch_for(need, fixed, per_point)
        if batch is None or share > CPU_SHARE:   # too slow, or too greedy: work less per point
            self.effort = min(self.max_effort, effort + max(1, self._levels_over(share)))
            batch = batch or self.n_workers
        elif effort > 0 and share < CPU_SHARE / 4 and self._batch_for(3.0 * need, fixed, per_point) == 1:
            self.effort = effort - 1  # plenty of room: work harder on each point
        self.outrun = self.effort == self.max_effort and batch == self.n_workers and \
            self.n_workers / (fixed + per_point * self.n_workers) < demand
        self.batch = batch
        covered = math.ceil(demand * (fixed + per_point * batch)) + (1 if self.n_workers > 1 else 0)
        self.lead = min(2 * self.n_workers, max(0 if self.fresh_is_cheap(demand, cost) else burst, covered))
        return self

    def fresh_is_cheap(self, demand, cost):
        """True when a batch for every worker costs at most FRESH_WAIT_SHARE of a trial.

        Points kept ready for trials that finish together are made before those
        trials' results exist: a round behind, which costs regret (on the 8-dimensional Levy function at
        16 workers, 12.9 against 2.8 with 3 points ahead, simulated clock, docs/bayes.md). Unless trials are
        short beside a batch (at 16 workers on 2 cores, under about 0.16 s against 80 ms), only the points that
        cover one batch's computation are kept ready, and the round's other workers wait for a batch made from
        their results: at 0.2-0.5 s trials this kept utilization at 0.90-0.93 and took Levy8 at 80 evaluations
        from 10.6-11.7 to 4.5-10.2, Hartmann6 from 0.73-0.78 to 0.41-0.49 (16 workers, 16 seeds, two runs each).
        """
        fixed, per_point = cost
        return (fixed + per_point * self.n_workers) * demand <= FRESH_WAIT_SHARE * self.n_workers

    def seconds_per_batch(self, cost):
        return None if cost is None else cost[0] + cost[1] * self.batch

    @staticmethod
    def _levels_over(share):
        """Effort levels to go down for the proposals' CPU share to fit the budget (each about halves it)."""
        return max(0, math.ceil(math.log2(share / CPU_SHARE))) if share > CPU_SHARE else 0

    def _batch_for(self, need, fixed, per_point):
        """The smallest batch whose rate, batch / (fixed + per_point * batch), meets `need` points per second."""
        for batch in range(1, self.n_workers + 1):
            if batch >= need * (fixed + per_point * batch):
                return batch
        return None


class Proposer:
    """Hands out points from a strategy, computing them ahead when asking is slow."""

    def __init__(self, strategy, running_points, background, n_workers=1):
        self._strategy = strategy
        self._running_points = running_points
        self._background = background
        self._n_workers = max(1, n_workers)
        self.plan = Plan(self._n_workers, getattr(strategy, "max_effort", 0))
        self._fallback = getattr(strategy, "fallback", None)
        self._ready = collections.deque()        # (point, observations when it was made)
        self._cond = threading.Condition()
        self._error = None
        self._exhausted = False
        self._closed = False
        self._trial_seconds = collections.deque(maxlen=max(10, 2 * self._n_workers))
        self._finished_at = collections.deque(maxlen=4 * self._n_workers)
        self._cpu_ratio = 1.0
        self._cpu_per_point = None
        self._first_model_awaited_since = None
        self.asks = 0                 # points made by the strategy
        self.batches = 0              # strategy calls (one model fit each for a model-based strategy)
        self.ask_seconds = 0.0
        self.cpu_seconds = 0.0
        self.wait_seconds = 0.0
        self.starved_worker_s = 0.0
        self.refreshed = 0
        self.fallback_points = 0
        self._threads = []
        if background:
            self._start(self._fill, "mlestar-proposer")
            if strategy.has_upkeep:
                self._start(self._upkeep_loop, "mlestar-upkeep")

    def _start(self, target, name):
        thread = threading.Thread(target=_at_low_priority(target), name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    # -- figures ---------------------------------------------------------------------------------------
    @property
    def ask_ms_mean(self):
        return 1000 * self.ask_seconds / max(1, self.asks)

    @property
    def cpu_is_spare(self):
        return self._cpu_ratio >= SPARE_CPU_RATIO

    def metrics(self):
        return {"proposals": self.asks, "proposal_s_total": self.ask_seconds, "proposal_ms_mean": self.ask_ms_mean,
                "proposal_wait_s": self.wait_seconds, "proposal_cpu_s": self.cpu_seconds,
                "proposal_batches": self.batches, "proposals_refreshed": self.refreshed,
                "proposals_fallback": self.fallback_points, "starved_worker_s": self.starved_worker_s}

    # -- asking the strategy ----------------------------------------------------------------------------
    def _ask(self, n, pending, upkeep=True):
        clock, cpu = time.perf_counter(), time.thread_time()
        try:
            points = self._strategy.ask_many(n, pending, upkeep=upkeep)
        except Exception as err:
            raise StrategyFailed(f"the {self._strategy.name} strategy failed to propose a point: "
                                 f"{type(err).__name__}: {err}") from err
        wall, used = time.perf_counter() - clock, time.thread_time() - cpu
        self.ask_seconds += wall
        self.cpu_seconds += used
        if wall > 1e-3:
            self._cpu_ratio = 0.7 * self._cpu_ratio + 0.3 * min(1.0, used / wall)
        if points and self._strategy.cost is not None:      # a model's point, not an initial-design one
            per_point = used / len(points)
            old = self._cpu_per_point
            self._cpu_per_point = per_point if old is None else 0.7 * old + 0.3 * per_point
        self.asks += len(points)
        self.batches += 1
        return points

    def _fill(self):
        while True:
            with self._cond:
                while not self._closed and not self._wants_points():
                    self._cond.wait(0.02 if self._strategy.awaits_first_model else 0.25)
                if self._closed:
                    return
                made_at = self._strategy.n_observed if self._strategy.cost is not None else None
                stale = self._stale_count() if len(self._ready) > self.plan.lead else 0
                running = self._running_points()
                idle = self._n_workers - len(running) - len(self._ready)   # workers that would wait now
                # a refresh replaces the stale points; else a new batch, one for every idle worker at least
                if self._strategy.awaits_first_model:
                    batch = self._design_wanted(running)
                else:
                    batch = max(self.plan.batch, idle)
                count = stale or batch
                newest = self._strategy.n_observed
                keep = [p for p, made in self._ready if not stale or not self._is_stale(made, newest)]
                pending = running + keep
            self._adapt()
            try:
                points = self._ask(count, pending, upkeep=self._upkeep_inline())
            except StrategyFailed as err:  # handed to the loop's thread, which raises it
                with self._cond:
                    self._error = err
                    self._cond.notify_all()
                return
            with self._cond:
                if stale:
                    self._replace_stale(points, made_at)
                else:
                    self._ready.extend((p, made_at) for p in points)
                if len(points) < count:
                    self._exhausted = True
                self._cond.notify_all()
                if self._exhausted:
                    return

    def _wants_points(self):
        """Below the low-water mark, or (with CPU to spare) holding points made before the latest result;
        before the first model, as `_design_wanted` says."""
        if self._strategy.awaits_first_model:
            return self._design_wanted(self._running_points()) > 0
        if len(self._ready) <= self.plan.lead:
            return True
        within_budget = (self._cpu_per_point or 0.0) * (self._demand() or 0.0) < CPU_SHARE / 2
        return self.cpu_is_spare and within_budget and self._stale_count() > 0

    def _design_wanted(self, running):
        """While the strategy's initial design is out and its first model not fitted yet
        (`awaits_first_model`), how many more design points to make now, given the running points.

        With many workers the initial design's results come together, and every
        point asked before the first fit is more design: at 16 workers a whole
        second round, and a third made ahead while the fit runs (simulated clock,
        16 seeds, regret after 40 evaluations with one round of design against
        two: Hartmann6 1.44 against 1.65, Branin 0.19 against 0.28, docs/bayes.md).
        So nothing is made ahead: before any result no design point at all; after
        one, when a trial is long beside the first model (FIRST_MODEL_GUESS_S at
        most FIRST_MODEL_SHARE of it), none while the workers wait for the model,
        at most that share of a trial from the first worker's wait (uneven trials,
        a slow fit); otherwise one for each worker waiting now."""
        idle = self._n_workers - len(running) - len(self._ready)
        if idle <= 0:
            return 0
        if not self._trial_seconds:     # no result yet: they are coming (none running: the trials were lost)
            return 0 if running else idle
        patience = FIRST_MODEL_SHARE * sum(self._trial_seconds) / len(self._trial_seconds)
        if FIRST_MODEL_GUESS_S <= patience:
            now = time.perf_counter()
            if self._first_model_awaited_since is None:
                self._first_model_awaited_since = now
            if now - self._first_model_awaited_since < patience:
                return 0
        return idle

    def _stale_count(self):
        newest = self._strategy.n_observed
        return sum(1 for _, made in self._ready if self._is_stale(made, newest))

    @staticmethod
    def _is_stale(made, newest):
        """`made` is None for a point made before the model's first (an initial design point: nothing to redo)."""
        return made is not None and newest - made >= max(1, STALE_FRACTION * made)

    def _replace_stale(self, points, made_at):
        fresh = collections.deque((p, made) for p, made in self._ready
                                  if made_at is None or not self._is_stale(made, made_at))
        dropped = len(self._ready) - len(fresh)
        self.refreshed += min(dropped, len(points))
        fresh.extend((p, made_at) for p in points)
        self._ready = fresh

    def _adapt(self):
        """Re-plan from demand and cost; tell the strategy how hard to work and whether CPU is scarce."""
        strategy = self._strategy
        self.plan.update(self._demand(), strategy.cost, strategy.effort, self._burst(strategy.cost),
                         self._cpu_per_point)
        strategy.effort = self.plan.effort
        busy = (self._cpu_per_point or 0.0) * (self._demand() or 0.0) > CPU_SHARE / 2
        strategy.economy = busy or not self.cpu_is_spare

    def _burst(self, cost):
        """The most trials that finished within one batch's computation time of each other, lately."""
        seconds = self.plan.seconds_per_batch(cost)
        times = list(self._finished_at)
        if seconds is None or not times:
            return 0
        most, first = 0, 0
        for last, moment in enumerate(times):
            while moment - times[first] > seconds:
                first += 1
            most = max(most, last - first + 1)
        return most

    def _demand(self):
        if not self._trial_seconds:
            return None
        return self._n_workers / max(1e-3, sum(self._trial_seconds) / len(self._trial_seconds))

    def _upkeep_threaded(self):
        return len(self._threads) > 1

    def _upkeep_inline(self):
        """Refit inside the next proposal only when no upkeep thread does it (then the proposal waits for it)."""
        return not self._upkeep_threaded()

    def _upkeep_loop(self):
        """Model upkeep off the proposals' path: no proposal waits for a refit. When CPU is scarce, or points are
        in high demand (the loop then needs the kernel's GIL often), the strategy refits less often and more
        cheaply (`economy`)."""
        cpu = time.thread_time()
        while True:
            with self._cond:
                if self._closed:
                    return
                if not self._strategy.upkeep_due:
                    self._cond.wait(0.1)
                    continue
            try:
                self._strategy.upkeep()
            except Exception:   # the proposal path refits inline and reports a failure itself
                return
            finally:
                now = time.thread_time()
                self.cpu_seconds += now - cpu
                cpu = now
            with self._cond:      # a proposal may be waiting for the first model
                self._cond.notify_all()

    # -- what the loop calls ------------------------------------------------------------------------------
    def take(self, check=lambda: None):
        """The next point, or None when the strategy has no more; `check` runs while waiting (the engine's
        records the trials that finish meanwhile)."""
        if not self._background:
            points = self._ask(1, self._running_points())
            return points[0] if points else None
        clock = time.perf_counter()
        free = max(1, self._n_workers - len(self._running_points()))
        while True:
            check()     # outside the lock: it may record finished trials, which notifies this condition
            with self._cond:
                if self._ready or self._exhausted or self._error is not None or self._use_fallback():
                    break
                self._cond.wait(0.05)
        with self._cond:
            waited = time.perf_counter() - clock
            self.wait_seconds += waited
            self.starved_worker_s += waited * free
            if self._ready:
                point = self._ready.popleft()[0]
                self._cond.notify_all()
                return point
            if self._error is not None:
                raise self._error
            if self._exhausted:
                return None
        self.fallback_points += 1
        return self._fallback.ask()

    def _use_fallback(self):
        return self._fallback is not None and self.plan.outrun

    def trial_finished(self, duration):
        """Learn how fast workers consume points; a finished trial also makes ready points stale."""
        if duration is None or not self._background:
            return
        self._trial_seconds.append(duration)
        self._finished_at.append(time.perf_counter())
        with self._cond:
            self._cond.notify_all()

    def close(self):
        """Stop proposing. A proposal in progress is not waited for beyond CLOSE_WAIT_S: its point is dropped."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=CLOSE_WAIT_S)


def _at_low_priority(target):
    """Run `target` with a higher nice value (Linux threads have their own): CPU-bound workers keep their cores,
    the proposer takes what they leave."""
    def run():
        try:
            thread = threading.get_native_id()   # it starts at the kernel's nice value: add to that
            os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + PROPOSER_NICE))
        except (AttributeError, OSError):   # not Linux, or not allowed: run at the kernel's priority
            pass
        target()
    return run


def proposal_metrics(proposer):
    """The proposer's figures for `result.metrics` (zeros when the run ended before it started)."""
    if proposer is not None:
        return proposer.metrics()
    return {"proposals": 0, "proposal_s_total": 0.0, "proposal_ms_mean": 0.0, "proposal_wait_s": 0.0,
            "proposal_cpu_s": 0.0, "proposal_batches": 0, "proposals_refreshed": 0, "proposals_fallback": 0,
            "starved_worker_s": 0.0}
