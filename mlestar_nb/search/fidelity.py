"""A progressive budget: asynchronous successive halving (ASHA) over a fidelity such as epochs or rows.

``fidelity={"epochs": (3, 81)}, eta=3`` (``--fidelity epochs=3..81 --eta 3``)
gives rungs at budgets 3, 9, 27 and 81 (HIGH / eta^s, as Hyperband sets them:
the top rung is the full budget, the lowest at least LOW). Each trial runs one
configuration at one budget, bound to the fidelity's name (``params["epochs"]``).
When a worker is free, `AsyncHalving.next` looks for a configuration that ranks
in the top 1/eta of its rung and has not gone up yet, from the highest rung
down, and runs it at the next budget; otherwise the strategy proposes a new
configuration for the lowest rung. No worker ever waits for a rung to fill (Li
et al., "A System for Massively Parallel Hyperparameter Tuning", 2020).

Two rules keep the budget honest. Only trials at the full budget can be the
best, and so that a search ends with at least one, its last trials lift the
best configuration of the highest rung below the top when the trials (or the
budget, ``budget_total``) left are only just enough to carry it there; other
workers then wait rather than start configurations that could never finish.
A trial's cost is its budget, less the budget it continued from
(search/continuation.py). ``budget_total`` caps the sum of the costs.

The strategy learns from one rung: the highest with at least as many results
as its initial design (`RungStrategy`), as BOHB does; the lower rungs are only
for ranking. Cross-validation pruning (the median rule) is off with a fidelity:
halving is the pruning.
"""
import hashlib
import json
import math
import numbers
import re

from ..errors import ConfigError, expected
from .space import point_to_json
from .strategies.wrapped import StrategyWrapper

WAIT = object()          # `AsyncHalving.next`: nothing to start now, ask again when a trial ends
DEFAULT_ETA = 3
LOW_CORRELATION = 0.5    # rungs whose rankings agree less than this get a note
RESERVED = ("params", "previous")


# -- the option ----------------------------------------------------------------------------------------------
class Fidelity:
    """The budget's name, its range, the reduction factor and the rungs' budgets."""

    def __init__(self, name, low, high, eta=DEFAULT_ETA, budget_total=None):
        self.name, self.low, self.high, self.eta, self.budget_total = name, low, high, eta, budget_total
        self.integer = isinstance(low, int) and isinstance(high, int)
        steps = int(math.floor(math.log(high / low) / math.log(eta) + 1e-9))
        raw = [high / eta ** s for s in range(steps, -1, -1)]
        if self.integer:
            budgets = sorted({max(low, int(round(b))) for b in raw})
        else:
            budgets = sorted({max(float(low), float(f"{b:.12g}")) for b in raw})
        self.budgets = tuple(budgets)

    @property
    def top(self):
        return self.budgets[-1]

    def rung(self, value):
        """The rung a budget value belongs to (from a journal too), or None."""
        for index, budget in enumerate(self.budgets):
            if budget == value:
                return index
        return None

    def to_json(self):
        return {"name": self.name, "low": self.low, "high": self.high, "eta": self.eta,
                "budget_total": self.budget_total, "budgets": list(self.budgets)}

    @classmethod
    def from_json(cls, info):
        return cls(info["name"], info["low"], info["high"], info["eta"], info.get("budget_total"))


def parse_fidelity(fidelity, eta, budget_total, dims):
    """Check ``fidelity={name: (low, high)}``, `eta` and `budget_total`; return a `Fidelity` or None."""
    if fidelity is None:
        for option, value in (("eta", eta), ("budget_total", budget_total)):
            if value is not None:
                raise ConfigError(f"{option} applies to a progressive budget: add --fidelity NAME=LOW..HIGH "
                                  "(library: fidelity={'epochs': (3, 81)})")
        return None
    if isinstance(fidelity, str):
        fidelity = parse_fidelity_text(fidelity)
    if not isinstance(fidelity, dict) or len(fidelity) != 1:
        raise ConfigError(f"fidelity must name one budget and its range, {expected(repr({'epochs': (3, 81)}), fidelity)}")
    (name, bounds), = fidelity.items()
    if not isinstance(name, str) or not name.isidentifier() or name in RESERVED:
        raise ConfigError(f"the fidelity's name {name!r} must be a variable name the cell can read, other than "
                          f"{' and '.join(RESERVED)}; e.g. epochs")
    if name in dims:
        raise ConfigError(f"the fidelity '{name}' is also a name of the space: the budget is set by the schedule, "
                          f"not searched; rename one, or drop '{name}' from the space")
    if not isinstance(bounds, (tuple, list)) or len(bounds) != 2 or not all(
            isinstance(b, numbers.Real) and not isinstance(b, bool) and math.isfinite(b) for b in bounds):
        raise ConfigError(f"the fidelity '{name}' needs a range (LOW, HIGH) of numbers, got {bounds!r}; "
                          "e.g. epochs=3..81 or n_samples=0.1..1.0")
    low, high = bounds
    if low <= 0:
        raise ConfigError(f"the fidelity '{name}' starts at {low!r}; a budget must be above 0")
    if low >= high:
        raise ConfigError(f"the fidelity '{name}': LOW must be below HIGH, got {low!r}..{high!r}")
    eta = DEFAULT_ETA if eta is None else eta
    if isinstance(eta, bool) or not isinstance(eta, numbers.Real) or not math.isfinite(eta) or eta < 2:
        raise ConfigError(f"eta (the reduction factor) must be a number of at least 2, {expected('e.g. 3', eta)}")
    low, high = (int(low), int(high)) if all(isinstance(b, numbers.Integral) for b in bounds) else \
        (float(low), float(high))
    spec = Fidelity(name, low, high, int(eta) if float(eta).is_integer() else float(eta), None)
    if len(spec.budgets) < 2:
        raise ConfigError(f"the fidelity '{name}'={low}..{high} spans less than one factor of eta={eta:g}, so "
                          f"there is only one rung to run; lower LOW or eta, e.g. {name}={low}..{high * eta:g}")
    if budget_total is not None:
        if isinstance(budget_total, bool) or not isinstance(budget_total, numbers.Real) or \
                not math.isfinite(budget_total) or budget_total < high:
            raise ConfigError(f"budget_total (the cumulative budget) must be at least the full budget {high} of "
                              f"'{name}', so that one configuration can run to the end, {expected(high, budget_total)}")
        spec.budget_total = float(budget_total)
    return spec


def parse_fidelity_text(text):
    """``"epochs=3..81"`` (the magic's --fidelity) as ``{"epochs": (3, 81)}``."""
    match = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*=\s*([^.\s][^\s]*?)\s*\.\.\s*(\S+)\s*", str(text))
    if not match:
        raise ConfigError(f"--fidelity takes NAME=LOW..HIGH, e.g. epochs=3..81 or n_samples=0.1..1.0; got {text!r}")
    name, *bounds = match.groups()
    values = []
    for bound in bounds:
        try:
            values.append(int(bound) if re.fullmatch(r"[+-]?\d+", bound) else float(bound))
        except ValueError:
            raise ConfigError(f"--fidelity {text}: {bound!r} is not a number; write NAME=LOW..HIGH, "
                              "e.g. epochs=3..81") from None
    return {name: tuple(values)}


def config_key(params, name):
    """A configuration's identity (its parameters without the budget), stable across runs and resumes."""
    config = {k: v for k, v in params.items() if k != name}
    return hashlib.sha1(json.dumps(point_to_json(config), sort_keys=True).encode()).hexdigest()[:16]


def config_of(params, name):
    return {k: v for k, v in params.items() if k != name}


# -- the schedule ------------------------------------------------------------------------------------------
class AsyncHalving:
    """Which configuration runs next, at which budget; what has been spent."""

    def __init__(self, fidelity, maximize, previous=()):
        self.fidelity = fidelity
        self.maximize = maximize
        self.budgets = fidelity.budgets
        self.top = len(self.budgets) - 1
        self.results = [{} for _ in self.budgets]     # rung -> {config key: value} of complete trials
        self.promoted = [set() for _ in self.budgets]  # rung -> keys that went on to the next rung
        self.configs = {}
        self.running = {}                              # trial number -> (key, rung, reserved cost)
        self.spent = 0.0
        self.lifting = None
        self.stop_reason = None
        for trial in previous:
            self._place(trial)
            self.finished(trial)

    # -- the decision --------------------------------------------------------------------------------------
    def next(self, take, left):
        """The next trial's parameters (the budget included), `WAIT`, or None when nothing is left to start.

        `take()` gives a new configuration from the strategy; `left` is how many trials may still start."""
        job = self._lift(left)
        if job is WAIT:
            return WAIT
        job = job or self._promotion()
        if job is None:
            if not self._affordable(self.budgets[0]):
                return self._out_of_budget()
            config = take()
            if config is None:                     # the strategy is exhausted; running trials may still promote
                return WAIT if self.running else None
            return {**config, self.fidelity.name: self.budgets[0]}
        key, rung = job
        if not self._affordable(self.budgets[rung]):
            return self._out_of_budget()
        return {**self.configs[key], self.fidelity.name: self.budgets[rung]}

    def _promotion(self):
        """(key, rung) of a configuration in the top 1/eta of its rung that has not gone on, highest rung first."""
        for rung in range(self.top - 1, -1, -1):
            ranked = self._ranked(rung)
            for key in ranked[:int(len(ranked) // self.fidelity.eta)]:
                if key not in self.promoted[rung]:
                    return key, rung + 1
        return None

    def _lift(self, left):
        """While no trial has reached the full budget: once the trials or budget left are only just enough to carry
        the best configuration of the highest rung below the top there, carry it (others wait meanwhile)."""
        if self.results[self.top] or any(rung == self.top for _, rung, _ in self.running.values()):
            return None
        if self.lifting is not None:
            key = self.lifting
            if any(k == key for k, _, _ in self.running.values()):
                return WAIT
            reached = max((r for r in range(self.top) if key in self.results[r]), default=None)
            if reached is not None and key not in self.promoted[reached]:
                return key, reached + 1
            self.lifting = None           # its trial failed: choose again
        for rung in range(self.top - 1, -1, -1):
            waiting = [k for k in self._ranked(rung) if k not in self.promoted[rung]]
            if waiting:
                break
        else:
            return None
        cost = sum(self.budgets[rung + 1:])
        short_of_budget = self.fidelity.budget_total is not None and \
            self._budget_left() - self.budgets[0] < cost
        if left <= self.top - rung or short_of_budget:
            self.lifting = waiting[0]
            return waiting[0], rung + 1
        return None

    def _ranked(self, rung):
        values = self.results[rung]
        return sorted(values, key=values.get, reverse=self.maximize)

    def _budget_left(self):
        reserved = sum(cost for _, _, cost in self.running.values())
        return self.fidelity.budget_total - self.spent - reserved

    def _affordable(self, cost):
        return self.fidelity.budget_total is None or cost <= self._budget_left() + 1e-9

    def _out_of_budget(self):
        if self.running:
            return WAIT
        self.stop_reason = "budget total"
        return None

    # -- what happened ------------------------------------------------------------------------------------
    def started(self, trial):
        """Book a trial as it starts; return its step for the worker: (config key, the budget it may continue
        from or None, the budget to keep its object at for the next rung, or None at the top)."""
        key, rung = self._place(trial)
        self.running[trial.number] = (key, rung, float(self.budgets[rung]))
        return key, (self.budgets[rung - 1] if rung else None), (self.budgets[rung] if rung < self.top else None)

    def _place(self, trial):
        name = self.fidelity.name
        rung = self.fidelity.rung(trial.params.get(name))
        if rung is None:
            raise ConfigError(f"trial {trial.number} ran at {name}={trial.params.get(name)!r}, which is not one of "
                              f"the rungs {list(self.budgets)}; resume with the same --fidelity and --eta")
        key = config_key(trial.params, name)
        self.configs.setdefault(key, config_of(trial.params, name))
        if rung:
            self.promoted[rung - 1].add(key)
        return key, rung

    def finished(self, trial):
        """Book a finished trial: its cost, and its value on its rung when it completed."""
        key = config_key(trial.params, self.fidelity.name)
        rung = self.fidelity.rung(trial.params[self.fidelity.name])
        self.running.pop(trial.number, None)
        self.spent += cost(trial, self.fidelity.name)
        if trial.state == "complete":
            self.results[rung][key] = trial.value

    def counts(self, trial):
        """Only trials at the full budget can be the best."""
        return trial.params.get(self.fidelity.name) == self.fidelity.top

    def snapshot(self):
        """Per rung: (budget, complete trials, running trials), for the live views."""
        running = [rung for _, rung, _ in self.running.values()]
        return [(budget, len(self.results[r]), running.count(r)) for r, budget in enumerate(self.budgets)]


def cost(trial, name):
    """The budget a trial spent: its own, less the budget it continued from."""
    return float((trial.params.get(name) or 0) - (getattr(trial, "continued_from", None) or 0))


# -- what the strategy learns from -----------------------------------------------------------------------------
class RungStrategy(StrategyWrapper):
    """The strategy sees configurations (no budget) and learns from one rung: the highest with enough results.

    A model-based strategy starts afresh (`factory`) on that rung's results
    each time a higher rung has enough of them; the others are told every
    result (a grid so that it never proposes a configuration twice)."""

    def __init__(self, factory, fidelity):
        super().__init__(factory())
        self.factory = factory
        self.fidelity = fidelity
        self.rung = 0
        self.by_rung = [[] for _ in fidelity.budgets]
        self.learns = self.inner.name == "bayes"
        self.enough = max(2, int(getattr(self.inner, "n_initial", 2)))

    def wrap(self, strategy):
        return strategy          # a fallback proposes configurations, which need no translation

    def inward(self, point):
        return config_of(point, self.fidelity.name)

    def tell(self, point, loss):
        rung = self.fidelity.rung(point.get(self.fidelity.name))
        config = self.inward(point)
        with self._lock:
            self._observed.append((dict(point), float(loss)))
            self.by_rung[rung].append((config, float(loss)))
            higher = max(r for r, results in enumerate(self.by_rung) if r == 0 or len(results) >= self.enough)
        if not self.learns:
            self.inner.tell(config, loss)
        elif higher > self.rung and not self.inner._queued:    # start points first, from the model that has them
            self._learn_from(higher)
        elif rung == self.rung:
            self.inner.tell(config, loss)

    def _learn_from(self, rung):
        fresh = self.factory()
        for config, loss in list(self.by_rung[rung]):
            fresh.tell(config, loss)
        self.rung = rung
        self._inner = fresh


# -- what the result shows --------------------------------------------------------------------------------
def rung_table(trials, fidelity, maximize):
    """Per rung: budget, trials, complete, promoted (went on to the next rung), and the Spearman correlation of
    the scores of configurations that ran at both this rung and the next, with a note when it is low.
    `fidelity` is `Fidelity.to_json()`."""
    from scipy.stats import spearmanr

    spec = Fidelity.from_json(fidelity)
    budgets, top = spec.budgets, len(spec.budgets) - 1
    values = [{} for _ in budgets]
    counts = [0 for _ in budgets]
    keys = [set() for _ in budgets]
    for trial in trials:
        rung = spec.rung(trial.params.get(spec.name))
        if rung is None:
            continue
        counts[rung] += 1
        key = config_key(trial.params, spec.name)
        keys[rung].add(key)
        if trial.state == "complete":
            values[rung][key] = trial.value
    rows = []
    for rung, budget in enumerate(budgets):
        row = {"rung": rung, "budget": budget, "trials": counts[rung], "complete": len(values[rung]),
               "promoted": len(keys[rung] & keys[rung + 1]) if rung < top else None,
               "spearman": None, "pairs": 0, "note": None}
        if rung < top:
            both = sorted(set(values[rung]) & set(values[rung + 1]))
            row["pairs"] = len(both)
            if len(both) >= 3:
                rho = spearmanr([values[rung][k] for k in both], [values[rung + 1][k] for k in both])[0]
                row["spearman"] = None if rho != rho else float(rho)
            if row["spearman"] is not None and row["spearman"] < LOW_CORRELATION:
                row["note"] = (f"scores at {spec.name}={budget} and {spec.name}={budgets[rung + 1]} agree poorly "
                               f"(Spearman {row['spearman']:.2f} over {len(both)} configurations): the lower budget "
                               "ranks configurations unreliably; raise LOW or lower --eta")
        rows.append(row)
    return rows


def anytime_curve(trials, fidelity, maximize):
    """(cumulative budget spent, best full-budget score so far or None) after each trial, in finishing order."""
    name, top = fidelity["name"], fidelity["budgets"][-1]
    spent, best, curve = 0.0, None, []
    for trial in sorted(trials, key=lambda t: t.end or 0):
        spent += cost(trial, name)
        if trial.state == "complete" and trial.params.get(name) == top and \
                (best is None or (trial.value > best if maximize else trial.value < best)):
            best = trial.value
        curve.append((spent, best))
    return curve
