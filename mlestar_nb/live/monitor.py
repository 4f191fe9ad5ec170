"""Machine resources seen from the kernel: CPU per core, memory, RSS of the kernel and its workers.

`ResourceMonitor.sample()` is cheap (psutil, non-blocking CPU counters; the
process tree is listed again only every few seconds), so the search loop calls
it on its ticks; `BackgroundMonitor` samples on a thread for
`%mlestar_monitor`, which runs while the kernel is idle.
"""
import threading
import time

import psutil


HISTORY_LIMIT = 2000   # samples kept for a run's timeline; past it every other one is dropped
TREE_REFRESH_S = 5.0   # how often the kernel's child processes are listed again (workers change rarely)


class ResourceMonitor:
    """Samples resources and keeps the figures a result reports (means, peaks, and a timeline for reports)."""

    def __init__(self, min_interval=0.5):
        self.min_interval = min_interval
        self._process = psutil.Process()
        self._process.cpu_percent(None)
        psutil.cpu_percent(None, percpu=True)
        self._last = None
        self._tree = None
        self._tree_listed_at = 0.0
        self._count = 0
        self._cpu_sum = 0.0
        self.cpu_peak = 0.0
        self.memory_used_peak = 0
        self.rss_peak = 0
        self.history = []   # [time, CPU %, memory used fraction, kernel+workers RSS bytes] per sample

    @property
    def last(self):
        return self._last

    def sample(self, force=False):
        """A fresh sample, or the last one when asked again within `min_interval`."""
        now = time.time()
        if not force and self._last is not None and now - self._last["time"] < self.min_interval:
            return self._last
        per_core = psutil.cpu_percent(None, percpu=True)
        memory = psutil.virtual_memory()
        sample = {
            "time": now,
            "cpu_per_core": [float(c) for c in per_core],
            "cpu_percent": float(sum(per_core) / max(1, len(per_core))),
            "memory_total": int(memory.total),
            "memory_used": int(memory.total - memory.available),
            "memory_available_fraction": float(memory.available / memory.total),
            "rss_tree": self._rss_tree(),
        }
        self._count += 1
        self._cpu_sum += sample["cpu_percent"]
        self.cpu_peak = max(self.cpu_peak, sample["cpu_percent"])
        self.memory_used_peak = max(self.memory_used_peak, sample["memory_used"])
        self.rss_peak = max(self.rss_peak, sample["rss_tree"])
        self._last = sample
        self._remember(sample)
        return sample

    def _remember(self, sample):
        """Keep a compact timeline; halve it when it grows past HISTORY_LIMIT, so a long run stays small."""
        self.history.append([sample["time"], sample["cpu_percent"],
                             sample["memory_used"] / max(1, sample["memory_total"]), sample["rss_tree"]])
        if len(self.history) > HISTORY_LIMIT:
            del self.history[1::2]

    def rss_tree(self):
        """RSS of the kernel plus the processes below it (the workers) as last listed, in bytes.

        Listing the children reads every process's /proc entry, a system call each that gives up the GIL
        and must win it back from the proposer's threads: in the search loop's thread that cost up to half a
        second a sample, with the workers idle meanwhile. So `sample()` lists them every TREE_REFRESH_S at
        most; reading the RSS of known processes is cheap enough to do after every trial.
        """
        return self._rss_tree(refresh=False)

    def _rss_tree(self, refresh=True):
        now = time.monotonic()
        if self._tree is None or (refresh and now - self._tree_listed_at >= TREE_REFRESH_S):
            self._tree_listed_at = now
            try:
                self._tree = [self._process] + self._process.children(recursive=True)
            except psutil.Error:
                self._tree = [self._process]
        total = 0
        for process in self._tree:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                pass  # a worker that just exited
        return int(total)

    def metrics(self):
        return {
            "cpu_percent_mean": self._cpu_sum / self._count if self._count else 0.0,
            "cpu_percent_peak": self.cpu_peak,
            "memory_used_peak": self.memory_used_peak,
            "rss_peak": self.rss_peak,
            "resource_samples": self._count,
        }


class BackgroundMonitor:
    """Samples every `interval` seconds on a daemon thread and hands each sample to `callback`."""

    def __init__(self, callback, interval=1.0):
        self.callback = callback
        self.interval = interval
        self.monitor = ResourceMonitor(min_interval=0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlestar-monitor", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.wait(self.interval):
            self.callback(self.monitor.sample(force=True))

    def stop(self):
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)

    @property
    def running(self):
        return self._thread.is_alive() and not self._stop.is_set()
