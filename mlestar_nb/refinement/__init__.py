"""MLE-STAR's refinement loop: ablate, refine the most impactful component, keep only improvements, ensemble.

`refine()` (loop.py) drives it: inputs.py checks and splits the data once,
choice.py picks each round's component and space (built-in spaces in
spaces.py), memory.py keeps every trial so that later searches start from
them, ensemble.py combines the best solutions, leakage.py warns about leaks,
result.py holds the result and views.py draws it live.
"""
from .loop import refine
from .result import RefineResult, RoundRecord

__all__ = ["refine", "RefineResult", "RoundRecord"]
