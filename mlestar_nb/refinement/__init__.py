"""MLE-STAR's refinement loop: ablate, refine the most impactful component, keep only improvements, ensemble.

`refine()` (loop.py) drives it; spaces.py holds the built-in search spaces,
ensemble.py the ensembles, leakage.py the leakage guards, result.py the result
and views.py its live views.
"""
from .loop import refine
from .result import RefineResult, RoundRecord

__all__ = ["refine", "RefineResult", "RoundRecord"]
