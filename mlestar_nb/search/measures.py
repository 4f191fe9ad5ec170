"""What a worker measures of a fitted model beside its score, when a search has several objectives.

- ``fit_s``: the mean time of one fit, over the cross-validation folds (scikit-learn's own fit_time);
- ``predict_ms``: the median time, in milliseconds, to predict 1,000 rows (rows of X, repeated when there are
  fewer), after one warm-up call, over at least 3 and at most 15 calls within about 0.2 s, with the model of the
  last fold;
- ``size_kb``: the size of that model pickled (protocol 5, as joblib writes it), in KiB.

They are measured in the worker, beside the other trials running at the same time: on a machine with fewer cores
than workers the times include that contention (docs/multiobjective.md).
"""
import pickle
import statistics
import time

PREDICT_ROWS = 1000
PREDICT_BUDGET = (0.2, 3, 15)     # seconds, fewest calls, most calls


def built_in_measures(estimator, X, fit_times):
    return {"fit_s": float(statistics.fmean(fit_times)), "predict_ms": predict_ms(estimator, X),
            "size_kb": len(pickle.dumps(estimator, protocol=5)) / 1024}


def predict_ms(estimator, X):
    method = getattr(estimator, "predict", None) or getattr(estimator, "transform")
    times = repeated_ms(method, rows_of(X, PREDICT_ROWS), *PREDICT_BUDGET)
    return float(statistics.median(times))


def rows_of(X, rows):
    """`rows` rows of X, cycling through them when X has fewer."""
    import numpy as np

    index = np.arange(rows) % len(X)
    return X.iloc[index] if hasattr(X, "iloc") else np.asarray(X)[index]


def repeated_ms(call, batch, budget_s, fewest, most):
    """Milliseconds of each ``call(batch)``: one warm-up (first-call costs are not the steady state), then calls
    until `budget_s` has passed, at least `fewest` and at most `most` of them."""
    call(batch)
    times = []
    deadline = time.perf_counter() + budget_s
    while len(times) < most and (len(times) < fewest or time.perf_counter() < deadline):
        clock = time.perf_counter()
        call(batch)
        times.append(1000 * (time.perf_counter() - clock))
    return times
