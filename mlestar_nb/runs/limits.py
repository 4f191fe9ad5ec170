"""Per-trial limits enforced inside the worker: wall time and memory.

A watchdog thread in the worker checks the trial's clock and the growth of the
worker's memory (RSS above its level when the trial began). When a limit is
passed it interrupts the worker's main thread with `TrialStopped`, a
BaseException so that the user's ``except Exception`` cannot swallow it; the
trial is recorded and the worker lives on. A single huge allocation is caught
sooner by RLIMIT_DATA, set for the trial's duration, which turns it into a
MemoryError. Code stuck in C that never returns to Python is the engine's job:
it restarts that worker after a grace period.
"""
import contextlib
import re
import resource
import signal
import threading
import time

import psutil

from ..errors import ConfigError

POLL_S = 0.02
# The watchdog's own signal: SIGINT is the kernel's (Jupyter's Interrupt reaches the whole process group, workers
# included, and a worker ignores it so that a background run survives an Interrupt meant for another cell).
STOP_SIGNAL = signal.SIGUSR1
_UNITS = {"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "M": 1 << 20, "MB": 1 << 20, "G": 1 << 30, "GB": 1 << 30,
          "T": 1 << 40, "TB": 1 << 40}


class TrialStopped(BaseException):
    """Raised in a trial that passed its time or memory limit."""


def parse_memory(text):
    """'500MB', '2G', '1.5GB' or a number of bytes -> bytes."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
        unit = ""
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?B?)\s*", str(text).upper())
        if not match:
            raise ConfigError(f"--trial-memory {text!r} is not a size; write e.g. 500MB or 2GB")
        value, unit = float(match.group(1)), match.group(2)
    size = int(value * _UNITS[unit])
    if size < (16 << 20):
        raise ConfigError(f"--trial-memory {text!r} is below 16 MB, too small for a Python trial; give e.g. 500MB")
    return size


def format_bytes(size):
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit in ("B", "KB") else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


class Watch:
    """What the watchdog saw: why it stopped the trial, if it did."""

    def __init__(self):
        self.reason = None
        self.message = None


@contextlib.contextmanager
def enforced(timeout_s=None, memory_bytes=None):
    """Apply the limits to the code run inside; yields a Watch telling whether they fired."""
    watch = Watch()
    if (timeout_s is None and memory_bytes is None) or threading.current_thread() is not threading.main_thread():
        yield watch
        return
    previous_handler = signal.signal(STOP_SIGNAL, _raise_stopped)
    process = psutil.Process()
    baseline = process.memory_info().rss
    previous_rlimit = _limit_data(memory_bytes)
    done = threading.Event()
    thread = threading.Thread(target=_watchdog, args=(watch, done, time.monotonic(), timeout_s, memory_bytes,
                                                      process, baseline, threading.main_thread().ident),
                              daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        done.set()
        while True:  # a stop fired just as the trial ended must not escape: absorb it, then restore
            try:
                thread.join()
                if previous_rlimit is not None:
                    resource.setrlimit(resource.RLIMIT_DATA, previous_rlimit)
                signal.signal(STOP_SIGNAL, previous_handler)
                break
            except TrialStopped:
                continue


def _raise_stopped(signum, frame):
    raise TrialStopped()


def _limit_data(memory_bytes):
    if memory_bytes is None:
        return None
    try:
        previous = resource.getrlimit(resource.RLIMIT_DATA)
        used = _data_segment_bytes()
        if used is None:
            return None
        soft = used + memory_bytes
        hard = previous[1]
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
        return previous
    except (ValueError, OSError):
        return None


def _data_segment_bytes():
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _watchdog(watch, done, started, timeout_s, memory_bytes, process, baseline, main_ident):
    while not done.wait(POLL_S):
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            watch.reason, watch.message = "timeout", f"the trial passed --trial-timeout {timeout_s:g} s"
        elif memory_bytes is not None:
            grown = process.memory_info().rss - baseline
            if grown > memory_bytes:
                watch.reason = "memory"
                watch.message = (f"memory limit exceeded: the trial grew its worker by {format_bytes(grown)}, "
                                 f"over --trial-memory {format_bytes(memory_bytes)}")
        if watch.reason is not None:
            # a real signal to the main thread: it also breaks a blocking call such as sleep() or a lock wait
            signal.pthread_kill(main_ident, STOP_SIGNAL)
            return
