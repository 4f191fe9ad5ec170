"""Random search: independent draws from the space's priors."""
import numpy as np

from ..space import decode_point, to_skopt
from .base import Strategy


class RandomSearch(Strategy):
    name = "random"

    def __init__(self, dims, seed=None):
        super().__init__(dims, seed)
        self._space = to_skopt(dims)
        self._rng = np.random.RandomState(seed)

    def _propose(self, pending):
        values = self._space.rvs(n_samples=1, random_state=self._rng)[0]
        return decode_point(self.dims, values)
