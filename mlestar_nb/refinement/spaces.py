"""Built-in search spaces for common scikit-learn estimators and transformers.

`%mlestar_refine` tunes one pipeline step at a time; a step whose class is
listed here needs no space from the user (`--spaces` overrides or adds). Keys
are class names; values are spaces in mlestar_nb's shorthand, over the step's
own parameter names. The list is documented in docs/refine.md. Scalers have no
entry on purpose: their switches rarely change a score, and a round spent on
them is a round not spent on a component that can improve.
"""
_LINEAR_C = {"C": (1e-3, 1e3, "log-uniform")}
_FOREST = {"n_estimators": (50, 400), "max_depth": [None, 4, 8, 16], "min_samples_leaf": (1, 10),
           "max_features": ["sqrt", "log2", 0.5, 1.0]}
_GBM = {"learning_rate": (1e-3, 0.5, "log-uniform"), "n_estimators": (50, 400), "max_depth": (2, 6),
        "subsample": (0.5, 1.0)}
_HGB = {"learning_rate": (1e-3, 0.5, "log-uniform"), "max_depth": [None, 2, 3, 4, 6, 8],
        "l2_regularization": (1e-6, 10.0, "log-uniform"), "max_leaf_nodes": (7, 63), "min_samples_leaf": (5, 50)}
_KNN = {"n_neighbors": (1, 40), "weights": ["uniform", "distance"], "p": [1, 2]}
_TREE = {"max_depth": [None, 2, 4, 8, 16], "min_samples_leaf": (1, 20)}

DEFAULT_SPACES = {
    # classifiers
    "LogisticRegression": _LINEAR_C,
    "LinearSVC": _LINEAR_C,
    "SVC": {"C": (1e-2, 1e3, "log-uniform"), "gamma": (1e-5, 1.0, "log-uniform")},
    "KNeighborsClassifier": _KNN,
    "RandomForestClassifier": _FOREST,
    "ExtraTreesClassifier": _FOREST,
    "GradientBoostingClassifier": _GBM,
    "HistGradientBoostingClassifier": _HGB,
    "DecisionTreeClassifier": _TREE,
    # regressors
    "Ridge": {"alpha": (1e-4, 1e3, "log-uniform")},
    "Lasso": {"alpha": (1e-5, 10.0, "log-uniform")},
    "ElasticNet": {"alpha": (1e-5, 10.0, "log-uniform"), "l1_ratio": (0.0, 1.0)},
    "SVR": {"C": (1e-2, 1e3, "log-uniform"), "gamma": (1e-5, 1.0, "log-uniform"), "epsilon": (1e-3, 1.0, "log-uniform")},
    "KNeighborsRegressor": _KNN,
    "RandomForestRegressor": _FOREST,
    "ExtraTreesRegressor": _FOREST,
    "GradientBoostingRegressor": _GBM,
    "HistGradientBoostingRegressor": _HGB,
    "DecisionTreeRegressor": _TREE,
    # transformers
    "PolynomialFeatures": {"degree": (1, 3), "interaction_only": [False, True]},
    "SimpleImputer": {"strategy": ["mean", "median", "most_frequent"]},
    "QuantileTransformer": {"n_quantiles": (10, 1000), "output_distribution": ["uniform", "normal"]},
    "PowerTransformer": {"standardize": [True, False]},
    "Normalizer": {"norm": ["l1", "l2", "max"]},
    "KBinsDiscretizer": {"n_bins": (3, 20), "strategy": ["uniform", "quantile", "kmeans"]},
    "SplineTransformer": {"n_knots": (3, 12), "degree": (1, 4)},
    "Nystroem": {"n_components": (20, 300), "gamma": (1e-4, 1.0, "log-uniform")},
}


def default_space(estimator, n_features=None):
    """The built-in space for this step, or None; ranges that depend on the data are clipped to it."""
    space = DEFAULT_SPACES.get(type(estimator).__name__)
    if space is None:
        name = type(estimator).__name__
        if name == "PCA" and n_features:
            return {"n_components": (1, max(2, int(n_features)))} if n_features > 1 else None
        if name == "SelectKBest" and n_features:
            return {"k": (1, max(2, int(n_features)))} if n_features > 1 else None
        return None
    params = estimator.get_params(deep=False)
    return {k: v for k, v in space.items() if k in params}
