"""Score given estimators on given folds, fanned out over the executor like an ablation's units.

`%mlestar_refine` compares its current solution with each candidate on the
same folds (paired). Running those fits as ablation units puts them on the
same workers as everything else (loky, or the Dask cluster with
``backend="dask"``), with the same common random numbers per fold and the same
handling of a worker that dies; a fit that fails is data about that
candidate, not a crash of the run.
"""
from ..executors import make_executor
from ..validate import workers
from .study import Study
from .variants import Variant
from .work import AblationPayload


class PairedScores:
    """Per-estimator fold scores, in fold order, and the first error of any estimator that failed a fold."""

    def __init__(self, scores, errors):
        self.scores = scores
        self.errors = errors


def score_on_folds(estimators, X, y, folds, *, scoring=None, jobs=None, backend="loky", client=None, seed=0):
    """Fit and score every estimator on every (train, test) fold; KeyboardInterrupt if interrupted.

    Returns a `PairedScores`: ``scores[i]`` is the list of estimator i's test scores in fold order, or None
    when one of its fits failed (``errors[i]`` says why).
    """
    variants = [Variant(f"solution{i}", "baseline" if i == 0 else "step", estimator=est)
                for i, est in enumerate(estimators)]
    payload = AblationPayload(variants=variants, folds=[list(folds)], X=X, y=y, scoring=scoring, seed=seed,
                              seed_globals=backend != "threads")
    units = [(v, 0, k) for v in range(len(variants)) for k in range(len(folds))]
    options = {"client": client} if backend == "dask" else {}
    executor = make_executor(backend, workers(jobs, backend), **options)
    study = Study(payload=payload, units=units, executor=executor).run()
    if study.status in ("interrupted", "stopped"):
        raise KeyboardInterrupt
    scores, errors = [], []
    for v in range(len(variants)):
        mine = study.scores[v]
        complete = len(mine) == len(folds) and not study.errors[v]
        scores.append([mine[(0, k)] for k in range(len(folds))] if complete else None)
        errors.append(None if complete else (study.errors[v][0] if study.errors[v] else "not every fold ran"))
    return PairedScores(scores, errors)
