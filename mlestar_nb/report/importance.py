"""Which parameters the score depends on, and how much of its variance each one explains.

A random forest learns the score from the parameters of the completed trials
(log-scaled where the space is log-uniform, categories as their index). Its
out-of-bag R² says how much of the score's variance the parameters explain at
all; a parameter's share is the variance of the forest's partial dependence on
it (its main effect, as fANOVA's first-order term) over the variance of the
scores. When the forest explains too little (R² below MIN_R2) or there are too
few trials, the ranking would be noise, so it is hidden and the report says why.
"""
import math

MIN_TRIALS = 10
MIN_R2 = 0.25
GRID = 24


def parameter_importance(trials, dims):
    """{"shown": bool, "reason": str, "r2": float, "rows": [(name, share of variance)]} for completed trials."""
    import numpy as np

    done = [t for t in trials if t.state == "complete" and t.value is not None and math.isfinite(t.value)]
    if len(done) < MIN_TRIALS:
        return {"shown": False, "reason": f"only {len(done)} completed trial(s); importance needs at least "
                                          f"{MIN_TRIALS}", "r2": None, "rows": []}
    names = list(dims)
    X = np.array([[_encode(dims[n], t.params.get(n)) for n in names] for t in done], dtype=float)
    y = np.array([t.value for t in done], dtype=float)
    variance = float(np.var(y))
    if variance <= 0:
        return {"shown": False, "reason": "every completed trial scored the same", "r2": None, "rows": []}
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import partial_dependence

    forest = RandomForestRegressor(n_estimators=64, min_samples_leaf=2, oob_score=True, random_state=0, n_jobs=1)
    forest.fit(X, y)
    r2 = float(forest.oob_score_)
    if r2 < MIN_R2:
        return {"shown": False, "r2": r2, "rows": [],
                "reason": f"the parameters explain only {max(r2, 0):.0%} of the score's variance out of bag (R² "
                          f"{r2:.2f} < {MIN_R2}): too poor a fit to rank them"}
    rows = []
    for j, name in enumerate(names):
        grid, weights = _grid(X[:, j])
        if len(grid) < 2:
            rows.append((name, 0.0))
            continue
        averaged = partial_dependence(forest, X, [j], method="recursion", custom_values={j: grid},
                                      kind="average")["average"][0]
        mean = float(np.average(averaged, weights=weights))
        rows.append((name, float(np.average((averaged - mean) ** 2, weights=weights)) / variance))
    rows.sort(key=lambda row: -row[1])
    return {"shown": True, "r2": r2, "rows": rows,
            "reason": f"the parameters explain {r2:.0%} of the score's variance out of bag (R² {r2:.2f}); each "
                      "bar is the share one parameter explains alone (its main effect)"}


def _encode(dim, value):
    """A parameter as a number for the forest; an inactive one (None, in a conditional space) as a value of its
    own, below every real one, so that the forest can split it off."""
    from skopt.space import Categorical

    if value is None and not isinstance(dim, Categorical):
        low = math.log10(dim.low) if getattr(dim, "prior", None) == "log-uniform" else float(dim.low)
        return low - 1.0 - abs(low)
    if isinstance(dim, Categorical):
        return float([repr(c) for c in dim.categories].index(repr(value))) if repr(value) in map(repr, dim.categories) \
            else -1.0
    value = float(value)
    return math.log10(value) if getattr(dim, "prior", None) == "log-uniform" and value > 0 else value


def _grid(column):
    """Where to evaluate the partial dependence, and how much of the data each point stands for."""
    import numpy as np

    values, counts = np.unique(column, return_counts=True)
    if len(values) <= GRID:
        return values, counts.astype(float)
    return np.quantile(column, np.linspace(0.02, 0.98, GRID)), np.ones(GRID)
