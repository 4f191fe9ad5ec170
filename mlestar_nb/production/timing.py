"""How long the saved model takes to predict: median and 95th percentile for 1 row and for 1,000 rows.

Measured in the saving process on rows of the training data (repeated when
there are fewer than 1,000), each size for a fixed time budget, so a slow
model costs a bounded wait and a fast one gets enough calls for a stable
median. Figures depend on the machine: the manifest records which. A search
with several objectives times its trials the same way (`search.measures`),
with a smaller budget.
"""
from ..search.measures import repeated_ms, rows_of

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
        times = repeated_ms(call, rows_of(X, rows), budget, fewest, most)
        key = "1_row" if rows == 1 else f"{rows}_rows"
        out[key] = {"median_ms": float(np.median(times)), "p95_ms": float(np.percentile(times, 95)),
                    "calls": len(times)}
    return out
