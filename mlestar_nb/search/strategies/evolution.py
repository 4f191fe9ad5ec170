"""Steady-state evolutionary search, for one objective or several.

No generation barrier: every `ask` breeds one child from the current population, and every `tell` offers the
finished point a place in it at once ((mu + 1) survival, as in steady-state NSGA-II), so a worker that finishes
gets a new child without waiting for the others. The first `population` points come from a Latin hypercube.

- Genes: each dimension is a number in [0, 1] (a real by its prior: log-uniform ones in log space; an integer by
  the cell of its value), a categorical one by its choice.
- Parents: binary tournaments. One objective: the lower loss wins. Several: the lower non-domination rank, then
  the larger crowding distance (NSGA-II). Constraints first (Deb's rule): a feasible point beats an infeasible
  one, and of two infeasible points the one that breaks its bounds less wins.
- Children: simulated binary crossover (eta 15) of the numeric genes, each categorical gene from either parent;
  then Gaussian mutation of each numeric gene with probability 1/d (at least one gene changes) with step
  `sigma` in the unit cube, a categorical gene redrawn with the same probability.
- Survival: the child joins the population, which then drops its worst member (the highest violation, else the
  last front's most crowded point, or with one objective the highest loss).
- Adaptive mutation: Rechenberg's 1/5th success rule, applied child by child as each is told (the smooth form of
  Kern et al., 2004): a child that earns a place in the population and ranks above both its parents multiplies
  sigma by exp(1/3), any other child by exp(-1/12), so sigma holds steady when one child in five succeeds, grows
  while children keep improving and shrinks as the search converges. sigma starts at 0.2 and stays within
  [0.002, 0.5]. (Counting a child as a success whenever it merely enters the population kept sigma at its
  ceiling: with crossover, half the children do; docs/multiobjective.md has the measurements.)
"""
import math
import threading

import numpy as np
from skopt.space import Categorical, Integer

from ..objectives import as_losses
from ..pareto import crowding_distance, non_dominated_sort
from ..space import plain
from .base import Strategy

SIGMA_START, SIGMA_MIN, SIGMA_MAX = 0.2, 0.002, 0.5
SUCCESS_UP, SUCCESS_DOWN = math.exp(1 / 3), math.exp(-1 / 12)   # steady when one child in five succeeds
CROSSOVER_RATE, SBX_ETA = 0.9, 15.0
RETRIES = 12


def default_population(n_dims):
    return max(8, min(32, 2 * n_dims + 4))


class _Gene:
    """One dimension in [0, 1] (numeric) or as a choice index (categorical)."""

    def __init__(self, dim):
        self.dim = dim
        self.categorical = isinstance(dim, Categorical)
        self.integer = isinstance(dim, Integer)
        self.log = getattr(dim, "prior", None) == "log-uniform"
        if self.categorical:
            self.choices = [plain(c) for c in dim.categories]
        else:
            self.low, self.high = float(dim.low), float(dim.high)
            if self.integer:
                self.low, self.high = self.low - 0.5, self.high + 0.5   # each integer owns a cell of equal width
            if self.log:
                self.low, self.high = math.log(max(self.low, 1e-300)), math.log(self.high)

    def encode(self, value):
        if self.categorical:
            return float(next(i for i, c in enumerate(self.choices) if c == value and type(c) is type(value)))
        x = math.log(value) if self.log else float(value)
        return min(1.0, max(0.0, (x - self.low) / (self.high - self.low)))

    def decode(self, u):
        if self.categorical:
            return self.choices[int(u)]
        x = self.low + min(1.0, max(0.0, u)) * (self.high - self.low)
        x = math.exp(x) if self.log else x
        if self.integer:
            return int(min(self.dim.high, max(self.dim.low, round(x) if self.log else math.floor(x + 0.5))))
        return float(min(self.dim.high, max(self.dim.low, x)))


class EvolutionSearch(Strategy):
    name = "evolution"

    def __init__(self, dims, seed=None, population=None, adaptive=True):
        super().__init__(dims, seed)
        self.genes = [_Gene(dim) for dim in dims.values()]
        self.population = int(population or default_population(len(dims)))
        self.adaptive = adaptive
        self.sigma = SIGMA_START
        self.children_told = 0
        self.successes = 0
        self._rng = np.random.default_rng(seed)
        from scipy.stats import qmc

        self._design = qmc.LatinHypercube(d=len(self.genes), seed=self._rng).random(self.population)
        self._designed = 0
        self._design_keys = set()
        self._external = 0          # points told that neither the design nor breeding proposed (resumed, enqueued)
        self._members = []          # dicts: point, genes, losses, key
        self._children = {}         # key of a child proposed and not told yet -> key of its first parent
        self._state = threading.Lock()

    # -- proposing ---------------------------------------------------------------------------------------
    def _propose(self, pending):
        taken = {_key(p) for p, _ in self.observations()} | {_key(p) for p in pending}
        with self._state:
            members = list(self._members)
            sigma = self.sigma
            # the design fills the population; points known from elsewhere (a resumed journal) take its place
            from_design = self._designed + self._external < self.population or len(members) < 2
        if from_design:
            return self._design_point(taken)
        for attempt in range(RETRIES):
            parents, genes = self._breed(members, sigma * (1.5 ** attempt))
            point = self._decode(genes)
            if _key(point) not in taken:
                with self._state:
                    self._children[_key(point)] = parents
                return point
        return self._random_point(taken)

    def _design_point(self, taken):
        while True:
            with self._state:
                if self._designed >= self.population:
                    break
                unit = self._design[self._designed]
                self._designed += 1
            point = self._decode(self._categorical_cells(unit))
            if _key(point) not in taken:
                with self._state:
                    self._design_keys.add(_key(point))
                return point
        return self._random_point(taken)

    def _random_point(self, taken):
        point = None
        for _ in range(RETRIES):
            point = self._decode(self._categorical_cells(self._rng.random(len(self.genes))))
            if _key(point) not in taken:
                break
        return point

    def _categorical_cells(self, unit):
        """A point of the unit cube with each categorical coordinate turned into a choice index."""
        genes = np.array(unit, dtype=float)
        for i, gene in enumerate(self.genes):
            if gene.categorical:
                genes[i] = min(len(gene.choices) - 1, int(genes[i] * len(gene.choices)))
        return genes

    def _decode(self, genes):
        return {name: gene.decode(u) for name, gene, u in zip(self.names, self.genes, genes)}

    # -- breeding ----------------------------------------------------------------------------------------
    def _breed(self, members, sigma):
        first = self._tournament(members)
        second = self._tournament([m for m in members if m is not first] or members)
        child = np.array(first["genes"], dtype=float)
        if self._rng.random() < CROSSOVER_RATE:
            child = self._crossover(first["genes"], second["genes"])
        return (first["key"], second["key"]), self._mutate(child, sigma)

    def _tournament(self, members):
        a, b = (members[i] for i in self._rng.choice(len(members), size=2, replace=len(members) < 2))
        return a if a["fitness"] <= b["fitness"] else b

    def _crossover(self, one, other):
        child = np.array(one, dtype=float)
        for i, gene in enumerate(self.genes):
            if self._rng.random() >= 0.5:
                continue
            if gene.categorical:
                child[i] = other[i]
                continue
            # simulated binary crossover: a child spread around the parents as a one-point crossover of bits
            u = self._rng.random()
            beta = (2 * u) ** (1 / (SBX_ETA + 1)) if u <= 0.5 else (1 / (2 * (1 - u))) ** (1 / (SBX_ETA + 1))
            low, high = sorted((one[i], other[i]))
            middle, half = (low + high) / 2, (high - low) / 2
            child[i] = middle + (beta if self._rng.random() < 0.5 else -beta) * half
        return child

    def _mutate(self, genes, sigma):
        n = len(self.genes)
        chosen = self._rng.random(n) < 1.0 / n
        if not chosen.any():
            chosen[self._rng.integers(n)] = True
        for i in np.flatnonzero(chosen):
            gene = self.genes[i]
            if gene.categorical:
                others = [c for c in range(len(gene.choices)) if c != int(genes[i])]
                if others:
                    genes[i] = float(others[self._rng.integers(len(others))])
            else:
                genes[i] = _reflect(genes[i] + sigma * self._rng.standard_normal())
        return genes

    # -- learning ----------------------------------------------------------------------------------------
    def tell(self, point, loss):
        super().tell(point, loss)
        losses = as_losses(loss)
        key = _key(point)
        member = {"point": dict(point), "genes": [g.encode(point[n]) for n, g in zip(self.names, self.genes)],
                  "losses": losses, "key": key}
        with self._state:
            self._members.append(member)
            if len(self._members) > self.population:
                self._members.remove(self._worst())
            self._rank()
            parents = self._children.pop(key, None)
            if parents is not None:
                self._adapt(self._improves(member, parents))
            elif key not in self._design_keys:
                self._external += 1

    def _improves(self, child, parent_keys):
        """The child earned a place in the population and ranks above both its parents (a parent that has left
        the population ranks below it)."""
        if not any(m is child for m in self._members):
            return False
        parents = [m for m in self._members if m["key"] in parent_keys]
        return all(child["fitness"] < parent["fitness"] for parent in parents)

    def _adapt(self, success):
        self.children_told += 1
        self.successes += success
        if self.adaptive:
            self.sigma = min(SIGMA_MAX, max(SIGMA_MIN, self.sigma * (SUCCESS_UP if success else SUCCESS_DOWN)))

    def _worst(self):
        members = self._members
        infeasible = [m for m in members if m["losses"].violation > 0]
        if infeasible:
            return max(reversed(infeasible), key=lambda m: m["losses"].violation)   # ties: the newest goes
        if len(members[0]["losses"]) == 1:
            return max(reversed(members), key=lambda m: m["losses"][0])
        last = non_dominated_sort([m["losses"] for m in members])[-1]
        crowding = crowding_distance([members[i]["losses"] for i in last])
        return members[max(zip(last, crowding), key=lambda pair: (-pair[1], pair[0]))[0]]

    def _rank(self):
        """Each member's tournament key: (infeasible, violation, rank, -crowding) or (infeasible, violation, loss)."""
        members = self._members
        feasible = [m for m in members if m["losses"].violation == 0]
        for m in members:
            m["fitness"] = (1, m["losses"].violation, 0, 0.0)
        if not feasible:
            return
        if len(feasible[0]["losses"]) == 1:
            for m in feasible:
                m["fitness"] = (0, 0.0, m["losses"][0], 0.0)
            return
        for rank, front in enumerate(non_dominated_sort([m["losses"] for m in feasible])):
            crowding = crowding_distance([feasible[i]["losses"] for i in front])
            for i, distance in zip(front, crowding):
                feasible[i]["fitness"] = (0, 0.0, rank, -distance)

    @property
    def success_rate(self):
        return self.successes / self.children_told if self.children_told else None


def _reflect(u):
    """Fold a mutated gene back into [0, 1] (reflection keeps the boundaries reachable, unlike clipping)."""
    u = abs(u) % 2.0
    return 2.0 - u if u > 1.0 else u


def _key(point):
    return tuple(sorted((k, repr(v)) for k, v in point.items()))
