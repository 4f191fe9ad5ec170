"""Fan an ablation out over the workers and rank the variants as they finish.

Every (variant, repeat, fold) unit is one task; the shared payload travels
once, tasks carry three indices. Units go out variant by variant, baseline
first, with a small window in flight (two per worker), so a free worker
always finds its next unit queued and the ranking fills in variant by variant.
Running the tasks, lost workers and Ctrl-C are the dispatcher's
(`runs.dispatch`), as for a search; listeners get ``(event, snapshot)``.
"""
import collections
import statistics
import time

from ..errors import ConfigError
from ..runs.control import Cancelled
from ..live.monitor import ResourceMonitor
from ..runs.dispatch import Dispatcher, Events
from .result import ComponentImpact, sort_ranking
from .stats import (ci_half_width, corrected_t_test, effect_size, label, repeats_to_settle, spread_of,
                    tolerance_for)
from .work import run_unit


class Study:
    """One run. Create, call `run()` once, then read `rows()` and `metrics()`."""

    def __init__(self, *, payload, units, executor, maximize=True, test_train_ratio=0.0, listeners=()):
        self.payload = payload
        self.variants = payload.variants
        self.units = list(units)
        self.executor = executor
        self.maximize = maximize
        self.test_train_ratio = test_train_ratio
        self.events = Events(listeners, self.snapshot)
        self.dispatcher = Dispatcher(executor, payload)
        count = len(self.variants)
        self.scores = [dict() for _ in range(count)]      # variant -> {(repeat, fold): score}
        self.errors = [[] for _ in range(count)]
        self.warnings = [[] for _ in range(count)]
        self.remaining = collections.Counter(unit[0] for unit in self.units)
        self.durations = []
        self.status = "running"
        self.error = None
        self.done = 0
        self.wall_s = 0.0
        self._rows = {}
        self._loop_start = None
        self.monitor = ResourceMonitor(min_interval=0.5)   # its timeline goes into the result, for reports

    @property
    def startup_s(self):
        return self.dispatcher.startup_s

    # -- the loop -------------------------------------------------------------
    def run(self):
        try:
            with self.dispatcher as dispatcher:
                self._loop_start = time.perf_counter()
                self.events.publish("start")
                try:
                    finished = self._loop(dispatcher)
                finally:
                    self.wall_s = time.perf_counter() - self._loop_start
            self.status = "completed" if finished else "stopped"
        except Cancelled:
            self.status = "stopped"
        except KeyboardInterrupt:
            self.status = "interrupted"
        except BaseException as err:
            self.status, self.error = "error", str(err)
            raise
        finally:
            self.events.publish("end")
        return self

    def _loop(self, dispatcher):
        """Run every unit; False when a stop request left some unrun."""
        pending = collections.deque(self.units)
        window = 2 * dispatcher.n_workers
        control = dispatcher.control
        while pending or dispatcher.active:
            dispatcher.check()
            while pending and control.may_start() and dispatcher.has_room(window):
                unit = pending.popleft()
                dispatcher.submit(unit, run_unit, *unit)
            self.monitor.sample()
            if not dispatcher.active:
                if control.stopping:
                    return False
                control.wait_while_paused(0.25)
                continue
            for done in dispatcher.wait(0.25):
                if done.lost is not None:
                    v, r, k = done.key
                    self._record({"variant": v, "repeat": r, "fold": k, "scores": None,
                                  "error": f"worker_lost: {done.lost}", "warnings": [], "duration": None})
                else:
                    self._record(done.outcome)
        return True

    def _record(self, outcome):
        if outcome.get("usage_error"):
            raise ConfigError(outcome["usage_error"])
        v, r, k = outcome["variant"], outcome["repeat"], outcome["fold"]
        if outcome["scores"] is not None:
            if k is not None:
                self.scores[v][(r, k)] = outcome["scores"][0]
            else:
                for j, score in enumerate(outcome["scores"]):
                    self.scores[v][(r, j)] = score
        if outcome["error"]:
            self.errors[v].append(outcome["error"])
        for text in outcome.get("warnings") or ():
            if text not in self.warnings[v] and len(self.warnings[v]) < 3:
                self.warnings[v].append(text)
        if outcome.get("duration") is not None:
            self.durations.append(outcome["duration"])
        self.remaining[v] -= 1
        self.done += 1
        self.events.publish("fit", unit={key: outcome.get(key) for key in ("variant", "repeat", "fold", "scores",
                                                                             "error", "duration")})

    # -- statistics -----------------------------------------------------------
    def cell_folds(self):
        """How many scores the cell gave per run (1: a number; more: per-fold scores)."""
        return 1 + max((j for (_, j) in self.scores[0]), default=0)

    def ratio(self):
        """n_test / n_train of the folds behind each pair, for the Nadeau-Bengio correction."""
        if self.payload.folds is not None:
            return self.test_train_ratio
        k = self.cell_folds()
        return 1.0 / (k - 1) if k >= 2 else 0.0   # the cell's own scores: assumed to be k-fold

    def identical_repeats(self):
        """True when a cell that scores itself gave the same baseline scores on every repeat.

        Its CV did not reshuffle, so the repeats are copies: counting them as
        new pairs would make the test overconfident. Only the first is used.
        """
        if self.payload.folds is not None:
            return False
        by_repeat = collections.defaultdict(list)
        for (r, _), score in sorted(self.scores[0].items()):
            by_repeat[r].append(score)
        runs = list(by_repeat.values())
        return len(runs) >= 2 and all(run == runs[0] for run in runs[1:])

    def rows(self, finished_only=False):
        base = self.scores[0]
        values = list(base.values())
        spread, tol = spread_of(values), tolerance_for(values)
        ratio, copies = self.ratio(), self.identical_repeats()
        if copies:
            base = {key: score for key, score in base.items() if key[0] == 0}
        testable = not (copies and self.cell_folds() == 1)
        rows = []
        for v, variant in enumerate(self.variants[1:], start=1):
            finished = self.remaining[v] == 0 and self.remaining[0] == 0
            if finished_only and not finished:
                continue
            if finished and v in self._rows:
                rows.append(self._rows[v])
                continue
            row = self._row(variant, self.scores[v], base, spread, tol, ratio, testable, v)
            if row is not None:
                rows.append(row)
                if finished:
                    self._rows[v] = row
        return sort_ranking(rows)

    def _row(self, variant, mine, base, spread, tol, ratio, testable, v):
        if not mine and not self.errors[v]:
            return None   # never ran (interrupted)
        keys = sorted(k for k in mine if k in base)
        diffs = [(base[k] - mine[k]) if self.maximize else (mine[k] - base[k]) for k in keys]
        delta, se, p = corrected_t_test(diffs, ratio, tol)
        if not testable:
            se = p = None
        ci = ci_half_width(se, len(keys)) if se is not None else None
        verdict = label(delta, p, spread, tol, ci)
        needed = None
        if verdict == "unclear":
            per_repeat = len(keys) / max(1, len({repeat for repeat, _ in keys}))
            needed = repeats_to_settle(delta, se, len(keys), per_repeat, ratio)
        return ComponentImpact(
            component=variant.name, kind=variant.kind,
            score=statistics.fmean(mine.values()) if mine else None, delta=delta, se=se, p_value=p,
            label=verdict, effect=effect_size(delta, spread, tol), n_pairs=len(keys),
            failed=len(self.errors[v]), detail=variant.detail,
            error=_most_common(self.errors[v]), warnings=list(self.warnings[v]), ci=ci, repeats_needed=needed)

    # -- what listeners and the result see -----------------------------------------
    def snapshot(self):
        base = list(self.scores[0].values())
        finished = sum(1 for v in range(1, len(self.variants)) if self.remaining[v] == 0)
        return {
            "kind": "ablation", "status": self.dispatcher.control.describe(self.status), "error": self.error,
            "done": self.done,
            "total": len(self.units), "running": len(self.dispatcher.running_keys()),
            "failed": sum(len(e) for e in self.errors), "workers": self.executor.n_workers,
            "elapsed_s": self._elapsed(),
            "baseline": statistics.fmean(base) if base else None,
            "variants_done": finished if self.remaining[0] == 0 else 0, "variants_total": len(self.variants) - 1,
            "ranking": [row.to_dict() for row in self.rows(finished_only=True)],
        }

    def _elapsed(self):
        if self._loop_start is None:
            return 0.0
        return self.wall_s or time.perf_counter() - self._loop_start

    def metrics(self):
        workers = self.executor.n_workers
        wall = max(1e-9, self.wall_s)
        return {
            "backend": self.executor.name, "workers": workers, "fits": self.done, "fits_planned": len(self.units),
            "failed_fits": sum(len(e) for e in self.errors), "wall_s": self.wall_s, "startup_s": self.startup_s,
            "worker_utilization": min(1.0, sum(self.durations) / (workers * wall)),
            "fit_s_median": statistics.median(self.durations) if self.durations else 0.0,
        }


def _most_common(errors):
    """The failure a user should read first: the most frequent one (the first seen on a tie)."""
    if not errors:
        return None
    counts = collections.Counter(errors)
    return max(errors, key=lambda e: (counts[e], -errors.index(e)))
