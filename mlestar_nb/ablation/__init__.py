"""Ablation studies: which component of a pipeline or of a notebook cell matters most.

`ablate()` (api.py) builds the variants (variants.py), fans every (variant,
repeat, fold) fit out over an executor (runner.py, work.py), compares each
variant with the baseline on the same folds (stats.py) and returns an
`AblationResult` (result.py). The cell form's blocks are found in blocks.py.
"""
from .api import ablate
from .result import AblationResult, ComponentImpact

__all__ = ["ablate", "AblationResult", "ComponentImpact"]
