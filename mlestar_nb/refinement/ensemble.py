"""Ensembles of the best distinct solutions of the rounds, kept only when they beat the best single one.

MLE-STAR's ensemble step tries probability averaging, stacking with a linear
meta-learner and searched weights. Each is scored on the same folds as the
solutions, so the comparison with the best single solution is paired.
"""
import numpy as np
from scipy import optimize

ENSEMBLES = ("none", "vote", "stack", "weights")


def make_ensemble(kind, solutions, classification, X, y, splits, scoring=None):
    """An unfitted ensemble estimator of `solutions` [(name, estimator)], or None for 'none'."""
    from sklearn.ensemble import (StackingClassifier, StackingRegressor, VotingClassifier,
                                  VotingRegressor)
    from sklearn.linear_model import LogisticRegression, RidgeCV

    if kind == "none" or len(solutions) < 2:
        return None
    if kind == "stack":
        if classification:
            return StackingClassifier(solutions, final_estimator=LogisticRegression(max_iter=1000), cv=3)
        return StackingRegressor(solutions, final_estimator=RidgeCV(), cv=3)
    weights = None
    if kind == "weights":
        weights = _searched_weights(solutions, classification, X, y, splits, scoring)
    if classification:
        soft = all(hasattr(est, "predict_proba") for _, est in solutions)
        return VotingClassifier(solutions, voting="soft" if soft else "hard", weights=weights)
    return VotingRegressor(solutions, weights=weights)


def _searched_weights(solutions, classification, X, y, splits, scoring):
    """Weights on the simplex that minimize the log-loss (classification) or squared error (regression)
    of the solutions' blended out-of-fold predictions; the ensemble is then scored with `scoring` like
    every other candidate."""
    from sklearn.metrics import log_loss, mean_squared_error
    from sklearn.model_selection import cross_val_predict

    soft = classification and all(hasattr(e, "predict_proba") for _, e in solutions)
    if classification and not soft:
        return None  # hard voting: equal weights
    method = "predict_proba" if soft else "predict"
    oof = [cross_val_predict(est, X, y, cv=splits, method=method) for _, est in solutions]
    labels = np.unique(y) if classification else None

    def loss(raw):
        weights = np.exp(raw - raw.max())
        weights /= weights.sum()
        blended = sum(w * p for w, p in zip(weights, oof))
        return log_loss(y, np.clip(blended, 1e-12, 1), labels=labels) if classification \
            else mean_squared_error(y, blended)

    best = optimize.minimize(loss, np.zeros(len(oof)), method="Nelder-Mead", options={"maxiter": 200 * len(oof)})
    weights = np.exp(best.x - best.x.max())
    return [float(w) for w in weights / weights.sum()]
