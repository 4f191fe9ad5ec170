"""Bayesian optimization: a Gaussian process proposing batches, or a scikit-optimize tree surrogate.

The Gaussian process (the default, `gp.py`) is conditioned on the finished
trials; each running trial, and each point already chosen for the same batch, is
then added as a *kriging believer*: believed at the model's own mean there,
which leaves the mean unchanged, shrinks the variance near it and lowers the
bar (the incumbent) to that belief. Later points are pushed away from running
ones without being drawn to them, where the constant liar of the earlier
version (every running point told the best loss so far) made each pending
region look good and herded points into it. Which way to treat running points
was measured at 4 and 16 workers (`benchmarks/parallel.py --policies`, numbers
in docs/bayes.md).

One conditioning serves a whole batch: a fantasy costs a rank-one update, not a
refit. Hyperparameters are refitted once the data has grown by `REFIT_GROWTH`,
warm-started from the last fit when it saw at least half the points, with random
restarts otherwise and every `FULL_FIT_EVERY`-th refit, on at most `FIT_CAP`
points; `upkeep()` does it, inline or on the proposer's helper thread. The
acquisition is expected improvement (in log form), maximized inside a trust
region around the best point (`trust_region`) over candidates at every scale of
it, the best one polished by L-BFGS-B on the exact gradient, without running
onto a bound of the space for the variance's sake alone (`_polish`). `effort`
(set by the proposer) trades candidates and polish for speed when workers need
points faster: at its two cheapest levels a batch is polished in one run for all
its points (`_polish_jointly`) rather than point by point.

Losses are scaled before any surrogate sees them (`gp.scale_losses`), so a
finite loss of any size (1e200) is a valid observation.
"""
import collections
import math
import threading
import time

import numpy as np
from scipy import linalg
from scipy.optimize import fmin_l_bfgs_b
from scipy.stats import qmc
from skopt import Optimizer
from skopt.learning import GradientBoostingQuantileRegressor

from ... import routed_warnings
from ...errors import ConfigError
from .base import Strategy
from .encoding import Encoding
from .trust_region import TrustRegion
from .gp import (Candidates, Hyper, Posterior, fit_hyper, log_expected_improvement,
                 log_expected_improvement_grad, matern52, scale_losses)

SURROGATES = ("GP", "RF", "ET", "GBRT")
PENDING_POLICIES = ("believer", "cl_min", "cl_mean", "cl_max", "sampled", "thompson")

REFIT_GROWTH = 0.15          # refit the hyperparameters once the data has grown by this fraction
FULL_FIT_EVERY = 3           # every third refit also tries random restarts
FIT_CAP = 120                # at most this many points for a hyperparameter fit
POSTERIOR_CAP = 160          # ... and for the conditioning: the best, the most recent and a spread of the rest
# effort level -> (candidates, polish iterations, whether a batch is polished jointly); candidates shrink as
# 100 / points above 100 points, which keeps the cost of scoring them (points^2 x candidates) from growing with
# the data. The polish is what 6-8 dimensions need most (docs/bayes.md); polishing a batch jointly costs about
# what one point's polish does.
EFFORT = ((2000, 25, False), (1000, 10, False), (500, 10, True), (250, 5, True))
XI = 0.0
# The polish (L-BFGS-B on log EI) stops once a step gains less than POLISH_FACTR x machine epsilon of it,
# relative: 2e-7, far finer than a model of a few dozen points resolves. scipy's default (1e7: 2e-9) spent 27
# evaluations on a polish that ends within 1e-4 of where 9 leave it (Branin), for the same regret over 16 seeds
# (docs/bayes.md, "Cost"). The hyperparameter fits keep scipy's default: loosened too, real 16-worker runs lost.
POLISH_FACTR = 1e9
SEPARATION = 0.4            # a jointly polished point moves at most this share of the way to its nearest neighbour


class BayesSearch(Strategy):
    name = "bayes"
    max_effort = len(EFFORT) - 1

    def __init__(self, dims, seed=None, surrogate="GP", n_initial=None, acq_func="EI", pending="believer"):
        super().__init__(dims, seed)
        surrogate = str(surrogate).upper()
        if surrogate not in SURROGATES:
            raise ConfigError(f"unknown surrogate {surrogate!r}; use one of {', '.join(SURROGATES)}")
        if pending not in PENDING_POLICIES:
            raise ConfigError(f"unknown pending policy {pending!r}; use one of {', '.join(PENDING_POLICIES)}")
        self.surrogate = surrogate
        self.acq_func = acq_func
        self.pending = pending
        self.n_initial = max(1, int(n_initial if n_initial is not None else min(10, 2 * len(dims) + 2)))
        self.encoding = Encoding(dims)
        self._rng = np.random.RandomState(seed)
        self._fit_rng = np.random.RandomState(self._rng.randint(2**31 - 1))  # the upkeep thread's own
        self._sobol = qmc.Sobol(d=len(dims), scramble=True, seed=self._rng.randint(2**31 - 1))
        self._sobol_block = collections.deque()
        self._asked = 0
        self._first_round = None         # points the first request asked for: the workers of the first round
        self.effort = 0                  # index into EFFORT; the proposer raises it when points are needed faster
        self.economy = False             # True: CPU is scarce, refit less often and time-box the fits
        self._hyper = None               # the last fit's Hyper, read without a lock (replaced whole)
        self._hyper_n = 0                # how many points it was fitted on
        self._refits = 0
        self._upkeep_lock = threading.Lock()
        self.fit_seconds = 0.0
        self.cost = None                 # (seconds per conditioning, seconds per point) at this effort, measured
        self.trust_region = TrustRegion(self.encoding.n_columns)
        self._rows = []                  # each observed point in the unit cube, in the order of `_observed`

    @property
    def is_costly(self):
        return True

    @property
    def has_upkeep(self):
        return self.surrogate == "GP"

    # -- the strategy interface --------------------------------------------------------------------------
    def ask_many(self, n, pending=(), upkeep=True):
        """Up to n points from one conditioning of the model (queued points first)."""
        with self._lock:
            queued = [self._queued.popleft() for _ in range(min(n, len(self._queued)))]
        return queued + self._propose_batch(n - len(queued), list(pending) + queued, upkeep)

    def tell(self, point, loss):
        row = self.encoding.to_unit([point])[0]
        with self._lock:
            self._observed.append((dict(point), float(loss)))
            self._rows.append(row)
        self.trust_region.observe(float(loss))

    def _observed_rows(self):
        with self._lock:
            return np.array(self._rows), [loss for _, loss in self._observed]

    def _propose(self, pending):
        points = self._propose_batch(1, list(pending), upkeep=True)
        return points[0] if points else None

    def _propose_batch(self, n, pending, upkeep):
        self.trust_region.in_flight = len(pending) + n
        if self._first_round is None:
            self._first_round = n
        observed = self.observations()
        self._asked = max(self._asked, len(observed))
        points = []
        # the initial design; also, while another thread makes the first fit (upkeep=False), more of it rather
        # than a wait: with many workers the first results come together and all want new points at once
        while len(points) < n and (self._asked < self.n_initial or not observed
                                   or (self._hyper is None and not upkeep and self.surrogate == "GP")):
            self._asked += 1
            points.append(self._initial_point())
        if len(points) < n:
            self._asked += n - len(points)
            if self.surrogate == "GP":
                points += self._gp_batch(n - len(points), pending + points, upkeep)
            else:
                points += self._tree_batch(n - len(points), observed, pending + points)
        return points

    def _initial_point(self):
        """The initial design: a scrambled Sobol sequence, which covers the space more evenly than random draws.

        Drawn in blocks that keep the count drawn a power of two, whose balance the sequence guarantees (scipy
        warns otherwise): the first block covers the initial design, each later one doubles the count."""
        if not self._sobol_block:
            drawn = self._sobol.num_generated
            power = int(math.log2(drawn)) if drawn else max(1, math.ceil(math.log2(self.n_initial)))
            self._sobol_block.extend(self._sobol.random_base2(power))
        return self.encoding.from_cube(self._sobol_block.popleft()[None, :])[0]

    # -- the Gaussian process ------------------------------------------------------------------------------
    def _gp_batch(self, n, pending, upkeep):
        if self._hyper is None or (upkeep and self.upkeep_due):
            self.upkeep()
        clock = time.perf_counter()
        X, y, _ = self._training_set(POSTERIOR_CAP)
        posterior = Posterior(X, y, self._hyper)
        best = float(y.min())
        lie = {"cl_min": best, "cl_mean": float(y.mean()), "cl_max": float(y.max())}.get(self.pending)
        for row in self.encoding.to_unit(pending):
            best = min(best, posterior.add_fantasy(row, self._fantasy_value(posterior, row, lie)))
        count, iterations, jointly = EFFORT[self.effort]
        centre = X[int(np.argmin(y))]
        box = self.trust_region.box(centre, self._hyper.length_scales)
        candidates = self._candidates(centre, box, max(100, int(count * min(1.0, 100.0 / len(X)))))
        if self.pending == "thompson":      # a joint draw over N candidates costs N^3: at most 1000 of them
            conditioned = time.perf_counter()
            rows = self._thompson_rows(n, posterior, candidates[:1000])
        else:
            candidates = Candidates(posterior, candidates)
            conditioned = time.perf_counter()
            rows = self._ei_rows(n, posterior, candidates, best, lie, (iterations, box, jointly, len(X)))
        points = self.encoding.from_unit(np.array(rows))
        self._note_cost(conditioned - clock, (time.perf_counter() - conditioned) / n)
        return points

    def _fantasy_value(self, posterior, row, lie):
        if self.pending == "sampled":
            mean, var = posterior.predict(row[None, :])
            return float(mean[0] + math.sqrt(var[0]) * self._rng.randn())
        return lie   # None: the kriging believer

    def _ei_rows(self, n, posterior, cands, best, lie, polish):
        """Greedy batch: each point maximizes EI given the fantasies of the running points and the earlier ones;
        `polish` is (L-BFGS-B iterations, the trust region's box, whether to polish the batch jointly, how
        many of the posterior's points are observed rather than believed).

        A candidate serves one point of a batch at most: once a batch has taken the
        expected improvement of a small, well-modelled region, the rest of it ranks
        the candidates by what little remains, and must not repeat one."""
        iterations, box, jointly, observed = polish
        polishing = bool(iterations) and self.encoding.continuous.any()
        before = posterior.frozen() if polishing and jointly else None
        incumbent = best
        taken = None if self.encoding.all_real else [tuple(r) for r in posterior.X]
        free = np.ones(len(cands.C), dtype=bool)
        rows = []
        for _ in range(n):
            score = np.where(free, log_expected_improvement(cands.mean, cands.var, best, XI), -np.inf)
            index = self._best_candidate(cands.C, score, taken)
            free[index] = False
            row = cands.C[index].copy()
            if polishing and not jointly:
                row = self._polish(posterior, row, best, (iterations, box), taken)
            rows.append(row)
            best = min(best, posterior.add_fantasy(row, self._fantasy_value(posterior, row, lie)))
            if taken is not None:
                taken.append(tuple(row))
        if before is not None:
            rows = self._polish_jointly(before, np.array(rows), incumbent, iterations, box, observed, taken)
        return list(rows)

    def _best_candidate(self, C, score, taken):
        """Index of the best-scoring candidate not tried yet (a discrete space can run out: then the best)."""
        order = np.argsort(-score)
        if taken is None:
            return int(order[0])
        seen = set(taken)
        for index in order:
            if tuple(C[index]) not in seen:
                return int(index)
        return int(order[0])

    def _polish(self, posterior, row, best, polish, taken):
        """L-BFGS-B on log EI over the real columns, from the best candidate, inside the trust region.

        The posterior variance is inflated along the space's bounds (no data lie
        beyond them), so expected improvement grows towards them and a free polish
        ends there: on an 8-dimensional test function, half the model points sat on
        a bound and scored far worse than the rest. A column that the polish drives
        onto a bound of the space, where the candidate was not, is therefore held at
        the candidate's value and the rest polished again. Candidates still reach a
        bound's neighbourhood when the data lead there.
        """
        iterations, (low, high) = polish
        free = self.encoding.continuous.copy()
        while True:
            polished, gained = self._lbfgs(posterior, row, best, iterations, free, low, high)
            hold = self._bound_moves_to_hold(posterior, row[None, :], polished[None, :])[0]
            if not hold.any():
                break
            free &= ~hold
            if not free.any():
                return row
        if not gained:
            return row
        polished = self.encoding.snap(polished)[0]
        if taken is not None and tuple(polished) in set(taken):
            return row
        return polished

    def _polish_jointly(self, posterior, rows, best, iterations, box, observed, taken):
        """The batch's points polished together: one L-BFGS-B run on the sum of their log EI.

        Polishing one point costs about 20 calls of the posterior's gradient, and at
        high demand for points that cost is what dropped the polish altogether, which
        6-8 dimensions cannot spare (docs/bayes.md). Here every call serves the whole
        batch. The points share the conditioning on the finished and running trials
        (not each other's fantasies), and each stays in its own box, 0.4 of the way
        to the nearest other point of the batch or running trial, so they cannot
        gather on one maximum. The bound rule of `_polish` holds (a column driven
        onto a bound of the space by the variance alone is held), in one pass.
        """
        low, high = box
        free = self.encoding.continuous
        neighbours = np.vstack([rows, posterior.X[observed:]])[:, free]
        gaps = np.max(np.abs(rows[:, None, free] - neighbours[None, :, :]), axis=2)
        gaps[np.arange(len(rows)), np.arange(len(rows))] = np.inf
        radius = np.minimum(SEPARATION * gaps.min(axis=1), 1.0)[:, None]
        lo = np.maximum(low[free], rows[:, free] - radius)
        hi = np.minimum(high[free], rows[:, free] + radius)

        def at(values):
            points = rows.copy()
            points[:, free] = values.reshape(len(rows), -1)
            return points

        def negative(values):
            mean, var, dmean, dvar = posterior.gradients(at(values))
            value, grad = log_expected_improvement_grad(mean, var, dmean, dvar, best, XI)
            return -float(value.sum()), -grad[:, free].ravel()

        values, _, _ = fmin_l_bfgs_b(negative, rows[:, free].ravel(), bounds=list(zip(lo.ravel(), hi.ravel())),
                                     maxiter=iterations, factr=POLISH_FACTR)
        polished = at(values)
        polished = np.where(self._bound_moves_to_hold(posterior, rows, polished), rows, polished)
        before, after = np.split(log_expected_improvement(*posterior.predict(np.vstack([rows, polished])), best, XI), 2)
        polished = np.where((after > before)[:, None], polished, rows)
        if taken is None:
            return polished
        snapped = self.encoding.snap(polished)
        seen = set(taken[:len(posterior.X)])
        return np.array([s if tuple(s) not in seen else r for s, r in zip(snapped, rows)])

    def _bound_moves_to_hold(self, posterior, rows, polished):
        """Per row, the columns its polish drove onto a bound of the space where the row was not, unless the
        model's mean improves there (then the data lead there, not the variance): those columns are held at the
        row's value (the rule in `_polish`'s docstring)."""
        ran_out = self.encoding.continuous & ((polished <= 0.0) | (polished >= 1.0)) & (rows > 0.0) & (rows < 1.0)
        moved = np.flatnonzero(ran_out.any(axis=1))
        if len(moved):
            held = np.where(ran_out[moved], rows[moved], polished[moved])
            means = posterior.predict(np.vstack([polished[moved], held]))[0]
            ran_out[moved[means[:len(moved)] < means[len(moved):]]] = False
        return ran_out

    def _lbfgs(self, posterior, start, best, iterations, free, low, high):
        def negative(values):
            x = start.copy()
            x[free] = values
            mean, var, dmean, dvar = posterior.gradient(x)
            value, grad = log_expected_improvement_grad(mean, var, dmean, dvar, best, XI)
            return -value, -grad[free]

        before = negative(start[free])[0]
        values, after, _ = fmin_l_bfgs_b(negative, start[free], bounds=list(zip(low[free], high[free])),
                                          maxiter=iterations, factr=POLISH_FACTR)
        polished = start.copy()
        polished[free] = values
        return polished, after < before

    def _thompson_rows(self, n, posterior, C):
        """One joint draw of the posterior over the candidates per point; its minimizer is the point."""
        mean, _ = posterior.predict(C)
        Kc = matern52(posterior.X, C, posterior.hyper)
        V = linalg.solve_triangular(posterior.L, Kc, lower=True, check_finite=False)
        cov = matern52(C, C, posterior.hyper) - V.T @ V
        cov[np.diag_indices_from(cov)] += 1e-6 * posterior.hyper.amplitude
        try:
            chol = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            w, Q = np.linalg.eigh(cov)
            chol = Q * np.sqrt(np.maximum(w, 0.0))
        draws = mean[:, None] + chol @ self._rng.randn(len(C), n)
        rows, used = [], set()
        for j in range(n):
            for index in np.argsort(draws[:, j]):
                if index not in used:
                    used.add(index)
                    rows.append(C[index].copy())
                    break
        return rows

    def _candidates(self, centre, box, count):
        """Candidates inside the trust region's box around the best point, at every scale from 1/50 of it to all.

        Each moves a random subset of the columns (each column with probability
        min(1, 20 / dimensions), at least one), as TuRBO does.
        """
        rng = self._rng
        low, high = box
        moved = rng.rand(count, len(centre)) < min(1.0, 20.0 / len(self.names))
        moved[np.arange(count), rng.randint(len(centre), size=count)] = True
        step = (low + rng.rand(count, len(centre)) * (high - low) - centre) * moved
        scale = np.exp(rng.uniform(math.log(0.02), 0.0, size=(count, 1)))
        local = centre + step * scale
        return local if self.encoding.all_real else self.encoding.snap(local)

    # -- the data the model sees, and its hyperparameters ---------------------------------------------------
    def _training_set(self, cap):
        """Unit rows, scaled losses and how many points there were; above `cap` points only the best, the most
        recent and a spread of the rest are kept."""
        X, losses = self._observed_rows()
        y = scale_losses(losses)
        if len(y) <= cap:
            return X, y, len(y)
        keep = _subset(X, y, cap)
        return X[keep], y[keep], len(y)

    @property
    def upkeep_due(self):
        """True when the data has grown enough since the last hyperparameter fit; the first fit waits for the
        first round's results (as many as the first request asked for, at most the initial design): with many
        workers they come together, and a fit on the first two or three of them finds the flat mode
        (`upkeep`)."""
        n = len(self._observed)
        if self._hyper is None:
            return n >= max(1, min(self.n_initial, self._first_round or 1))
        growth = REFIT_GROWTH * (3 if self.economy else 1)
        return n >= self._hyper_n + max(1, math.ceil(growth * self._hyper_n))

    @property
    def awaits_first_model(self):
        return self.surrogate == "GP" and self._hyper is None and self._asked >= self.n_initial

    def upkeep(self):
        """Refit the hyperparameters on the data so far (any thread; one fit at a time). In `economy` (CPU
        scarce, or points in high demand) three times less often, on half the points and time-boxed, but with
        the same random restarts every `FULL_FIT_EVERY`-th refit: a warm start from the flat mode (below)
        never leaves it, and economy without restarts held 8-dimensional Levy at 16 workers at random
        search's level (regret 24.7 against 3.8, simulated clock)."""
        with self._upkeep_lock:
            n = self.n_observed
            if not n or (self._hyper is not None and n <= self._hyper_n):
                return False
            clock = time.perf_counter()
            X, y, seen = self._training_set(FIT_CAP // 2 if self.economy else FIT_CAP)
            self._refits += 1
            # A fit on less than half these points is no start, and a fit without one needs restarts: the
            # posterior has a flat mode (length scales near 6, nearly all noise) beside the right one, and one
            # descent from the prior's median ends there on half of the 16-point Branin designs tried. A fit
            # on the first 3 of 16 results that arrived together found it, and warm starts alone keep it.
            start = self._hyper if self._hyper is not None and 2 * self._hyper_n >= seen else None
            restarts = 2 if start is None or self._refits % FULL_FIT_EVERY == 0 else 0
            try:
                hyper = fit_hyper(X, y, start, restarts, int(self._fit_rng.randint(2**31 - 1)),
                                  60 if self.economy else None)
            except (ValueError, np.linalg.LinAlgError):   # a degenerate data set: keep what worked before
                hyper = self._hyper or Hyper.default(self.encoding.n_columns)
            self._hyper, self._hyper_n = hyper, seen
            self.fit_seconds += time.perf_counter() - clock
            return True

    def kernel(self):
        """The current surrogate kernel as a scikit-learn object (None before the first fit)."""
        return None if self._hyper is None else self._hyper.kernel()

    def _note_cost(self, fixed, per_point):
        """Seconds per conditioning and per point, as moving averages (the proposer sizes batches with them)."""
        if self.cost is None:
            self.cost = (fixed, per_point)
        else:
            self.cost = (0.7 * self.cost[0] + 0.3 * fixed, 0.7 * self.cost[1] + 0.3 * per_point)

    # -- tree surrogates: scikit-optimize, one fit per point --------------------------------------------
    def _tree_batch(self, n, observed, pending):
        points = []
        losses = scale_losses([loss for _, loss in observed])
        for _ in range(n):
            optimizer = Optimizer(self.encoding.space.dimensions, base_estimator=self._tree_estimator(),
                                  n_initial_points=0, acq_func=self.acq_func, acq_optimizer="sampling",
                                  acq_optimizer_kwargs={"n_points": 4000},
                                  random_state=int(self._rng.randint(2**31 - 1)))
            xs = [self.encoding.values(p) for p, _ in observed] + [self.encoding.values(p) for p in pending + points]
            ys = list(losses) + [float(np.mean(losses))] * (len(pending) + len(points))  # the mean liar
            with routed_warnings.quiet(UserWarning):  # a discrete space makes it re-propose a known point
                optimizer.tell(xs, ys)
                points.append(self.encoding.point(optimizer.ask()))
        return points

    def _tree_estimator(self):
        seed = int(self._rng.randint(2**31 - 1))
        if self.surrogate == "GBRT":
            return _FixedGBRT(random_state=seed)
        return self.surrogate


def _subset(X, y, cap):
    """Indices of at most `cap` rows: the best quarter, the most recent quarter, and an even random sample of
    the rest, so that the model keeps the good region, what is new, and the landscape around them."""
    n = len(y)
    keep = list(dict.fromkeys(list(np.argsort(y)[:cap // 4]) + list(range(n - cap // 4, n))))
    rest = np.setdiff1d(np.arange(n), keep)
    spread = np.random.RandomState(n).choice(rest, size=min(len(rest), cap - len(keep)), replace=False)
    return np.sort(np.concatenate([np.array(keep, dtype=int), spread]))


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
