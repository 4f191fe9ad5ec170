"""Continuation: a promoted configuration goes on from the object its previous rung fitted.

With a progressive budget (search/fidelity.py) a configuration runs at a low
budget, and only the promising ones run again at a higher one. Instead of
starting again, the cell finds what its previous rung left in the variable
`previous` (None on its first rung) and continues it, with ``warm_start`` or
``partial_fit``:

- a cell that ends with an unfitted estimator (``--data X y``) is scored fold
  by fold; each fold's fitted estimator is kept, and at the next rung the cell
  runs once per fold with `previous` bound to that fold's estimator; returning
  it (``previous`` itself, with new settings) continues it on the same fold;
  `previous_budget` is the budget it was fitted at (0 without one), e.g. for
  ``max_iter=epochs - previous_budget`` (an MLP's warm start runs max_iter
  more epochs);
- a cell that computes its score itself assigns to `previous` what the next
  rung should continue from (``previous = model``); a function objective takes
  a ``previous`` argument and returns ``{"score": ..., "previous": model}``.

What is kept lives on the search's `Keeper`, which travels in the payload: a
worker keeps the last `IN_MEMORY` objects in its memory (so the worker that
fitted an object continues it without reading it back), and each one is also
written to a file in the search's temporary folder, where any other worker
finds it. The folder is removed when the search ends, and a worker's copies go
with its copy of the payload (the next search replaces it). Backends that run
in the kernel (threads, sequential) keep everything in memory, dropped at the
end. An object that cannot be found (a remote Dask worker, a resumed search)
means `previous` is None: the configuration starts again at the higher budget.
"""
import collections
import os
import shutil
import tempfile
import threading
import uuid

IN_MEMORY = 4


class Continued:
    """What an objective returned, and the object its next rung continues from."""

    def __init__(self, value, keep):
        self.value, self.keep = value, keep


class Folds(list):
    """The fitted estimators of a cross-validated trial, one per fold."""


class Keeper:
    """Kept objects of one search, by configuration and budget: in memory, and in files any worker can read."""

    def __init__(self, in_kernel):
        self.token = uuid.uuid4().hex[:12]
        self.folder = None if in_kernel else tempfile.mkdtemp(prefix=f"mlestar-continue-{self.token}-")
        self.limit = None if in_kernel else IN_MEMORY
        self._memory = collections.OrderedDict()
        self._lock = threading.Lock()

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_memory"] = collections.OrderedDict()    # a worker's copy starts empty
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _path(self, key, budget):
        return os.path.join(self.folder, f"{key}-{budget!r}.pkl")

    def load(self, key, budget):
        """The object kept for configuration `key` at `budget`, or None."""
        with self._lock:
            if (key, budget) in self._memory:
                self._memory.move_to_end((key, budget))
                return self._memory[(key, budget)]
        if self.folder is None:
            return None
        try:
            import cloudpickle

            with open(self._path(key, budget), "rb") as handle:
                return cloudpickle.load(handle)
        except (OSError, EOFError):
            return None

    def keep(self, key, budget, value):
        with self._lock:
            self._memory[(key, budget)] = value
            while self.limit is not None and len(self._memory) > self.limit:
                self._memory.popitem(last=False)
        if self.folder is None:
            return
        import cloudpickle

        path = self._path(key, budget)
        temporary = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
        try:
            with open(temporary, "wb") as handle:
                cloudpickle.dump(value, handle)
            os.replace(temporary, path)
        except (OSError, TypeError, AttributeError, ValueError):   # unpicklable: only this worker can continue it
            try:
                os.unlink(temporary)
            except OSError:
                pass

    def drop(self, key, budget):
        """Forget an object once its configuration has gone on from it."""
        with self._lock:
            self._memory.pop((key, budget), None)
        if self.folder is not None:
            try:
                os.unlink(self._path(key, budget))
            except OSError:
                pass

    def close(self):
        """The end of the search (in the kernel): drop what is kept and remove the folder."""
        with self._lock:
            self._memory.clear()
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def call(objective, params, previous, budget):
    """Run the objective with `previous` (kept at `budget`); return (value, object to keep). A cell also gets
    `previous_budget` (0 when there is no previous object)."""
    if hasattr(objective, "reads_previous"):
        out = objective(dict(params), previous=previous, previous_budget=budget if previous is not None else 0)
    else:
        out = objective(dict(params), previous=previous)
    if isinstance(out, Continued):
        return out.value, out.keep
    if isinstance(out, dict) and "previous" in out:
        out = dict(out)
        return out, out.pop("previous")
    return out, None


def takes_previous(objective):
    """Whether the objective continues from a previous rung: a cell that reads `previous`, or a function with a
    `previous` parameter."""
    reads = getattr(objective, "reads_previous", None)
    if reads is not None:
        return bool(reads)
    import inspect

    try:
        return "previous" in inspect.signature(objective).parameters
    except (TypeError, ValueError):
        return False
