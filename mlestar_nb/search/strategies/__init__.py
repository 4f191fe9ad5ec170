"""Search strategies behind one ask/tell interface (see `base.Strategy`)."""
from ...errors import ConfigError
from ..space import grid_size
from .base import Strategy
from .bayes import SURROGATES, BayesSearch
from .grid import GridSearch
from .random_search import RandomSearch

STRATEGIES = ("auto", "bayes", "random", "grid")


def make_strategy(name, dims, *, budget, seed=None, surrogate="GP", n_initial=None):
    """Build the strategy the user asked for; 'auto' picks grid when the whole grid fits the budget."""
    if name not in STRATEGIES:
        raise ConfigError(f"unknown strategy {name!r}; use one of {', '.join(STRATEGIES)}")
    if name == "auto":
        size = grid_size(dims)
        name = "grid" if size is not None and size <= budget else "bayes"
    if name == "grid":
        return GridSearch(dims, seed=seed, budget=budget)
    if name == "random":
        return RandomSearch(dims, seed=seed)
    return BayesSearch(dims, seed=seed, surrogate=surrogate, n_initial=n_initial)


__all__ = ["Strategy", "BayesSearch", "GridSearch", "RandomSearch", "make_strategy", "STRATEGIES", "SURROGATES"]
