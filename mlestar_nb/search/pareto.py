"""Pareto arithmetic on loss vectors (every objective minimized): dominance, non-dominated sorting, crowding,
hypervolume.

Written here rather than taken from pymoo or moocore: these are a few dozen lines each, the search needs them on
a handful to a few thousand points, and either library would add a heavy dependency for them. Each is checked
against a brute-force version in tests/test_multiobjective.py.
"""
import math

import numpy as np


def dominates(a, b):
    """a is no worse than b in every objective and better in one (losses: lower is better)."""
    return all(x <= y for x, y in zip(a, b)) and any(x < y for x, y in zip(a, b))


def non_dominated(points):
    """Indices of the points no other point dominates (duplicates of a non-dominated point are all kept)."""
    if len(points) == 0:
        return []
    array = np.asarray(points, dtype=float)
    order = np.lexsort(array.T[::-1])   # by the first objective, then the next: a dominator comes first
    kept = []
    for i in order:
        point = array[i]
        if kept:
            front = array[kept]
            if np.any(np.all(front <= point, axis=1) & np.any(front < point, axis=1)):
                continue
        kept.append(int(i))
    return sorted(kept)


def non_dominated_sort(points):
    """Fronts as lists of indices: front 0 is non-dominated, front 1 is dominated only by front 0, ...
    (Deb et al.'s fast non-dominated sort, with numpy doing the pairwise comparisons)."""
    n = len(points)
    if n == 0:
        return []
    array = np.asarray(points, dtype=float)
    no_worse = np.all(array[:, None, :] <= array[None, :, :], axis=2)
    better = np.any(array[:, None, :] < array[None, :, :], axis=2)
    dominates_matrix = no_worse & better                  # [i, j]: i dominates j
    dominated_by = dominates_matrix.sum(axis=0)
    fronts = []
    current = [i for i in range(n) if dominated_by[i] == 0]
    while current:
        fronts.append(current)
        following = []
        for i in current:
            for j in np.flatnonzero(dominates_matrix[i]):
                dominated_by[j] -= 1
                if dominated_by[j] == 0:
                    following.append(int(j))
        current = sorted(following)
    return fronts


def ranks(points):
    """The front number of each point (0: non-dominated)."""
    out = [0] * len(points)
    for rank, front in enumerate(non_dominated_sort(points)):
        for i in front:
            out[i] = rank
    return out


def crowding_distance(points):
    """NSGA-II's crowding distance of each point within its set: boundary points get infinity."""
    n = len(points)
    if n == 0:
        return []
    array = np.asarray(points, dtype=float)
    distance = np.zeros(n)
    for m in range(array.shape[1]):
        order = np.argsort(array[:, m], kind="stable")
        low, high = array[order[0], m], array[order[-1], m]
        distance[order[0]] = distance[order[-1]] = math.inf
        if high == low or n < 3:
            continue
        gaps = (array[order[2:], m] - array[order[:-2], m]) / (high - low)
        distance[order[1:-1]] += gaps
    return [float(d) for d in distance]


def hypervolume(points, reference):
    """The volume dominated by `points` and bounded by `reference` (losses; points beyond it count for nothing).

    Exact: a sweep in two dimensions, slicing along the last objective above that (fine for the fronts of a
    search: tens of points, a few objectives).
    """
    reference = np.asarray(reference, dtype=float)
    array = np.asarray([p for p in points if np.all(np.asarray(p, dtype=float) < reference)], dtype=float)
    if array.size == 0:
        return 0.0
    array = array[non_dominated(array)]
    return float(_hv(array, reference))


def _hv(array, reference):
    dims = array.shape[1]
    if dims == 1:
        return reference[0] - array[:, 0].min()
    if dims == 2:
        ordered = array[np.argsort(array[:, 0], kind="stable")]
        volume, ceiling = 0.0, reference[1]
        for x, y in ordered:
            if y < ceiling:
                volume += (reference[0] - x) * (ceiling - y)
                ceiling = y
        return volume
    ordered = array[np.argsort(array[:, -1], kind="stable")]
    volume = 0.0
    for i in range(len(ordered)):
        top = ordered[i + 1, -1] if i + 1 < len(ordered) else reference[-1]
        height = top - ordered[i, -1]
        if height <= 0:
            continue
        slab = ordered[: i + 1, :-1]
        volume += _hv(slab[non_dominated(slab)], reference[:-1]) * height
    return volume


def normalized(points, low=None, high=None):
    """Points scaled to [0, 1] per objective (by the given bounds, or the points' own); a flat objective is 0."""
    array = np.asarray(points, dtype=float)
    low = array.min(axis=0) if low is None else np.asarray(low, dtype=float)
    high = array.max(axis=0) if high is None else np.asarray(high, dtype=float)
    span = np.where(high > low, high - low, 1.0)
    return (array - low) / span
