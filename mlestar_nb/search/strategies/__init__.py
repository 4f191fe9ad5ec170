"""Search strategies behind one ask/tell interface (see `base.Strategy`)."""
from ...errors import ConfigError
from ..space import grid_size
from .base import Strategy
from .bayes import SURROGATES, BayesSearch
from .evolution import EvolutionSearch
from .grid import GridSearch
from .random_search import RandomSearch
from .scalarized import ScalarizedSearch

STRATEGIES = ("auto", "bayes", "random", "grid", "evolution")


def make_strategy(name, dims, *, budget, seed=None, surrogate="GP", n_initial=None, objectives=None):
    """Build the strategy the user asked for.

    'auto' picks grid when the whole grid fits the budget, else bayes, whose points
    random draws may stand in for when workers take points faster than the model can
    make them even at its cheapest (docs/bayes.md says when; the result counts them).

    With `objectives` (an ObjectiveSpec) the strategy is told `Losses` vectors: bayes then scalarizes them for each
    proposal (`ScalarizedSearch`), evolution ranks them by non-domination; random and grid ignore them.
    """
    if name not in STRATEGIES:
        raise ConfigError(f"unknown strategy {name!r}; use one of {', '.join(STRATEGIES)}")
    chosen = name
    if name == "auto":
        size = grid_size(dims)
        chosen = "grid" if size is not None and size <= budget else "bayes"
    if chosen == "grid":
        return GridSearch(dims, seed=seed, budget=budget)
    if chosen == "random":
        return RandomSearch(dims, seed=seed)
    if chosen == "evolution":
        return EvolutionSearch(dims, seed=seed)
    if objectives is not None:
        bayes = ScalarizedSearch(dims, lambda inner_seed: BayesSearch(dims, seed=inner_seed, surrogate=surrogate,
                                                                      n_initial=n_initial),
                                 seed=seed, surrogate=str(surrogate).upper())
    else:
        bayes = BayesSearch(dims, seed=seed, surrogate=surrogate, n_initial=n_initial)
    if name == "auto":
        bayes.fallback = RandomSearch(dims, seed=None if seed is None else seed + 1)
    return bayes


__all__ = ["Strategy", "BayesSearch", "EvolutionSearch", "GridSearch", "RandomSearch", "ScalarizedSearch",
           "make_strategy", "STRATEGIES", "SURROGATES"]
