"""Leakage guards: warnings for the two mistakes that make a validation score lie.

MLE-STAR's leakage checker caught features built from the target (validation
accuracy up, test accuracy down). Here: a single feature that predicts the
target almost perfectly on its own, and preprocessing fitted on all rows of the
data before the CV split (seen in the notebook's own input history).
"""
import re

import numpy as np

SINGLE_FEATURE_LIMIT = 0.99
MAX_COLUMNS = 200


def single_feature_leaks(X, y, classification, seed=0):
    """Columns that alone score over SINGLE_FEATURE_LIMIT (balanced accuracy or R^2) with a small tree."""
    from sklearn.model_selection import cross_val_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    values = np.asarray(X)
    if values.ndim != 2 or not np.issubdtype(values.dtype, np.number):
        return []
    names = list(getattr(X, "columns", range(values.shape[1])))
    rng = np.random.RandomState(seed)
    columns = range(values.shape[1])
    if values.shape[1] > MAX_COLUMNS:
        columns = sorted(rng.choice(values.shape[1], MAX_COLUMNS, replace=False))
    model = DecisionTreeClassifier(max_depth=3, random_state=seed) if classification \
        else DecisionTreeRegressor(max_depth=3, random_state=seed)
    scoring = "balanced_accuracy" if classification else "r2"
    leaks = []
    for column in columns:
        feature = values[:, [column]]
        if not np.all(np.isfinite(feature)):
            continue
        score = cross_val_score(model, feature, y, cv=3, scoring=scoring).mean()
        if score >= SINGLE_FEATURE_LIMIT:
            leaks.append((names[column], float(score)))
    return leaks


_FIT_ALL = r"^\s*{name}\s*=.*(\.fit_transform\(|\.fit\(.*\)\.transform\()"


def preprocessing_fitted_on_all_rows(inputs, x_name):
    """Notebook inputs (In[...]) that assigned `x_name` from a transform fitted on the whole data."""
    pattern = re.compile(_FIT_ALL.format(name=re.escape(x_name)), re.MULTILINE)
    return [i for i, source in enumerate(inputs) if source and pattern.search(source)]


def leakage_warnings(X, y, classification, inputs=(), x_name=None):
    out = []
    for name, score in single_feature_leaks(X, y, classification):
        out.append(f"feature {name!r} alone predicts the target almost perfectly (cross-validated score "
                   f"{score:.3f}): it may be computed from the target; drop it or check how it is built")
    if x_name:
        for cell in preprocessing_fitted_on_all_rows(inputs, x_name):
            out.append(f"In[{cell}] fits a transform on all rows of {x_name} before the CV split, which leaks the "
                       "validation folds into training; put the transform inside the pipeline instead")
    return out
