"""Results a user inspects, plots and keeps: `Trial` and `TuneResult`.

Values are plain Python types. Each result renders as text (terminal, `repr`),
as pretty text (IPython) and as HTML (Jupyter).
"""
import html
import math
import statistics
from dataclasses import asdict, dataclass, field

from .. import format as fmt
from ..results import Result, new_axes, notes_html, table_html
from .conditional import architecture
from .fidelity import anytime_curve, rung_table
from .front import FrontResult
from .space import describe, point_to_json

FINISHED_STATES = ("complete", "failed", "pruned", "timeout")


@dataclass
class Trial:
    number: int
    params: dict
    value: float = None
    state: str = "running"
    start: float = None
    end: float = None
    duration: float = None
    worker: str = None
    error: str = None
    metrics: dict = field(default_factory=dict)
    intermediate: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    output: str = None      # the last lines the trial printed (stdout and stderr)
    continued_from: float = None   # a progressive budget's trial: the budget its configuration went on from

    def to_record(self):
        """The trial as JSON can hold it: non-finite metrics (nan, inf) as the strings "nan", "inf", "-inf"."""
        record = asdict(self)
        record["params"] = point_to_json(self.params)
        record["metrics"] = {k: _finite_or_text(v) for k, v in self.metrics.items()}
        return record


def _finite_or_text(value):
    return str(value) if isinstance(value, float) and not math.isfinite(value) else value


def metric_from_record(value):
    """Undo `Trial.to_record` for one metric."""
    return float(value) if value in ("nan", "inf", "-inf") else value


@dataclass(repr=False)
class TuneResult(FrontResult, Result):
    name: str
    direction: str                 # "maximize" or "minimize"
    strategy: str
    space: dict                    # name -> skopt Dimension
    trials: list
    status: str                    # completed | stopped | interrupted | error
    stop_reason: str = None        # budget | patience | target | timeout | grid exhausted | interrupt
    metrics: dict = field(default_factory=dict)
    journal_path: str = None
    notes: list = field(default_factory=list)
    alerts: list = field(default_factory=list)     # alerts.Alert
    error: str = None              # what stopped a search with status "error"
    # the run's resource timeline, [time, CPU %, memory used fraction, RSS bytes] per sample (for reports)
    resources: list = field(default_factory=list, compare=False)
    # what the trials ran (objective, data, cv, scoring, seed: a `trial.SearchPayload`), so that `save()` can
    # refit the best estimator; kept in memory only, never in the journal
    payload: object = field(default=None, compare=False)
    # a progressive budget (fidelity.Fidelity.to_json()): only trials at its full budget can be the best
    fidelity: dict = None
    # several objectives (search/front.py): their `objectives.ObjectiveSpec`, and the rule `best_trial` follows
    objectives: object = None
    selection: object = field(default=None, compare=False)

    @property
    def kind(self):
        """"search", or "multiobjective" for a search with objectives (its report adds the front)."""
        return "search" if self.objectives is None else "multiobjective"

    @property
    def maximize(self):
        return self.direction == "maximize"

    def interrupted_late(self):
        super().interrupted_late()
        self.stop_reason = "interrupt"

    @property
    def completed_trials(self):
        return [t for t in self.trials if t.state == "complete"]

    def counts(self, trial):
        """Whether a trial can be the best: completed, and with a progressive budget, at the full budget."""
        return trial.state == "complete" and (self.fidelity is None or
                                              trial.params.get(self.fidelity["name"]) == self.fidelity["budgets"][-1])

    @property
    def best_trial(self):
        """The completed trial with the best score (with a progressive budget, among full-budget trials); with
        objectives, the one the selection rule picks from the front (the knee unless `select` chose another rule)."""
        if self.objectives is not None:
            return self.selected
        done = [t for t in self.trials if self.counts(t)]
        if not done:
            return None
        pick = max if self.maximize else min
        return pick(done, key=lambda t: t.value)

    @property
    def best_params(self):
        best = self.best_trial
        return dict(best.params) if best else None

    @property
    def best_score(self):
        best = self.best_trial
        return best.value if best else None

    def best_so_far(self):
        """The best completed score after each finished trial, in finishing order."""
        best, out = None, []
        better = (lambda a, b: a > b) if self.maximize else (lambda a, b: a < b)
        for trial in sorted(self.trials, key=lambda t: t.end or 0):
            if self.counts(trial) and (best is None or better(trial.value, best)):
                best = trial.value
            out.append(best)
        return out

    def _frame(self):
        rows = []
        names = list(self.space) + list(dict.fromkeys(k for t in self.trials for k in t.params if k not in self.space))
        for t in self.trials:
            row = {"number": t.number, "value": t.value, "state": t.state}
            row.update({f"param_{k}": t.params.get(k) for k in names})   # None (empty) where a parameter was inactive
            row.update(duration=t.duration, start=t.start, end=t.end, worker=t.worker, error=t.error)
            objectives = self.objectives.names if self.objectives is not None else ()
            row.update({f"metric_{k}": v for k, v in t.metrics.items() if k not in objectives})
            if self.objectives is not None:
                row.update(self._objective_columns(t))
            rows.append(row)
        return rows, "number"

    def plot_convergence(self, ax=None):
        """Every trial's score and the best-so-far line; returns the matplotlib Axes."""
        ax = new_axes(ax, (6, 3.5))
        ordered = sorted(self.trials, key=lambda t: t.end or 0)
        xs = list(range(1, len(ordered) + 1))
        for state, style in (("complete", dict(color="tab:blue", alpha=0.6)),
                             ("pruned", dict(color="tab:gray", alpha=0.5, marker="x"))):
            pts = [(x, t.value) for x, t in zip(xs, ordered) if t.state == state]
            if pts:
                ax.scatter(*zip(*pts), s=14, label=state, **style)
        best = self.best_so_far()
        ax.step(xs, [b if b is not None else float("nan") for b in best], where="post",
                color="tab:orange", label="best so far")
        ax.set_xlabel("trial (in finishing order)")
        ax.set_ylabel("score" + (" (higher is better)" if self.maximize else " (lower is better)"))
        ax.set_title(f"{self.name}: convergence")
        ax.legend(loc="best", fontsize="small")
        return ax

    def plot(self, ax=None):
        """The convergence plot; with several objectives, the front (`plot_pareto`)."""
        if self.objectives is not None and self.objectives.multi:
            return self.plot_pareto(ax)
        return self.plot_convergence(ax)

    # -- a progressive budget, and architectures -----------------------------------------------------------
    @property
    def rungs(self):
        """Per rung of a progressive budget: budget, trials, complete, promoted, and the Spearman correlation of
        scores with the next rung (`pairs` configurations ran at both), with a note when it is low; None without
        a fidelity."""
        return None if self.fidelity is None else rung_table(self.trials, self.fidelity, self.maximize)

    def anytime(self):
        """[(cumulative budget spent, best full-budget score so far)] after each trial, in finishing order."""
        if self.fidelity is None:
            return [(float(i), best) for i, best in enumerate(self.best_so_far(), 1)]
        return anytime_curve(self.trials, self.fidelity, self.maximize)

    @property
    def budget_spent(self):
        curve = self.anytime()
        return curve[-1][0] if curve else 0.0

    def plot_anytime(self, ax=None):
        """The best full-budget score against the cumulative budget spent; returns the matplotlib Axes."""
        ax = new_axes(ax, (6, 3.5))
        curve = [(spent, best) for spent, best in self.anytime() if best is not None]
        if curve:
            xs, ys = zip(*curve)
            ax.step(xs, ys, where="post", color="tab:orange", marker="o", markersize=3)
        what = f"cumulative {self.fidelity['name']}" if self.fidelity else "trials"
        ax.set_xlabel(f"budget spent ({what})")
        ax.set_ylabel("best full-budget score" if self.fidelity else "best score")
        ax.set_title(f"{self.name}: anytime performance")
        return ax

    @property
    def best_architecture(self):
        """For a space with per-layer parameters: the best trial's depth and per-layer values, and `parameters`,
        the dense network's weight count when the search had --data (else None); None without per-layer
        parameters."""
        data = self.payload.data if self.payload is not None else None
        return architecture(self.space, self.best_params, data)

    def _budget_lines(self):
        lines = []
        if self.fidelity is not None:
            rows = self.rungs
            name = self.fidelity["name"]
            parts = [f"{r['budget']:g}: {r['trials']}" + (f" -> {r['promoted']} on" if r["promoted"] is not None
                                                          else "") for r in rows]
            lines.append(f"  rungs ({name}): " + ", ".join(parts))
            configs = rows[0]["trials"]
            full = configs * self.fidelity["budgets"][-1]
            if full:
                lines.append(f"  budget spent {self.budget_spent:g} {name}, {self.budget_spent / full:.0%} of running "
                             f"its {configs} configurations at the full budget ({full:g})")
            lines.extend(f"  note: {r['note']}" for r in rows if r["note"])
        shape = self.best_architecture
        if shape:
            weights = shape.get("parameters")
            lines.append("  best architecture: " + fmt.params({k: v for k, v in shape.items() if k != "parameters"})
                         + (f" ({weights:,} weights)" if weights else ""))
        return lines

    def _counts(self):
        counts = {}
        for t in self.trials:
            counts[t.state] = counts.get(t.state, 0) + 1
        return counts

    def _status_line(self):
        line = self.status
        if self.error:
            line += f" ({self.error})"
        elif self.stop_reason and self.stop_reason != "budget":
            line += f" ({self.stop_reason})"
        return line

    def summary_lines(self):
        counts = self._counts()
        parts = [f"{counts.get(s, 0)} {s}" for s in FINISHED_STATES if counts.get(s)]
        lines = [f"TuneResult '{self.name}': {self._status_line()}, {len(self.trials)} trials "
                 f"({', '.join(parts) or 'none finished'}), strategy {self.strategy}, "
                 + (self.direction if self.objectives is None else "several objectives")]
        if self.objectives is not None:
            lines.extend(self._front_lines())
        elif self.best_trial is not None:
            lines.append(f"  best score {self.best_score:.6g} (trial {self.best_trial.number})")
            lines.append("  best params " + fmt.params(self.best_params))
        else:
            lines.append("  no trial completed")
        m = self.metrics
        if m:
            lines.append(
                f"  {m.get('workers', '?')} {m.get('backend', '')} workers, wall {m.get('wall_s', 0):.1f} s, "
                f"worker utilization {m.get('worker_utilization', 0):.0%}, "
                f"success rate {_share(m.get('success_rate'))}, "
                f"median trial {m.get('trial_s_median', 0):.3g} s"
            )
        errors = [t for t in self.trials if t.state == "failed" and t.error]
        if errors:
            lines.append(f"  first failure (trial {errors[0].number}): {errors[0].error}")
        warned = [t for t in self.trials if t.warnings]
        if warned:
            lines.append(f"  {len(warned)} trial(s) raised warnings, e.g. {warned[0].warnings[0]}")
        printed = [t for t in self.trials if t.output]
        if printed:
            lines.append(f"  {len(printed)} trial(s) printed output, kept on trial.output (the last lines of each)")
        lines.extend(self._budget_lines())
        lines.extend(f"  alert [{a.kind}]: {a.message}" for a in self.alerts)
        lines.extend(f"  note: {n}" for n in self.notes)
        return lines

    def _html(self):
        colour = {"completed": "#2e7d32", "stopped": "#1565c0", "interrupted": "#ef6c00", "error": "#c62828"}
        head = (f"<b>TuneResult '{html.escape(self.name)}'</b> "
                f"<span style='color:{colour.get(self.status, '#444')}'>{html.escape(self._status_line())}</span>")
        rows = [[str(t.number), fmt.score(t.value, 4), t.state, html.escape(fmt.params(t.params)),
                 fmt.score(t.duration, 3)] for t in self.top_trials(5)]
        m = self.metrics
        facts = [f"{len(self.trials)} trials", f"strategy {self.strategy}", self.direction]
        if m:
            facts += [f"wall {m.get('wall_s', 0):.1f} s", f"worker utilization {m.get('worker_utilization', 0):.0%}",
                      f"success rate {_share(m.get('success_rate'))}"]
        space = html.escape("; ".join(describe(self.space)))
        best = ""
        if self.best_trial is not None:
            best = (f"<div>best score <b>{self.best_score:.6g}</b> with "
                    f"<code>{html.escape(repr(self.best_params))}</code></div>")
        budget = "".join(f"<div>{html.escape(line.strip())}</div>" for line in self._budget_lines())
        if self.objectives is not None:
            return (f"{head}<div>{' · '.join(facts)}</div><div style='color:#666'>space: {space}</div>"
                    + self._front_html() + notes_html(self.notes, self.alerts))
        return (f"{head}<div>{' · '.join(facts)}</div>{best}{budget}<div style='color:#666'>space: {space}</div>"
                + table_html(["trial", "score", "state", "params", "seconds"], rows)
                + notes_html(self.notes, self.alerts))

    def top_trials(self, n=5):
        done = [t for t in self.trials if self.counts(t)]
        return sorted(done, key=lambda t: t.value, reverse=self.maximize)[:n]


def _share(value):
    return fmt.MISSING if value is None else f"{value:.0%}"


def summarize_durations(trials):
    durations = [t.duration for t in trials if t.duration is not None]
    if not durations:
        return {"trial_s_mean": 0.0, "trial_s_median": 0.0}
    return {"trial_s_mean": statistics.fmean(durations), "trial_s_median": statistics.median(durations)}
