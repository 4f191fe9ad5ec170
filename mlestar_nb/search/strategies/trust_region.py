"""Where the Bayesian search looks: a box around the best point that grows on success and shrinks on failure.

Maximizing expected improvement over the whole space goes wrong in several
dimensions: with a few dozen points most of the cube is far from every one of
them, the model's mean extrapolates trends out to the corners, and the
acquisition's optimum sits on the bounds (measured: 29 of 30 model points on a
bound of the 8-dimensional Levy function). TuRBO (Eriksson et al., 2019,
"Scalable global optimization via local Bayesian optimization") keeps the
search inside a trust region instead: a box centred on the best point, its
sides in proportion to the surrogate's length scales, doubled after
`SUCCESSES` successful rounds in a row and halved after max(4, d) / q failed
ones (q points per round); when it has shrunk below `MIN_LENGTH` it starts again
at `START_LENGTH`. A round is as many results as there were points in flight
when it began, and succeeds when any of them improved the best clearly: with 16
workers, 16 results arrive per round, and judging each alone would halve the box
after every round that had one improvement among its misses. At its full length
the box covers the space, so low-dimensional problems keep a global search.
"""
import math
import threading

import numpy as np

START_LENGTH = 0.8
MIN_LENGTH = 0.5 ** 7
MAX_LENGTH = 1.6
SUCCESSES = 3
IMPROVEMENT = 1e-3          # relative to the best loss's magnitude
SHAPE_LIMIT = 4.0           # the longest side at most this many times the geometric mean (and the shortest 1/x)


class TrustRegion:
    def __init__(self, n_dims):
        self.length = START_LENGTH
        self.n_dims = n_dims
        self.restarts = 0
        self.in_flight = 1            # points running when the current round began (set by the strategy)
        self._successes = self._failures = 0
        self._round_size = 1
        self._round_left = 1
        self._round_improved = False
        self._best = math.inf
        self._lock = threading.Lock()

    def observe(self, loss):
        """Count a finished trial towards its round; at the round's end, grow or shrink the region."""
        with self._lock:
            if self._best == math.inf or loss < self._best - IMPROVEMENT * abs(self._best):
                self._round_improved = True
            self._best = min(self._best, loss)
            self._round_left -= 1
            if self._round_left > 0:
                return
            if self._round_improved:
                self._successes, self._failures = self._successes + 1, 0
            else:
                self._successes, self._failures = 0, self._failures + 1
            failures_allowed = math.ceil(max(4, self.n_dims) / self._round_size)
            self._round_size = self._round_left = max(1, self.in_flight)
            self._round_improved = False
            if self._successes >= SUCCESSES:
                self.length, self._successes = min(2.0 * self.length, MAX_LENGTH), 0
            elif self._failures >= failures_allowed:
                self.length, self._failures = self.length / 2.0, 0
                if self.length < MIN_LENGTH:
                    self.length, self.restarts = START_LENGTH, self.restarts + 1

    def box(self, centre, length_scales):
        """(low, high) corners of the region around `centre` (unit-cube coordinates)."""
        ls = np.asarray(length_scales, dtype=float)
        shape = ls / math.exp(float(np.mean(np.log(ls))))
        shape = np.clip(shape, 1.0 / SHAPE_LIMIT, SHAPE_LIMIT)
        shape = shape / math.exp(float(np.mean(np.log(shape))))
        half = 0.5 * self.length * shape
        return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)
