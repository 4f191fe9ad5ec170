"""The Gaussian-process surrogate of the Bayesian search, built for batches.

scikit-learn's `GaussianProcessRegressor` fits the hyperparameters (amplitude,
Matern-5/2 length scales, noise), with priors added to its likelihood
(`fit_hyper`); this module then conditions on the data itself, because a batch needs what scikit-learn does
not offer: adding a point "believed" at a value (a fantasy: a running trial, or
the previous point of the same batch) costs one rank-one extension of the
Cholesky factor, O(n^2), not a refit, and every candidate's mean and variance
follow in O(n) each.

Everything here works in the unit cube of the search's encoding
(`encoding.Encoding`) and on standardized losses (`scale_losses`).
"""
import copy
import math
from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.special import erfcx, log_ndtr, ndtr

SQRT5 = math.sqrt(5.0)
JITTER = 1e-8
FANTASY_NOISE = 1e-6                    # a fantasy's noise variance (losses are standardized)
LENGTH_SCALE_BOUNDS = (0.01, 100.0)     # in the unit cube (scikit-optimize's bounds)
AMPLITUDE_BOUNDS = (0.01, 1000.0)
NOISE_BOUNDS = (1e-6, 1.0)              # a variance, on standardized losses
BOUND_MARGIN = 1e-3                     # the hyperparameter search stays this far (in log terms) inside the bounds
TAIL_START = 3.0                        # robust z beyond which losses are log-compressed
PRIOR_SPREAD = math.sqrt(3.0)           # log-normal prior on the length scales: sd of the log
NOISE_PRIOR = (-2.0, 1.0)               # log-normal prior on the noise variance: mean and sd of its log
SHRINK = 0.5                            # sd of each log length scale around their mean (ARD fits)
ARD_FROM = 10                           # one length scale per input from this many points per input on


def length_scale_prior_median(n_dims):
    """The prior's median length scale in the unit cube: sqrt(2) + log(d) / 2 in log terms.

    With few points in several dimensions, maximum likelihood drives some length
    scales to their upper bound and others to the lower one (one input "explains"
    everything), or explains every difference as noise; either way expected
    improvement turns flat and the search explores at random (measured on the
    8-dimensional Levy function: median regret 19-33 after 40 evaluations, random
    search's level). The log-normal prior that grows with the dimension
    (Hvarfner, Hellsten and Nardi, 2024, "Vanilla Bayesian optimization performs
    great in high dimensions"), a prior that keeps the noise variance near 0.14
    of the losses' (`NOISE_PRIOR`), and one shared length scale until there are
    `ARD_FROM` points per input (then one per input, shrunk towards their mean by
    `SHRINK`) keep the fit sensible: 5-13 on the same problem (docs/bayes.md).
    """
    return math.exp(math.sqrt(2.0) + 0.5 * math.log(n_dims))


def scale_losses(losses):
    """Losses as the surrogate sees them: finite, centred, unit spread, tails log-compressed.

    Dividing by the largest magnitude first keeps every step finite for any
    finite input (1e200 or 1e308 included); the median and the interquartile
    range then centre and scale robustly, and values more than `TAIL_START`
    robust deviations out are compressed logarithmically (continuous, with a
    continuous slope), so that one huge loss cannot flatten the rest. The map is
    monotone: the best loss stays the best.
    """
    y = np.asarray(losses, dtype=float)
    if not y.size:
        return y
    peak = float(np.max(np.abs(y)))
    if peak > 0:
        y = y / peak
    median = float(np.median(y))
    q1, q3 = np.percentile(y, [25, 75])
    spread = (q3 - q1) / 1.349 or float(np.std(y)) or 1.0
    z = (y - median) / max(spread, 1e-300)
    big = np.abs(z) > TAIL_START
    z[big] = np.sign(z[big]) * TAIL_START * (1.0 + np.log(np.abs(z[big]) / TAIL_START))
    std = float(np.std(z))
    return (z - float(np.mean(z))) / (std if std > 0 else 1.0)


@dataclass(frozen=True)
class Hyper:
    """Fitted kernel hyperparameters: k(x, x') = amplitude * matern52(|x - x'| / length_scales), plus noise."""

    amplitude: float
    length_scales: np.ndarray
    noise: float

    @classmethod
    def default(cls, n_dims):
        return cls(1.0, np.full(n_dims, length_scale_prior_median(n_dims)), 0.1)

    def kernel(self, isotropic=False):
        """The same kernel as a scikit-learn object (one noise term, always: a warm start never adds another)."""
        from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel

        scales = np.array(self.length_scales, dtype=float)
        scale = float(np.exp(np.mean(np.log(scales)))) if isotropic else scales
        return (ConstantKernel(self.amplitude, AMPLITUDE_BOUNDS)
                * Matern(length_scale=scale, length_scale_bounds=LENGTH_SCALE_BOUNDS, nu=2.5)
                + WhiteKernel(float(np.clip(self.noise, *NOISE_BOUNDS)), NOISE_BOUNDS))

    @classmethod
    def from_kernel(cls, kernel, n_dims):
        scales = np.atleast_1d(kernel.k1.k2.length_scale).astype(float)
        return cls(float(kernel.k1.k1.constant_value), np.resize(scales, n_dims), float(kernel.k2.noise_level))


def fit_hyper(X, y, start=None, restarts=0, seed=0, max_iter=None):
    """Maximum a-posteriori hyperparameters on (X, y), from `start` (a warm start) and `restarts` random ones.

    `max_iter` caps the optimizer's iterations: a time box for when CPU is scarce.
    """
    from scipy.optimize import fmin_l_bfgs_b
    from sklearn.gaussian_process import GaussianProcessRegressor

    n, n_dims = X.shape
    isotropic = n < ARD_FROM * n_dims
    kernel = (start or Hyper.default(n_dims)).kernel(isotropic)
    # theta is [log amplitude, log length scale(s), log noise]
    scales = slice(1, 2 if isotropic else 1 + n_dims)
    centre = math.log(length_scale_prior_median(n_dims))

    def log_posterior(likelihood):
        def negative(theta):
            value, grad = likelihood(theta)
            grad = np.array(grad, dtype=float)
            offset = theta[scales] - centre
            noise = (theta[-1] - NOISE_PRIOR[0]) / NOISE_PRIOR[1]
            value += 0.5 * float(offset @ offset) / PRIOR_SPREAD ** 2 + 0.5 * noise * noise
            grad[scales] += offset / PRIOR_SPREAD ** 2
            grad[-1] += noise / NOISE_PRIOR[1]
            if not isotropic:
                spread = theta[scales] - np.mean(theta[scales])
                value += 0.5 * float(spread @ spread) / SHRINK ** 2
                grad[scales] += spread / SHRINK ** 2
            return value, grad
        return negative

    def optimizer(likelihood, initial_theta, bounds):
        # Just inside the kernel's bounds: scikit-learn warns (ConvergenceWarning) about a value on a bound, and
        # this runs on the proposer's thread, where no warning filter can be set safely (routed_warnings).
        inside = np.asarray(bounds, dtype=float) + [BOUND_MARGIN, -BOUND_MARGIN]
        theta, value, _ = fmin_l_bfgs_b(log_posterior(likelihood), np.clip(initial_theta, *inside.T),
                                        bounds=inside, maxiter=max_iter or 15000)
        return theta, value

    gp = GaussianProcessRegressor(kernel=kernel, normalize_y=False, n_restarts_optimizer=restarts,
                                  random_state=seed, optimizer=optimizer, copy_X_train=False)
    gp.fit(X, y)
    return Hyper.from_kernel(gp.kernel_, n_dims)


def matern52(A, B, hyper):
    """Kernel matrix k(A, B) (without noise)."""
    d = _scaled_distance(A, B, hyper.length_scales)
    return hyper.amplitude * (1.0 + SQRT5 * d + (5.0 / 3.0) * d * d) * np.exp(-SQRT5 * d)


def _scaled_distance(A, B, length_scales):
    a = A / length_scales
    b = B / length_scales
    sq = np.sum(a * a, 1)[:, None] + np.sum(b * b, 1)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(sq, 0.0))


class Posterior:
    """The GP conditioned on observed points and on fantasies (points believed at a value), growing by rank one.

    `predict` gives the latent mean and variance anywhere; `Candidates` tracks a
    fixed set of points cheaply as fantasies are added.
    """

    def __init__(self, X, y, hyper):
        self.hyper = hyper
        self.X = np.asarray(X, dtype=float)
        self.y = np.asarray(y, dtype=float)
        K = matern52(self.X, self.X, hyper)
        K[np.diag_indices_from(K)] += hyper.noise + JITTER
        self.L = _cholesky(K)
        self.alpha = linalg.cho_solve((self.L, True), self.y)
        self.candidates = []
        self._inverse = None

    @property
    def prior_variance(self):
        return self.hyper.amplitude

    def frozen(self):
        """This conditioning as it is now: fantasies added to self later do not reach the copy."""
        twin = copy.copy(self)     # add_fantasy replaces the arrays it changes, so sharing them is safe
        twin.candidates = []
        return twin

    def predict(self, C):
        """Mean and variance of the latent function at the rows of C."""
        Kc = matern52(self.X, C, self.hyper)
        V = linalg.solve_triangular(self.L, Kc, lower=True, check_finite=False)
        mean = Kc.T @ self.alpha
        var = self.prior_variance - np.sum(V * V, 0)
        return mean, np.maximum(var, 1e-12)

    def add_fantasy(self, x, value=None):
        """Condition on x as if observed at `value` (None: the posterior mean there, the kriging believer).

        The mean elsewhere moves only by the innovation (value - mean(x)), which is
        zero for the believer: then only the variance near x shrinks, so later points
        of a batch are pushed away from x without being drawn to it. A fantasy is a
        belief about the function, not a noisy measurement: it is added almost
        noise-free, otherwise on a noisy fit the variance near x would hardly shrink
        and a whole batch would land on one spot. Returns the value believed: the
        incumbent of an improvement-based acquisition must include it (a point
        believed to improve on the best raises the bar for the rest of the batch).
        """
        x = np.asarray(x, dtype=float).reshape(1, -1)
        k = matern52(self.X, x, self.hyper)[:, 0]
        l = linalg.solve_triangular(self.L, k, lower=True, check_finite=False)
        floor = FANTASY_NOISE
        d = math.sqrt(max(self.prior_variance + floor - float(l @ l), floor))
        mean_x = float(k @ self.alpha)
        value = mean_x if value is None else float(value)
        n = len(self.X)
        L = np.zeros((n + 1, n + 1))
        L[:n, :n] = self.L
        L[n, :n] = l
        L[n, n] = d
        for cand in self.candidates:
            cand._extend(x, l, d, value - mean_x)
        self.L, self.X, self.y = L, np.vstack([self.X, x]), np.append(self.y, value)
        self.alpha = linalg.cho_solve((self.L, True), self.y)
        self._inverse = None
        return value

    def gradient(self, x):
        """Mean, variance and their gradients at one point x (for the local polish of the acquisition)."""
        mean, var, dmean, dvar = self.gradients(np.asarray(x, dtype=float).reshape(1, -1))
        return float(mean[0]), float(var[0]), dmean[0], dvar[0]

    def gradients(self, Q):
        """Means, variances and their gradients at the rows of Q, in one pass (a batch polished jointly).

        Called many times on the same conditioning, so it uses the inverse kernel matrix, computed once:
        matrix products instead of triangular solves per call."""
        ls2 = self.hyper.length_scales ** 2
        diff = Q[:, None, :] - self.X[None, :, :]                     # q x n x D
        r = np.sqrt(np.maximum(np.sum(diff * diff / ls2, 2), 0.0))     # q x n
        e = np.exp(-SQRT5 * r)
        k = self.hyper.amplitude * (1.0 + SQRT5 * r + (5.0 / 3.0) * r * r) * e
        slope = -(5.0 / 3.0) * self.hyper.amplitude * (1.0 + SQRT5 * r) * e   # dk/dx = slope * (x - X) / ls2
        if self._inverse is None:
            inverse_l = linalg.solve_triangular(self.L, np.eye(len(self.L)), lower=True, check_finite=False)
            self._inverse = inverse_l.T @ inverse_l
        w = k @ self._inverse                                           # q x n

        def weighted_gradient(weights):   # sum over the data of weights * dk/dx, without a q x n x D product
            return (Q * weights.sum(1)[:, None] - weights @ self.X) / ls2

        var = np.maximum(self.prior_variance - np.sum(k * w, 1), 1e-12)
        return k @ self.alpha, var, weighted_gradient(slope * self.alpha), -2.0 * weighted_gradient(slope * w)


class Candidates:
    """A fixed set of points whose posterior mean and variance follow every fantasy by a rank-one update."""

    def __init__(self, posterior, C):
        self.C = np.asarray(C, dtype=float)
        Kc = matern52(posterior.X, self.C, posterior.hyper)
        self._V = linalg.solve_triangular(posterior.L, Kc, lower=True, check_finite=False)
        self.mean = Kc.T @ posterior.alpha
        self.var = np.maximum(posterior.prior_variance - np.sum(self._V * self._V, 0), 1e-12)
        self._posterior = posterior
        posterior.candidates.append(self)

    def _extend(self, x, l, d, innovation):
        row = (matern52(x, self.C, self._posterior.hyper)[0] - l @ self._V) / d
        self._V = np.vstack([self._V, row])
        self.var = np.maximum(self.var - row * row, 1e-12)
        if innovation:
            self.mean = self.mean + row * (innovation / d)


def log_expected_improvement(mean, var, best, xi=0.0):
    """log EI of minimization below `best`, accurate where EI itself underflows (far from the incumbent)."""
    sigma = np.sqrt(var)
    z = (best - xi - mean) / sigma
    return np.log(sigma) + _log_h(z)


def log_expected_improvement_grad(mean, var, dmean, dvar, best, xi=0.0):
    """log EI and its gradient, from the posterior's mean/variance and their gradients: at one point (floats
    and gradient vectors) or at several (vectors, and one gradient row per point)."""
    column = (lambda a: a[:, None]) if np.ndim(mean) else (lambda a: a)
    sigma = np.sqrt(var)
    z = (best - xi - mean) / sigma
    log_h = _log_h(np.atleast_1d(z)).reshape(np.shape(z))
    dsigma = dvar / (2.0 * column(sigma))
    dz = (-dmean - column(z) * dsigma) / column(sigma)
    ratio = np.exp(log_ndtr(z) - log_h)                                # Phi(z) / h(z)
    return np.log(sigma) + log_h, dsigma / column(sigma) + column(ratio) * dz


def _log_h(z):
    """log(phi(z) + z * Phi(z)), stable for very negative z (via the scaled complementary error function)."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    direct = z > -1.0
    zd = z[direct]
    out[direct] = np.log(np.exp(-0.5 * zd * zd) / math.sqrt(2 * math.pi) + zd * ndtr(zd))
    zt = z[~direct]
    mills = erfcx(-zt / math.sqrt(2.0)) * math.sqrt(math.pi / 2.0)  # Phi(z) / phi(z)
    out[~direct] = -0.5 * zt * zt - 0.5 * math.log(2 * math.pi) + np.log1p(np.maximum(zt * mills, -1 + 1e-300))
    return out


def _cholesky(K):
    """Cholesky factor, adding jitter if rounding made K indefinite."""
    jitter = 0.0
    for _ in range(6):
        try:
            return linalg.cholesky(K + jitter * np.eye(len(K)), lower=True, check_finite=False)
        except linalg.LinAlgError:
            jitter = 1e-6 if not jitter else jitter * 10
    raise linalg.LinAlgError("the surrogate's kernel matrix is not positive definite")
