"""Bayesian optimization with a scikit-optimize surrogate.

Each proposal fits one fresh `skopt.Optimizer` on every finished trial plus the
running ones, which are told the best loss seen so far (the constant liar,
"cl_min"): one surrogate fit per point, where skopt's own `ask(n_points=k)`
refits k + 1 times. The first `n_initial` points come from a seeded random
design and cost nothing.
"""
import warnings

import numpy as np
from skopt import Optimizer
from skopt.learning import GradientBoostingQuantileRegressor
from skopt.utils import cook_estimator
from skopt.learning.gaussian_process.kernels import Sum, WhiteKernel

from ...errors import ConfigError
from ..space import decode_point, encode_point, to_skopt
from .base import Strategy

SURROGATES = ("GP", "RF", "ET", "GBRT")
FULL_GP_FIT_EVERY = 5
ACQ_OPTIMIZER_KWARGS = {"n_points": 4000, "n_restarts_optimizer": 3}


class BayesSearch(Strategy):
    name = "bayes"

    def __init__(self, dims, seed=None, surrogate="GP", n_initial=None, acq_func="EI"):
        super().__init__(dims, seed)
        surrogate = str(surrogate).upper()
        if surrogate not in SURROGATES:
            raise ConfigError(f"unknown surrogate {surrogate!r}; use one of {', '.join(SURROGATES)}")
        self.surrogate = surrogate
        self.acq_func = acq_func
        self._space = to_skopt(dims)
        self._model_dims = to_skopt(dims).dimensions
        self.n_initial = max(1, int(n_initial if n_initial is not None else min(10, 2 * len(dims) + 2)))
        self._rng = np.random.RandomState(seed)
        self._asked = 0
        self._warm_kernel = None
        self._gp_fits = 0

    @property
    def is_costly(self):
        return True

    def _propose(self, pending):
        observed = self.observations()
        self._asked = max(self._asked, len(observed))
        self._asked += 1
        if self._asked <= self.n_initial or not observed:
            values = self._space.rvs(n_samples=1, random_state=self._rng)[0]
            return decode_point(self.dims, values)
        return self._model_point(observed, list(pending))

    def _model_point(self, observed, pending):
        optimizer = Optimizer(
            self._model_dims,
            base_estimator=self._estimator(),
            n_initial_points=0,
            acq_func=self.acq_func,
            acq_optimizer="sampling" if self.surrogate != "GP" else "auto",
            acq_optimizer_kwargs=ACQ_OPTIMIZER_KWARGS,
            random_state=int(self._rng.randint(2**31 - 1)),
        )
        xs = [encode_point(self.dims, p) for p, _ in observed]
        ys = [loss for _, loss in observed]
        lie = min(ys)
        xs += [encode_point(self.dims, p) for p in pending]
        ys += [lie] * len(pending)
        with warnings.catch_warnings():
            # skopt warns when a discrete space makes it re-propose a known point
            warnings.simplefilter("ignore", UserWarning)
            optimizer.tell(xs, ys)
            values = optimizer.ask()
        if self.surrogate == "GP":
            self._remember_kernel(optimizer.models[-1])
        return decode_point(self.dims, values)

    def _estimator(self):
        seed = int(self._rng.randint(2**31 - 1))
        if self.surrogate == "GBRT":
            return _FixedGBRT(random_state=seed)
        if self.surrogate != "GP":
            return self.surrogate
        gp = cook_estimator("GP", space=self._model_dims, random_state=seed)
        self._gp_fits += 1
        if self._warm_kernel is not None and self._gp_fits % FULL_GP_FIT_EVERY:
            # start from the last fit's hyperparameters: one local optimization instead of three
            gp.set_params(kernel=self._warm_kernel, n_restarts_optimizer=0)
        return gp

    def _remember_kernel(self, model):
        kernel = getattr(model, "kernel_", None)
        if isinstance(kernel, Sum) and isinstance(kernel.k2, WhiteKernel):
            noise = max(float(getattr(model, "noise_", None) or 1e-5), 1e-5)
            self._warm_kernel = kernel.k1 + WhiteKernel(noise_level=noise)


class _FixedGBRT(GradientBoostingQuantileRegressor):
    """skopt's GBRT surrogate, usable with today's scikit-learn and numpy.

    skopt 0.10.2 declares its bases in an order scikit-learn >= 1.6 reads as "not
    a regressor", and its ``predict(return_std=True)`` calls ``np.in1d``, gone in
    numpy 2.4. Tagging it as a regressor and taking the std from the 0.16/0.84
    quantile models fixes both.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "regressor"
        return tags

    def predict(self, X, return_std=False, return_quantiles=False):
        if not return_std or return_quantiles:
            return super().predict(X, return_std=False, return_quantiles=return_quantiles)
        by_quantile = dict(zip(self.quantiles, self.regressors_))
        mean = by_quantile[0.5].predict(X)
        spread = (by_quantile[0.84].predict(X) - by_quantile[0.16].predict(X)) / 2.0
        return mean, spread
