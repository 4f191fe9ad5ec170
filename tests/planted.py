"""Pipelines whose truth is known, for checking ablation labels (tests/test_ablation.py and
benchmarks/ablation_labels.py share them, so that the figures in docs/ablation.md and the test measure the same)."""
import numpy as np


def planted_studies(seed, n=120):
    """Yield (pipeline, X, y, scoring, {component: role}); role is essential, useless (it moves the scores but
    carries nothing) or no-op (it changes no number)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.feature_selection import VarianceThreshold
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, PolynomialFeatures, StandardScaler

    rng = np.random.RandomState(seed)
    y = rng.randint(0, 2, n)
    # 4 informative columns, 2 of pure noise on a 100x larger scale: kNN needs the scaler
    X = np.hstack([rng.normal(size=(n, 4)) + 1.0 * y[:, None], 100 * rng.normal(size=(n, 2))])
    yield (Pipeline([("scale", StandardScaler()), ("constant", VarianceThreshold()),
                     ("knn", KNeighborsClassifier(15))]),
           X, y, None, {"scale": "essential", "knn": "essential", "constant": "no-op"})
    X = np.hstack([rng.normal(size=(n, 4)) + 0.6 * y[:, None], rng.normal(size=(n, 2))])
    order = rng.permutation(6)   # permuting columns changes which trees a forest grows, not what it can learn
    yield (Pipeline([("permute", FunctionTransformer(lambda Z, o=order: Z[:, o])),
                     ("forest", RandomForestClassifier(n_estimators=5, max_features=1, max_depth=3, random_state=0))]),
           X, y, None, {"permute": "useless"})
    X = rng.normal(size=(n, 3))   # about 3 % accuracy lives in an interaction only the polynomial features show
    y = (X[:, 2] + 0.45 * X[:, 0] * X[:, 1] + 0.5 * rng.normal(size=n) > 0).astype(int)
    yield (Pipeline([("poly", PolynomialFeatures(2, interaction_only=True)), ("scale", StandardScaler()),
                     ("lr", LogisticRegression())]), X, y, None, {"poly": "essential"})
    X = np.hstack([rng.normal(size=(n, 3)), 50 * rng.normal(size=(n, 2))])   # unscaled, kNN's error doubles
    y = X[:, 0] + X[:, 1] - X[:, 2] + 0.5 * rng.normal(size=n)
    yield (Pipeline([("scale", StandardScaler()), ("knn", KNeighborsRegressor(10))]), X, y, "neg_mean_squared_error",
           {"scale": "essential"})
