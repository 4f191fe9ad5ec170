"""Points <-> rows of the unit cube that the model-based strategies work in: the one place that converts.

Numbers are normalized to [0, 1] (after the log for log-uniform priors) and
categorical choices one-hot encoded, as scikit-optimize does for its Gaussian
process; integers and choices are snapped back onto their lattice. A change in
how `space.py` represents a dimension's values touches `values` and `point` only.
"""
import numpy as np
from skopt.space import Categorical, Integer, Real
from skopt.utils import normalize_dimensions

from ..space import decode_point, encode_point, to_skopt


class Encoding:
    def __init__(self, dims):
        self.dims = dims
        self.names = list(dims)
        self.space = to_skopt(dims)                                    # values as the user's points hold them
        self.unit = normalize_dimensions(to_skopt(dims).dimensions)    # the same space, encoded
        self.n_columns = self.unit.transformed_n_dims
        continuous = []
        for dim in self.unit.dimensions:
            continuous += [isinstance(dim, Real)] * dim.transformed_size
        self.continuous = np.array(continuous, dtype=bool)     # columns a local search may move freely
        self.all_real = bool(self.continuous.all())

    # -- the only conversions between a point and skopt's values ------------------------------------
    def values(self, point):
        return encode_point(self.dims, point)

    def point(self, values):
        return decode_point(self.dims, values)

    # -- points and unit rows ------------------------------------------------------------------------
    def to_unit(self, points):
        if not points:
            return np.empty((0, self.n_columns))
        return np.asarray(self.unit.transform([self.values(p) for p in points]), dtype=float)

    def from_unit(self, U):
        rows = self.unit.inverse_transform(np.clip(np.atleast_2d(U), 0.0, 1.0))
        return [self.point(row) for row in rows]

    def snap(self, U):
        """Rows moved onto the lattice of integer and categorical dimensions (real columns are only clipped)."""
        U = np.clip(np.atleast_2d(np.asarray(U, dtype=float)), 0.0, 1.0)
        if self.all_real or not len(U):
            return U
        return np.asarray(self.unit.transform(self.unit.inverse_transform(U)), dtype=float)

    def from_cube(self, Q):
        """Rows of [0, 1)^len(names) (one coordinate per dimension, e.g. a Sobol sequence) as points."""
        points = []
        for q in np.atleast_2d(Q):
            values = []
            for u, dim in zip(q, self.unit.dimensions):
                if isinstance(dim, Categorical):
                    values.append(dim.categories[min(int(u * len(dim.categories)), len(dim.categories) - 1)])
                elif isinstance(dim, Integer) and dim.prior == "uniform":  # every integer equally likely
                    values.append(int(min(dim.low + int(u * (dim.high - dim.low + 1)), dim.high)))
                elif isinstance(dim, Integer):
                    values.append(int(dim.inverse_transform([u])[0]))
                else:
                    values.append(float(dim.inverse_transform([u])[0]))
            points.append(self.point(values))
        return points
