"""How long the saved model takes to predict: median and 95th percentile for 1 row and for 1,000 rows.

Measured in the saving process on rows of the training data (repeated when
there are fewer than 1,000), each size for a fixed time budget, so a slow
model costs a bounded wait and a fast one gets enough calls for a stable
median. Figures depend on the machine: the manifest records which.
"""
import time

BUDGETS = {1: (0.5, 5, 200), 1000: (1.0, 3, 30)}   # rows -> (seconds, fewest calls, most calls)


def prediction_latency(estimator, X):
    """{"method", "1_row": {...}, "1000_rows": {...}} in milliseconds; None without data or a predict method."""
    import numpy as np

    method = next((m for m in ("predict", "transform") if hasattr(estimator, m)), None)
    if X is None or method is None or len(X) == 0:
        return None
    call = getattr(estimator, method)
    out = {"method": method}
    for rows, (budget, fewest, most) in BUDGETS.items():
        index = np.arange(rows) % len(X)
        batch = X.iloc[index] if hasattr(X, "iloc") else np.asarray(X)[index]
        call(batch)   # warm-up: first-call costs (imports, caches) are not the steady state
        times = []
        deadline = time.perf_counter() + budget
        while len(times) < most and (len(times) < fewest or time.perf_counter() < deadline):
            clock = time.perf_counter()
            call(batch)
            times.append(1000 * (time.perf_counter() - clock))
        key = "1_row" if rows == 1 else f"{rows}_rows"
        out[key] = {"median_ms": float(np.median(times)), "p95_ms": float(np.percentile(times, 95)),
                    "calls": len(times)}
    return out
