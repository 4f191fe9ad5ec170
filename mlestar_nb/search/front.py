"""The Pareto front of a search with several objectives: on the result (`FrontResult`) and, while it runs, in the
search's snapshot (`FrontTracker`).

The front holds the feasible trials (every constraint holds) that no other feasible trial dominates. Infeasible
trials stay on the record, marked, and never reach the front. `select` picks one trial from it by a rule
(`search.selection`); `best_trial`, `best_params`, `save()` and ``--apply`` follow the rule picked last, the
knee unless another was chosen.
"""
from dataclasses import dataclass, field

from .. import format as fmt
from ..errors import ConfigError
from .objectives import reference_values
from .pareto import dominates, hypervolume, non_dominated
from .selection import choose, describe_rule, parse_rule

REFERENCE_MARGIN = 0.1   # a derived reference lies this share of the feasible range beyond the worst values


@dataclass(frozen=True)
class Hypervolume:
    """The volume the front dominates up to `reference` (one value per objective, in its own units and direction),
    and its `history` after each finished trial (in finishing order). `derived`: the reference was taken from
    the trials (their worst feasible values, 10 % of the range beyond), not given."""

    value: float
    reference: dict
    history: list = field(default_factory=list)
    derived: bool = True

    def __float__(self):
        return float(self.value)

    def __repr__(self):
        where = ", ".join(f"{k}={fmt.value(v)}" for k, v in self.reference.items())
        how = "derived from the trials" if self.derived else "given"
        return f"Hypervolume {self.value:.6g} against the reference ({where}; {how}), history of {len(self.history)}"


class FrontResult:
    """The multi-objective half of `TuneResult` (which holds `objectives`, an ObjectiveSpec or None, and
    `selection`, the rule in force)."""

    # -- the front -----------------------------------------------------------------------------------
    @property
    def feasible_trials(self):
        spec = self.objectives
        return [t for t in self.trials if t.state == "complete" and spec.values(t) is not None and spec.feasible(t)]

    @property
    def infeasible_trials(self):
        spec = self.objectives
        return [t for t in self.trials if t.state == "complete" and spec.values(t) is not None
                and not spec.feasible(t)]

    @property
    def pareto(self):
        """The feasible non-dominated trials, best first by the first objective."""
        self._require_objectives("pareto")
        key = (len(self.trials), id(self.trials[-1]) if self.trials else None)
        cached = self.__dict__.get("_pareto_cache")
        if cached is None or cached[0] != key:
            feasible = self.feasible_trials
            front = [feasible[i] for i in non_dominated([self.objectives.losses(t) for t in feasible])]
            front.sort(key=lambda t: (tuple(self.objectives.losses(t)), t.number))
            self.__dict__["_pareto_cache"] = cached = (key, front)
        return list(cached[1])

    def on_front(self, trial):
        return any(t.number == trial.number for t in self.pareto)

    # -- one trial -------------------------------------------------------------------------------------
    def select(self, rule="knee"):
        """Pick one trial of the front by `rule` and make it the result's choice: `best_trial`, `best_params`,
        `save()`, the report and the plot's mark follow it. Rules: "knee", {"weights": {name: w}},
        {"cheapest_within": tol} (the cheapest trial whose score is within tol of the best), or a function that
        takes the front (a list of Trial) and returns one of them. Returns the Trial (None: no feasible trial)."""
        self._require_objectives("select()")
        rule = parse_rule(rule, self.objectives)
        picked = choose(rule, self.pareto, self.feasible_trials, self.objectives)
        self.selection = rule
        return picked

    @property
    def selected(self):
        """The trial the rule in force picks (the knee unless `select` chose another rule)."""
        return choose(self.selection, self.pareto, self.feasible_trials, self.objectives)

    # -- hypervolume -------------------------------------------------------------------------------------
    @property
    def hypervolume(self):
        """`Hypervolume` of the front and its history, against the reference given to tune() or else derived."""
        self._require_objectives("hypervolume")
        return self.hypervolume_against(None)

    def hypervolume_against(self, reference):
        """`Hypervolume` against `reference` ({objective: value}); None: the search's own reference."""
        spec = self.objectives
        if reference is not None:
            losses_ref, derived = reference_values(reference, spec), False
        elif spec.reference is not None:
            losses_ref, derived = spec.reference, False
        else:
            losses_ref, derived = None, True
        if losses_ref is not None:
            losses_ref = [o.loss(v) for o, v in zip(spec.objectives, losses_ref)]
        else:
            losses_ref = derived_reference([spec.losses(t) for t in self.feasible_trials], len(spec.names))
        history, running = [], []
        for trial in sorted(self.trials, key=lambda t: t.end or 0):
            if trial.state == "complete" and spec.values(trial) is not None and spec.feasible(trial):
                running.append(tuple(spec.losses(trial)))
                running = [running[i] for i in non_dominated(running)]
            history.append(hypervolume(running, losses_ref) if running else 0.0)
        reference = {o.name: o.loss(v) for o, v in zip(spec.objectives, losses_ref)}   # back to its own direction
        return Hypervolume(value=history[-1] if history else 0.0, reference=reference, history=history,
                           derived=derived)

    # -- drawing and text --------------------------------------------------------------------------------
    def plot_pareto(self, ax=None):
        """Two objectives: every trial (dominated grey, infeasible crossed, the front joined, the selected trial
        starred). More: parallel coordinates of the objectives. Returns the matplotlib Axes."""
        from ..results import new_axes
        from .pareto_views import draw_front

        self._require_objectives("plot_pareto()")
        if not self.objectives.multi:
            raise ConfigError("this search has one objective, so no front to draw; plot_convergence() draws its "
                              "history")
        ax = new_axes(ax, (6, 4) if len(self.objectives.names) == 2 else (7, 4))
        draw_front(ax, front_points(self))
        ax.set_title(f"{self.name}: Pareto front ({len(self.pareto)} of {len(self.trials)} trials)")
        return ax

    def _front_lines(self):
        spec = self.objectives
        lines = [f"  objectives {spec.describe()}"]
        front = self.pareto
        lines.append(f"  front: {len(front)} trial(s) of {len(self.feasible_trials)} feasible"
                     + (f", {len(self.infeasible_trials)} infeasible" if spec.constraints else ""))
        picked = self.selected
        if picked is not None:
            lines.append(f"  selected ({describe_rule(self.selection)}): trial {picked.number}, "
                         + objective_text(spec, picked))
            lines.append("  selected params " + fmt.params(picked.params))
        else:
            lines.append("  no feasible trial" if self.completed_trials else "  no trial completed")
        if spec.multi and front:
            lines.append(f"  hypervolume {self.hypervolume.value:.6g}")
        return lines

    def _front_html(self):
        import html

        from ..results import table_html

        spec = self.objectives
        picked = self.selected
        rows = [[("&#9733; " if picked is not None and t.number == picked.number else "") + str(t.number)]
                + [fmt.score(spec.values(t)[n], 5) for n in spec.names] + [html.escape(fmt.params(t.params))]
                for t in self.pareto[:12]]
        head = (f"<div>objectives {html.escape(spec.describe())}; front of {len(self.pareto)} trial(s)"
                + (f"; selected ({html.escape(describe_rule(self.selection))}): trial {picked.number}"
                   if picked is not None else "") + "</div>")
        return head + table_html(["trial"] + [html.escape(str(o)) for o in spec.objectives] + ["params"], rows)

    def _objective_columns(self, trial):
        spec = self.objectives
        values = spec.values(trial) or {}
        columns = {name: values.get(name) for name in spec.names}
        columns["feasible"] = trial.state == "complete" and bool(values) and spec.feasible(trial)
        columns["on_front"] = self.on_front(trial)
        return columns

    def _require_objectives(self, what):
        if self.objectives is None:
            raise ConfigError(f"{what} needs a search with several objectives: run it with --objectives "
                              "(objectives= in tune())")


def objective_text(spec, trial):
    values = spec.values(trial) or {}
    return ", ".join(f"{name} {fmt.score(values.get(name), 5)}" for name in spec.names)


def derived_reference(losses, dims):
    """The worst feasible loss of each objective, pushed out by 10 % of its range (so the worst points still
    count), or 1 beyond when every trial has the same value."""
    if not losses:
        return [0.0] * dims
    worst = [max(l[i] for l in losses) for i in range(dims)]
    best = [min(l[i] for l in losses) for i in range(dims)]
    return [w + (REFERENCE_MARGIN * (w - b) if w > b else max(abs(w) * REFERENCE_MARGIN, 1e-9))
            for w, b in zip(worst, best)]


def front_points(result_or_tracker):
    """What a front drawing needs, as plain lists: from a finished result or a live snapshot's "front"."""
    if isinstance(result_or_tracker, dict):
        return result_or_tracker
    result = result_or_tracker
    spec = result.objectives
    front = {t.number for t in result.pareto}
    picked = result.selected
    points = {"names": spec.names, "directions": [o.direction for o in spec.objectives], "front": [],
              "dominated": [], "infeasible": [], "selected": picked.number if picked is not None else None}
    for trial in result.trials:
        values = spec.values(trial) if trial.state == "complete" else None
        if values is None:
            continue
        row = [values[n] for n in spec.names]
        if not spec.feasible(trial):
            points["infeasible"].append(row)
        elif trial.number in front:
            points["front"].append({"number": trial.number, "values": row, "params": dict(trial.params)})
        else:
            points["dominated"].append(row)
    points["front"].sort(key=lambda p: p["values"][0])
    return points


class FrontTracker:
    """Keeps the front of a running search up to date, one finished trial at a time, for its snapshot."""

    def __init__(self, spec, rule=None):
        self.spec = spec
        self.rule = rule
        self._seen = 0
        self._front = []         # trials
        self._dominated = []     # value rows, in the user's directions
        self._infeasible = []

    def snapshot(self, trials):
        """The snapshot's "front": names, directions, front (number, values, params), dominated and infeasible
        value rows, selected (the trial the rule picks now) and feasible (how many)."""
        for trial in trials[self._seen:]:
            self._add(trial)
        self._seen = len(trials)
        spec = self.spec
        picked = None
        if self._front:
            try:
                picked = choose(self.rule, self._front, self._front, spec)
            except Exception:   # a user's selection function that fails on a partial front: no mark yet
                picked = None
        return {"names": spec.names, "directions": [o.direction for o in spec.objectives],
                "front": [{"number": t.number, "values": _row(spec, t), "params": dict(t.params)}
                          for t in sorted(self._front, key=lambda t: tuple(spec.losses(t)))],
                "dominated": list(self._dominated), "infeasible": list(self._infeasible),
                "selected": picked.number if picked is not None else None,
                "feasible": len(self._front) + len(self._dominated)}

    def _add(self, trial):
        spec = self.spec
        if trial.state != "complete" or spec.values(trial) is None:
            return
        if not spec.feasible(trial):
            self._infeasible.append(_row(spec, trial))
            return
        losses = spec.losses(trial)
        if any(dominates(spec.losses(t), losses) for t in self._front):
            self._dominated.append(_row(spec, trial))
            return
        kept = []
        for member in self._front:
            if dominates(losses, spec.losses(member)):
                self._dominated.append(_row(spec, member))
            else:
                kept.append(member)
        self._front = kept + [trial]


def _row(spec, trial):
    values = spec.values(trial)
    return [values[n] for n in spec.names]

