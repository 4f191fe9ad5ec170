"""Ship one object to worker processes once per search, with large arrays memory-mapped.

The object (the cell's objective and the names it reads) is cloudpickled to a
file; every numpy array of at least `MMAP_MIN_BYTES` met anywhere in it (inside
a DataFrame or a closure too) is written beside it as a ``.npy`` file and comes
back in the worker as a read-only ``np.memmap``. Workers on the same machine
then share the operating system's one copy of the data instead of each holding
its own, and no trial carries more than a file path.
"""
import io
import os
import shutil
import tempfile

import cloudpickle
import numpy as np

from ..errors import ConfigError

MMAP_MIN_BYTES = 1 << 20

_loaded = {"path": None, "value": None}


class SharedFile:
    """A handle to a shipped object: only its path travels with each task."""

    def __init__(self, path, arrays=0):
        self.path = path
        self.arrays = arrays     # how many arrays beside it are memory-mapped by the workers

    def resolve(self):
        if _loaded["path"] != self.path:
            # keep only the newest search's payload, so a finished search frees its memory
            _loaded["path"], _loaded["value"] = None, None
            with open(self.path, "rb") as fh:
                value = cloudpickle.load(fh)
            _loaded["path"], _loaded["value"] = self.path, value
        return _loaded["value"]


class InProcess:
    """A handle for executors that share the kernel's memory (threads, sequential)."""

    def __init__(self, value):
        self.value = value

    def resolve(self):
        return self.value


def resolve(handle):
    return handle.resolve() if hasattr(handle, "resolve") else handle


def _load_memmap(path):
    return np.load(path, mmap_mode="r")


class _ArrayExtractingPickler(cloudpickle.Pickler):
    def __init__(self, file, folder):
        super().__init__(file, protocol=5)
        self._folder = folder
        self.arrays = 0

    def reducer_override(self, obj):
        if (type(obj) is np.ndarray or isinstance(obj, np.memmap)) and obj.dtype.hasobject is False \
                and obj.nbytes >= MMAP_MIN_BYTES:
            self.arrays += 1
            path = os.path.join(self._folder, f"array-{self.arrays}.npy")
            np.save(path, obj, allow_pickle=False)
            return _load_memmap, (path,)
        return super().reducer_override(obj)


def _scratch_root():
    """Prefer RAM-backed /dev/shm, as joblib does, when it has room."""
    shm = "/dev/shm"
    try:
        if os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 2 << 30:
            return shm
    except OSError:
        pass
    return None


def dump_shared(value):
    """Write `value` for workers; return (handle, folder to delete when the search ends)."""
    folder = tempfile.mkdtemp(prefix="mlestar-", dir=_scratch_root())
    buffer = io.BytesIO()
    pickler = _ArrayExtractingPickler(buffer, folder)
    try:
        pickler.dump(value)
        path = os.path.join(folder, "payload.pkl")
        with open(path, "wb") as fh:
            fh.write(buffer.getbuffer())
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)   # nothing is left in /dev/shm by a failed start
        raise
    return SharedFile(path, arrays=pickler.arrays), folder


class _Discard(io.RawIOBase):
    def writable(self):
        return True

    def write(self, data):
        return memoryview(data).nbytes


class _ProbingPickler(cloudpickle.Pickler):
    """Pickles to nowhere and skips large arrays (they are memory-mapped, never pickled): a cheap dry run."""

    def reducer_override(self, obj):
        if type(obj) is np.ndarray and not obj.dtype.hasobject and obj.nbytes >= MMAP_MIN_BYTES:
            return np.zeros, (0,)
        return super().reducer_override(obj)


def _pickling_error(value):
    try:
        _ProbingPickler(_Discard(), protocol=5).dump(value)
    except Exception as err:  # pickle raises TypeError, PicklingError, AttributeError, ... depending on the object
        return err
    return None


def check_shippable(value, variables=None, what="the objective"):
    """Refuse, in one line and before anything starts, a value worker processes cannot receive.

    `variables` are the notebook variables the value carries (a cell's), tried one by one so that the
    message names the one to change.
    """
    err = _pickling_error(value)
    if err is None:
        return
    for name, item in (variables or {}).items():
        item_err = _pickling_error(item)
        if item_err is not None:
            raise ConfigError(
                f"variable '{name}' (a {type(item).__name__}) cannot be sent to the worker processes "
                f"({_first_line(item_err)}); create it inside the cell, pass the data it holds instead, or run "
                "with --backend threads") from None
    raise ConfigError(f"{what} cannot be sent to the worker processes ({_first_line(err)}); build what it uses "
                      "inside it, or run with backend='threads'") from None


def _first_line(err):
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__
