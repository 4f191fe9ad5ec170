"""Grid search over an all-discrete space.

When the grid is larger than the budget, its points are visited in a seeded
random order, so that a partial grid still covers the space evenly.
"""
import random

from ...errors import ConfigError
from ..space import continuous_names, grid_points, grid_size
from .base import Strategy

GRID_LIMIT = 1_000_000


class GridSearch(Strategy):
    name = "grid"

    def __init__(self, dims, seed=None, budget=None):
        super().__init__(dims, seed)
        size = grid_size(dims, limit=GRID_LIMIT)
        if size is None:
            raise ConfigError(
                f"grid search needs an all-discrete space, but {', '.join(continuous_names(dims))} "
                "is continuous; give it a list of values or use --strategy bayes"
            )
        if size > GRID_LIMIT:
            raise ConfigError(f"the grid has {size} points (over {GRID_LIMIT}); use --strategy bayes or random")
        self.size = size
        points = list(grid_points(dims))
        if budget is not None and budget < size:
            random.Random(seed).shuffle(points)
        self._points = points
        self._next = 0

    def _propose(self, pending):
        seen = {_key(p) for p, _ in self.observations()} | {_key(p) for p in pending}
        while self._next < len(self._points):
            point = self._points[self._next]
            self._next += 1
            if _key(point) not in seen:
                return dict(point)
        return None

    @property
    def exhausted(self):
        return self._next >= len(self._points)


def _key(point):
    return tuple(sorted((k, repr(v)) for k, v in point.items()))
