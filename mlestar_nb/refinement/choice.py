"""Which component a round refines, and the space its search covers.

The ablation ranks the components; the round takes the most impactful one
whose step is not refined yet and has a space: `--spaces[step]`, else the
built-in one (spaces.py). A step ranked harmful is tried without it instead.
"""
import numpy as np

from ..ablation.variants import is_off
from .spaces import default_space


def choose(study, pipe, spaces, refined, X):
    """The most impactful component (by ablation rank) whose step is not refined yet and can be changed."""
    params = pipe.get_params()
    for row in study.ranking:
        if row.kind not in ("step", "param") or row.delta is None:
            continue
        step = row.component if row.kind == "step" else row.component.rsplit("__", 1)[0]
        if step in refined or step not in params:
            continue
        if row.kind == "step" and row.label == "harmful" and removable(pipe, step):
            return row, step, None
        space = space_for(step, params[step], spaces, X)
        if space:
            return row, step, space
    return None


def final_step_space(pipe, step, spaces, X):
    """A transformer's best setting depends on the model after it: tune the final estimator alongside it."""
    from sklearn.pipeline import Pipeline

    if not isinstance(pipe, Pipeline) or step == pipe.steps[-1][0]:
        return {}
    name, estimator = pipe.steps[-1]
    space = space_for(name, estimator, spaces, X) or {}
    return {f"{name}__{k}": v for k, v in space.items()}


def removable(pipe, step):
    from sklearn.pipeline import Pipeline

    return not (isinstance(pipe, Pipeline) and step == pipe.steps[-1][0])


def space_for(step, estimator, spaces, X):
    short = step.rsplit("__", 1)[-1]
    if spaces:
        for key in (step, short):
            if key in spaces:
                return spaces[key]
    return default_space(estimator, n_features=np.asarray(X).shape[1] if np.asarray(X).ndim == 2 else None)


def joint_space(pipe, spaces, X):
    """Every step's space at once, with the pipeline's own parameter names (the last round's polish)."""
    space = {}
    for name, estimator in pipe.steps:
        if not is_off(estimator):
            space.update({f"{name}__{k}": v for k, v in (space_for(name, estimator, spaces, X) or {}).items()})
    return space
