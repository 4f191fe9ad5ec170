"""Search strategies behind one ask/tell interface (see `base.Strategy`)."""
from ...errors import ConfigError
from ..conditional import Structure, is_structured
from ..space import grid_size
from .base import Strategy
from .bayes import SURROGATES, BayesSearch
from .evolution import EvolutionSearch
from .grid import GridSearch
from .random_search import RandomSearch
from .scalarized import ScalarizedSearch
from .wrapped import StructuredStrategy, StrategyWrapper

STRATEGIES = ("auto", "bayes", "random", "grid", "evolution")


def make_strategy(name, dims, *, budget, seed=None, surrogate="GP", n_initial=None, objectives=None):
    """Build the strategy the user asked for.

    'auto' picks grid when the whole grid fits the budget, else bayes, whose points
    random draws may stand in for when workers take points faster than the model can
    make them even at its cheapest (docs/bayes.md says when; the result counts them).
    A conditional space's grid lists each configuration once; the other strategies
    search its flat layout through a `StructuredStrategy` (search/conditional.py).

    With `objectives` (an ObjectiveSpec) the strategy is told `Losses` vectors: bayes then scalarizes them for each
    proposal (`ScalarizedSearch`), evolution ranks them by non-domination; random and grid ignore them.
    """
    if name not in STRATEGIES:
        raise ConfigError(f"unknown strategy {name!r}; use one of {', '.join(STRATEGIES)}")
    chosen = name
    if name == "auto":
        size = grid_size(dims, limit=budget)
        chosen = "grid" if size is not None and size <= budget else "bayes"
    if chosen == "grid":
        return GridSearch(dims, seed=seed, budget=budget)
    structure = Structure(dims) if is_structured(dims) else None
    flat = structure.flat if structure is not None else dims
    if chosen == "random":
        strategy = RandomSearch(flat, seed=seed)
    elif chosen == "evolution":
        strategy = EvolutionSearch(flat, seed=seed)
    else:
        if objectives is not None:
            strategy = ScalarizedSearch(flat, lambda inner_seed: BayesSearch(flat, seed=inner_seed,
                                                                             surrogate=surrogate,
                                                                             n_initial=n_initial),
                                        seed=seed, surrogate=str(surrogate).upper())
        else:
            strategy = BayesSearch(flat, seed=seed, surrogate=surrogate, n_initial=n_initial)
        if name == "auto":
            strategy.fallback = RandomSearch(flat, seed=None if seed is None else seed + 1)
    return strategy if structure is None else StructuredStrategy(strategy, structure)


__all__ = ["Strategy", "BayesSearch", "EvolutionSearch", "GridSearch", "RandomSearch", "ScalarizedSearch",
           "StrategyWrapper", "StructuredStrategy",
           "make_strategy", "STRATEGIES", "SURROGATES"]
