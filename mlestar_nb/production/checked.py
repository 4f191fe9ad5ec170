"""`CheckedModel`: a loaded estimator that checks every input against the schema it was saved with.

A wrong number or wrong names of columns is a one-line `ConfigError` naming
what differs, before scikit-learn or numpy sees the data. Besides DataFrames
and arrays it takes what a JSON request carries: pandas' "split" layout
({"columns": [...], "data": [[...]]}, as in input_example.json), a dict of
column -> values, or a list of row dicts.
"""
from ..errors import ConfigError

CHECKED_METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform", "score")


class CheckedModel:
    """The estimator (`.estimator`), its `manifest` and `path`; prediction methods check their input first.

    Every other attribute (classes_, steps, get_params ...) is the estimator's own.
    """

    def __init__(self, estimator, manifest, path):
        self.estimator = estimator
        self.manifest = manifest
        self.path = path
        self.schema = manifest.get("data_schema") or {}

    def __getattr__(self, name):
        if name in CHECKED_METHODS and hasattr(self.estimator, name):
            method = getattr(self.estimator, name)

            def checked(X, *args, **kwargs):
                return method(self.check_input(X), *args, **kwargs)

            checked.__name__ = name
            checked.__doc__ = f"{type(self.estimator).__name__}.{name}, after checking X against the saved schema."
            return checked
        if name in ("estimator", "manifest", "path", "schema"):   # not set yet (copy, unpickling)
            raise AttributeError(name)
        return getattr(self.estimator, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(dir(self.estimator)))

    def __repr__(self):
        return f"CheckedModel({self.estimator!r}) from {self.path}"

    def check_input(self, X):
        """X as the estimator expects it, or a ConfigError saying what differs from the saved schema."""
        names = self.schema.get("feature_names")
        n_features = self.schema.get("n_features")
        X = _from_json_like(X, names)
        if names:
            if not hasattr(X, "columns"):
                raise ConfigError(f"the model was trained on a DataFrame with columns {_listing(names)}; pass a "
                                  f"DataFrame (or a dict, or a list of row dicts) with those columns, not a "
                                  f"{type(X).__name__}")
            given = [str(c) for c in X.columns]
            missing = [n for n in names if n not in given]
            extra = [c for c in given if c not in names]
            if missing or extra:
                parts = ([f"missing {_listing(missing)}"] if missing else []) + \
                        ([f"unexpected {_listing(extra)}"] if extra else [])
                raise ConfigError(f"the input's columns do not match the model's ({'; '.join(parts)}); it expects "
                                  f"{len(names)} columns: {_listing(names)}")
            if given != list(names):
                X = X[list(names)]   # the same columns in another order: put them in the trained order
            _check_dtypes(X, self.schema.get("dtypes") or {})
            return X
        if n_features is not None:
            import numpy as np

            shape = np.shape(X)
            if len(shape) != 2:
                raise ConfigError(f"the model expects a 2-D input of {n_features} columns (rows x features), got "
                                  f"shape {shape}; wrap one row as [row]")
            if shape[1] != n_features:
                raise ConfigError(f"the model expects {n_features} columns, got {shape[1]}")
        return X


def _from_json_like(X, names):
    if isinstance(X, dict) and "columns" in X and "data" in X:
        import pandas as pd

        return pd.DataFrame(X["data"], columns=X["columns"])
    if isinstance(X, dict) and "inputs" in X and len(X) == 1:
        return X["inputs"]
    if isinstance(X, dict) or (isinstance(X, list) and X and all(isinstance(row, dict) for row in X)):
        import pandas as pd

        try:
            return pd.DataFrame(X)
        except ValueError:    # a dict of scalars: one row
            return pd.DataFrame([X])
    return X


def _check_dtypes(X, dtypes):
    """A column saved as numbers must not arrive as text (scikit-learn's error would be a numpy traceback)."""
    from pandas.api.types import is_numeric_dtype

    for name, saved in dtypes.items():
        if name not in X.columns:
            continue
        numeric_before = saved.startswith(("int", "uint", "float", "bool", "Int", "UInt", "Float"))
        if numeric_before and not is_numeric_dtype(X[name]):
            raise ConfigError(f"column '{name}' was {saved} when the model was trained but is "
                              f"{X[name].dtype} here; convert it to numbers")


def _listing(names, limit=12):
    shown = ", ".join(map(str, list(names)[:limit]))
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")
