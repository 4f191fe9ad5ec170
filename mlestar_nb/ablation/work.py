"""What a worker does with one unit of an ablation: one (variant, repeat, fold) fit and score.

The payload (variants, X, y, folds, scoring) is shipped once per study; a task
carries only three indices. Every outcome comes back as a plain dict, a failing
fit included: it is data about that variant, not a crash of the study.
"""
import collections
import os
import threading
from dataclasses import dataclass, field

from ..components import ablating
from ..executors.shipping import resolve
from ..runs.envelope import UsageProblem, as_score, is_estimator, run_enveloped, seed_for, seeded


@dataclass
class AblationPayload:
    variants: list                 # Variant objects, baseline first
    folds: list = None             # per repeat, [(train, test), ...]; None: the cell scores itself
    X: object = None
    y: object = None
    scoring: object = None
    blocks: object = None          # cell form: CellBlocks or a function using component()
    seed: int = 0
    seed_globals: bool = True      # False on the threads backend, where the kernel's RNGs are shared
    token: str = field(default_factory=lambda: os.urandom(8).hex())


_cache = collections.OrderedDict()   # (token, what, variant) -> value; small, per process
_cache_lock = threading.Lock()
CACHE_SIZE = 4


def run_unit(handle, variant, repeat, fold):
    """Fit and score one variant on one fold of one repeat (fold None: run the cell once for this repeat)."""
    payload = resolve(handle)

    def work():
        if payload.blocks is None:
            return [_fit_pipeline(payload, variant, repeat, fold)]
        if fold is None:
            return _score_cell(payload, variant, repeat)
        return [_fit_cell_estimator(payload, variant, repeat, fold)]

    outcome = run_enveloped(work)
    outcome.update(variant=variant, repeat=repeat, fold=fold, scores=outcome.pop("value"))
    return outcome


# -- the line form -------------------------------------------------------------
def _fit_pipeline(payload, v, r, k):
    from sklearn.base import clone

    X = _cached(payload, "X", v, lambda: _columns(payload.X, payload.variants[v].columns))
    return _fit_and_score(clone(payload.variants[v].estimator), X, payload.y, payload.folds[r][k],
                          payload, (r, k))


def _columns(X, keep):
    if keep is None:
        return X
    from sklearn.utils import _safe_indexing

    return _safe_indexing(X, keep, axis=1)


def _fit_and_score(estimator, X, y, split, payload, seed_key):
    from sklearn.metrics import check_scoring
    from sklearn.utils import _safe_indexing

    train, test = split
    with _seeded(payload, *seed_key):
        estimator.fit(_safe_indexing(X, train), _safe_indexing(y, train))
        scorer = check_scoring(estimator, scoring=payload.scoring)
        return as_score(scorer(estimator, _safe_indexing(X, test), _safe_indexing(y, test)))


# -- the cell form -------------------------------------------------------------
def _run_blocks(payload, v):
    """Run the cell (or function) with this variant's block switched off; return (value, data or None)."""
    blocks = payload.blocks
    with ablating(payload.variants[v].block):
        if hasattr(blocks, "run"):
            return blocks.run()
        return blocks(), None


def _score_cell(payload, v, r):
    with _seeded(payload, r):
        value, _ = _run_blocks(payload, v)
    if is_estimator(value):
        raise UsageProblem(f"the cell ended with an unfitted {type(value).__name__} but no data to score it "
                             "on; add --data X y (and --cv K, --scoring S), or end the cell with a score")
    if isinstance(value, dict):
        if "score" not in value:
            raise ValueError(f"the cell returned a dict without 'score' (keys: {sorted(value)})")
        value = value["score"]
    if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) == 1:
        scores = [as_score(s) for s in value]
        if not scores:
            raise ValueError("the cell returned an empty list of scores")
        return scores
    return [as_score(value)]


def _fit_cell_estimator(payload, v, r, k):
    from sklearn.base import clone
    from sklearn.utils.validation import _num_samples

    def build():
        with _seeded(payload):
            return _run_blocks(payload, v)

    value, data = _cached(payload, "cell", v, build)
    if not is_estimator(value):
        raise UsageProblem(f"with --data the cell must end with an unfitted estimator to cross-validate, but "
                             f"it ended with {type(value).__name__}; drop --data to use that value as the score")
    X, y = data if data is not None else (payload.X, payload.y)
    if _num_samples(X) != _num_samples(payload.y) or _num_samples(y) != _num_samples(payload.y):
        raise ValueError(f"the cell changed the number of rows of the data ({_num_samples(payload.y)} -> "
                         f"{_num_samples(X)}); the folds were drawn on the notebook's data, so keep every row")
    return _fit_and_score(clone(value), X, y, payload.folds[r][k], payload, (r, k))


# -- helpers ---------------------------------------------------------------------
def _cached(payload, what, v, build):
    key = (payload.token, what, v)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = build()
    with _cache_lock:
        _cache[key] = value
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return value


def _seeded(payload, *key):
    """Seed `random` and `numpy.random` alike for every variant of the same (repeat, fold).

    Common random numbers: an estimator left with random_state=None draws the
    same numbers in the baseline and in each variant, so their difference is
    the component's, not the generator's.
    """
    return seeded(seed_for(payload.seed, *key) if payload.seed_globals else None)


__all__ = ["AblationPayload", "run_unit"]
