"""Real runs of each kind, made once per test session, for the report tests (tests/test_report*.py)."""
import functools
import random
import time

import mlestar_nb

KINDS = ("search", "ablation", "refinement", "multiobjective")
SECTIONS = {   # what every report of a kind must show, by section id
    "search": ["run-card", "history", "parallel-coordinates", "slices", "importance", "top-trials", "failures",
               "resources", "notes"],
    "ablation": ["run-card", "ranking", "failures", "resources", "notes"],
    "refinement": ["run-card", "rounds", "history", "parallel-coordinates", "slices", "importance", "top-trials",
                   "failures", "ranking", "resources", "notes"],
    "multiobjective": ["run-card", "pareto-front", "history", "parallel-coordinates", "slices", "importance",
                       "top-trials", "failures", "resources", "notes"],
}
BROKEN = "the broken kind always fails"


def planted(params):
    """x matters (peak at 0.3), noise does not, kind 'broken' fails."""
    time.sleep(0.02)
    if params["kind"] == "broken":
        raise ValueError(BROKEN)
    return -(params["x"] - 0.3) ** 2 + (0.01 if params["kind"] == "a" else 0.0)


@functools.lru_cache(maxsize=None)
def result(kind):
    from sklearn.datasets import load_breast_cancer
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "search":
        # every trial finds the machine "short of memory" (the threshold is above what any machine has free):
        # a real alert from a real reading, to see in the report
        return mlestar_nb.tune(planted, {"x": (0.0, 1.0), "noise": (1, 100), "kind": ["a", "b", "broken"]},
                               trials=45, strategy="random", seed=3, jobs=2, backend="threads", journal=False,
                               progress=False, alert_thresholds={"memory_pressure_below": 1.01})
    if kind == "multiobjective":   # accuracy-like against cost-like, with a constraint some trials break
        return mlestar_nb.tune(lambda p: {"score": 1 - (1 - p["x"]) ** 2 - 0.1 * p["y"], "cost": 1 + 9 * p["x"] ** 2
                                          + p["y"], "memory": p["x"] + p["y"]},
                               {"x": (0.0, 1.0), "y": (0.0, 1.0)}, trials=30, objectives="score:max,cost:min",
                               constraints=["memory<=1.2"], strategy="evolution", seed=3, jobs=2, backend="threads",
                               journal=False, progress=False)
    if kind == "noise":
        rng = random.Random(0)
        return mlestar_nb.tune(lambda p: rng.random(), {"x": (0.0, 1.0), "y": (0.0, 1.0)}, trials=30,
                               strategy="random", seed=0, backend="sequential", journal=False, progress=False)
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), PCA(n_components=5), KNeighborsClassifier(n_neighbors=3))
    if kind == "ablation":
        return mlestar_nb.ablate(pipe, X, y, cv=3, repeats=2, jobs=2, progress=False)
    return mlestar_nb.refine(pipe, X, y, cv=3, rounds=2, trials=5, holdout=0.2, jobs=2, progress=False)
