"""What a worker does around any task: stamp, clock, seed, warnings, output, limits, a one-line error.

A search trial and an ablation unit differ only in the work they do; both run
inside `run_enveloped`, which returns a plain dict. A task that raises is data
about its parameters, not a crash of the run; only `UsageProblem` (the options
cannot work at all) stops the whole run, in the kernel.
"""
import contextlib
import math
import numbers
import os
import random
import socket
import sys
import threading
import time
import traceback

from .. import routed_warnings
from .limits import TrialStopped, enforced, format_bytes

CELL_FILENAME = "<mlestar-cell>"   # the file name cells are compiled under, so errors can cite the cell's line
OUTPUT_LINES = 20                  # last lines of a task's printed output kept on it
OUTPUT_LINE_CHARS = 300
ERROR_LINE_CHARS = 300
WARNINGS_KEPT = 3


class UsageProblem(Exception):
    """The task's value cannot be used with the options given (the user must change them): the run stops."""


def run_enveloped(work, *, limits=None, seed=None, capture_output=True):
    """Run ``work()`` and describe it: value or one-line error, timing, warnings, the tail of its output.

    `limits` is ``(timeout seconds or None, memory bytes or None)``, enforced in
    the worker (`runs.limits`); `seed` seeds `random` and `numpy.random` for
    the task (and restores them after).
    """
    outcome = {"worker": f"{socket.gethostname()}/{os.getpid()}", "start": time.time(), "value": None,
               "error": None, "usage_error": None, "stopped": None}
    clock = time.perf_counter()
    timeout_s, memory_bytes = limits or (None, None)
    with routed_warnings.recorded() as caught, _captured(capture_output) as output, \
            seeded(seed), enforced(timeout_s, memory_bytes) as watch:
        try:
            outcome["value"] = work()
        except TrialStopped:
            outcome["stopped"], outcome["error"] = watch.reason or "stopped", watch.message
        except UsageProblem as err:
            outcome["usage_error"] = str(err)
        except MemoryError as err:
            outcome["error"] = describe_error(err)
            if memory_bytes is not None:
                outcome["error"] = (f"memory limit exceeded: {str(err) or 'MemoryError'} "
                                    f"(--trial-memory {format_bytes(memory_bytes)})")
        except Exception as err:  # a failing task is data, not a crash of the run
            outcome["error"] = describe_error(err)
    outcome["warnings"] = distinct_warnings(caught)
    outcome["output"] = output.tail()
    outcome["duration"] = time.perf_counter() - clock
    outcome["end"] = outcome["start"] + outcome["duration"]
    return outcome


# -- values -------------------------------------------------------------------------
def as_score(value):
    """A task's score as a finite Python float, or a ValueError/TypeError saying what it got instead."""
    if value is None:
        raise ValueError("the objective is None: end the cell with the score, not a statement or print()")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if getattr(value, "shape", None) == () and hasattr(value, "item"):
            return as_score(value.item())
        raise TypeError(f"the objective must be a number, a dict with 'score' or an estimator, "
                        f"got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"the objective is {value}, not a finite number")
    return value


def is_estimator(value):
    return hasattr(value, "fit") and hasattr(value, "get_params")


# -- errors and warnings --------------------------------------------------------------
def describe_error(err):
    """One line: the exception's type and message, and the cell line it came from.

    A long message keeps its first line (scikit-learn puts the summary there)
    and its last (where a wrapped error's cause ends up), each shortened.
    """
    lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    text = type(err).__name__
    if lines:
        text += ": " + _shorten(lines[0], ERROR_LINE_CHARS)
        if len(lines) > 1:
            text += " ... " + _shorten(lines[-1], ERROR_LINE_CHARS)
    cell_lines = [frame.lineno for frame in traceback.extract_tb(err.__traceback__)
                  if frame.filename == CELL_FILENAME]
    if cell_lines:
        text += f" (cell line {cell_lines[-1]})"
    return text


def _shorten(text, limit):
    return text if len(text) <= limit else text[: limit - 3] + "..."


def distinct_warnings(caught, limit=WARNINGS_KEPT):
    """Warnings are kept on the task instead of flooding the notebook: a few distinct first lines."""
    seen = []
    for item in caught:
        message = str(item.message).splitlines()
        text = f"{item.category.__name__}: {_shorten(message[0], ERROR_LINE_CHARS) if message else ''}"
        if text not in seen:
            seen.append(text)
        if len(seen) == limit:
            break
    return seen


# -- seeding ----------------------------------------------------------------------------
class seeded:
    """Seed `random` and `numpy.random` for the code inside, then put their previous state back.

    None does nothing (the threads backend passes None: the kernel's generators
    are shared by every thread).
    """

    def __init__(self, seed):
        self.seed = None if seed is None else int(seed) % (2 ** 32)

    def __enter__(self):
        if self.seed is not None:
            import numpy as np

            self._saved = (random.getstate(), np.random.get_state())
            random.seed(self.seed)
            np.random.seed(self.seed)
        return self

    def __exit__(self, *exc):
        if self.seed is not None:
            import numpy as np

            random.setstate(self._saved[0])
            np.random.set_state(self._saved[1])
        return False


def seed_for(base, *key):
    """A seed for one task, from the run's seed and the task's place (trial number; repeat and fold)."""
    return (int(base) * 1_000_003 + sum(int(k) * 1009 ** (i + 1) for i, k in enumerate(key))) % (2 ** 32)


# -- printed output -------------------------------------------------------------------------
class _Tail:
    """Keeps the last OUTPUT_LINES lines written by one task, and counts them all."""

    def __init__(self):
        self._lines = []
        self._partial = ""
        self.count = 0

    def write(self, text):
        text = self._partial + text
        *complete, self._partial = text.split("\n")
        for line in complete:
            self.count += 1
            self._lines.append(_shorten(line, OUTPUT_LINE_CHARS))
            if len(self._lines) > OUTPUT_LINES:
                del self._lines[0]
        return len(text)

    def tail(self):
        lines = list(self._lines)
        if self._partial:
            lines.append(_shorten(self._partial, OUTPUT_LINE_CHARS))
        total = self.count + (1 if self._partial else 0)
        if not lines:
            return None
        if total > len(lines):
            lines.insert(0, f"... ({total - len(lines)} earlier line(s) not kept)")
        return "\n".join(lines)


class _NoTail:
    def tail(self):
        return None


class _Router:
    """Stands in for sys.stdout/sys.stderr: text from a thread running a task goes to that task's tail.

    Threads that run no task (the kernel's own, a panel's) write where they always did, so a
    task on the threads backend never swallows the notebook's output, nor floods it.
    """

    def __init__(self, original):
        self.original = original
        self.tails = {}

    def write(self, text):
        tail = self.tails.get(threading.get_ident())
        return tail.write(text) if tail is not None else self.original.write(text)

    def flush(self):
        if threading.get_ident() not in self.tails:
            self.original.flush()

    def __getattr__(self, name):
        return getattr(self.original, name)


_routing_lock = threading.Lock()


@contextlib.contextmanager
def _captured(enabled):
    if not enabled:
        yield _NoTail()
        return
    tail, ident = _Tail(), threading.get_ident()
    with _routing_lock:
        routers = []
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if not isinstance(stream, _Router):
                stream = _Router(stream)
                setattr(sys, name, stream)
            stream.tails[ident] = tail
            routers.append((name, stream))
    try:
        yield tail
    finally:
        with _routing_lock:
            for name, router in routers:
                router.tails.pop(ident, None)
                if not router.tails and getattr(sys, name) is router:
                    setattr(sys, name, router.original)
