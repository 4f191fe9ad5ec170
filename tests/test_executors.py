"""Conformance suite: every executor shares data once, runs tasks, and reports outcomes the same way."""
import os
import signal
import threading
import time

import numpy as np
import pytest

from mlestar_nb.executors import WorkerLost, make_executor
from mlestar_nb.executors.shipping import resolve


def task(handle, k):
    data = resolve(handle)
    return {"pid": os.getpid(), "sum": float(data["array"].sum()) * k, "type": type(data["array"]).__name__}


def die(_handle):
    os._exit(3)


def _needs(backend):
    if backend == "dask":
        pytest.importorskip("distributed", reason='dask is not installed: pip install "mlestar-nb[dask]"')


@pytest.fixture(params=["loky", "threads", "sequential", "dask"])
def executor(request):
    _needs(request.param)
    ex = make_executor(request.param, 2)
    ex.start()
    yield ex
    ex.shutdown(kill=True)


def test_executor_contract(executor):
    payload = {"array": np.ones((700, 700))}  # 3.9 MB: memory-mapped for process workers
    handle = executor.share(payload)
    executor.preload(handle)
    futures = [executor.submit(task, handle, k) for k in range(1, 5)]
    outcomes = []
    deadline = time.monotonic() + 60
    while futures and time.monotonic() < deadline:
        for future in executor.wait(futures, timeout=1.0):
            futures.remove(future)
            outcomes.append(executor.outcome(future))
    assert not futures
    assert sorted(o["sum"] for o in outcomes) == [490000.0 * k for k in range(1, 5)]
    in_kernel = {o["pid"] for o in outcomes} == {os.getpid()}
    assert in_kernel == (executor.name in ("threads", "sequential"))
    assert executor.n_workers == (1 if executor.name == "sequential" else 2)
    if executor.name == "loky":
        assert {o["type"] for o in outcomes} == {"memmap"}
    executor.unshare(handle)


@pytest.mark.parametrize("backend", ["loky", "dask"])
def test_process_executor_reports_a_dead_worker_and_recovers(backend):
    _needs(backend)
    ex = make_executor(backend, 2)
    ex.start()
    try:
        handle = ex.share({"array": np.zeros(3)})
        future = ex.submit(die, handle)
        ex.wait([future], timeout=30)
        with pytest.raises(WorkerLost) as info:
            ex.outcome(future)
        # loky fails every running task when one worker dies; dask knows which task's worker it was
        assert info.value.shared is (backend == "loky")
        ex.recover()
        again = ex.submit(task, handle, 1)
        ex.wait([again], timeout=30)
        assert ex.outcome(again)["sum"] == 0.0
    finally:
        ex.shutdown(kill=True)


def test_search_survives_a_worker_that_dies(tmp_path):
    import mlestar_nb

    def objective(p):
        if p["x"] == 2:
            os._exit(1)
        return p["x"]

    result = mlestar_nb.tune(objective, {"x": [0, 1, 2, 3, 4, 5]}, trials=6, jobs=2, strategy="grid",
                             journal_dir=str(tmp_path), progress=False)
    assert sorted(t.number for t in result.trials) == list(range(6))
    lost = [t for t in result.trials if t.state == "failed"]
    # only the trial that killed its worker fails; the one beside it in the pool is rerun and completes
    assert [t.params["x"] for t in lost] == [2] and lost[0].error.startswith("worker_lost")
    assert sorted(t.value for t in result.trials if t.state == "complete") == [0, 1, 3, 4, 5]


def test_interrupt_returns_every_finished_trial_and_stops_workers(tmp_path):
    import mlestar_nb

    def slow(p):
        time.sleep(0.3)
        return p["x"]

    from mlestar_nb.executors.local import LokyExecutor

    LokyExecutor.close_warm_pools()  # so that any worker left afterwards is this search's
    timer = threading.Timer(3.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    clock = time.monotonic()
    result = mlestar_nb.tune(slow, {"x": (0.0, 1.0)}, trials=200, jobs=2, strategy="random", name="intr",
                             journal_dir=str(tmp_path), progress=False)
    assert time.monotonic() - clock < 8
    assert result.status == "interrupted" and 0 < len(result.trials) < 200
    journal_lines = (tmp_path / "intr.jsonl").read_text().splitlines()
    assert len(journal_lines) == 1 + len(result.trials)
    time.sleep(0.5)
    from conftest import child_processes

    workers = child_processes()
    assert not workers, [p.cmdline() for p in workers]


# -- what a run leaves behind (issue: hardening, finding 10) ------------------------------------------
def _live_children():
    from conftest import child_processes

    time.sleep(0.3)
    return child_processes()


def test_one_warm_pool_is_kept_whatever_the_sizes_and_it_goes_when_idle(monkeypatch):
    import warnings

    import mlestar_nb
    from mlestar_nb.executors.local import LokyExecutor, _WarmPool

    LokyExecutor.close_warm_pools()
    for jobs in (1, 2, 3):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            mlestar_nb.tune(lambda p: p["x"], {"x": (0.0, 1.0)}, trials=3, jobs=jobs, strategy="random",
                            journal=False, progress=False)
        too_many = [w for w in caught if "more worker processes than this machine's" in str(w.message)]
        assert bool(too_many) == (jobs > os.cpu_count()), [str(w.message) for w in caught]
    assert len(_live_children()) == 3 == len(LokyExecutor.warm_worker_pids())   # the last run's pool only

    monkeypatch.setattr(_WarmPool, "IDLE_S", 0.5)
    mlestar_nb.tune(lambda p: p["x"], {"x": (0.0, 1.0)}, trials=3, jobs=2, strategy="random", journal=False,
                    progress=False)
    time.sleep(1.5)
    assert _live_children() == [] and LokyExecutor.warm_worker_pids() == []


def test_a_run_on_memory_mapped_data_frees_it_when_it_ends():
    """Workers that mapped the shared arrays are not kept warm: they would pin the deleted files in memory."""
    import glob

    import numpy as np

    import mlestar_nb
    from mlestar_nb.executors.local import LokyExecutor

    LokyExecutor.close_warm_pools()
    data = np.ones((1000, 300))   # 2.4 MB: memory-mapped
    def shipped():   # not the test-home folders that any other pytest process on the machine makes
        return {path for path in glob.glob("/dev/shm/mlestar-*") + glob.glob("/tmp/mlestar-*")
                if not os.path.basename(path).startswith("mlestar-test-home-")}

    before = shipped()
    result = mlestar_nb.tune(lambda p: float(data.sum()) * p["x"], {"x": (0.0, 1.0)}, trials=4, jobs=2,
                             strategy="random", journal=False, progress=False)
    assert result.best_score > 0
    assert _live_children() == []
    assert shipped() == before


def test_loky_workers_ignore_the_kernels_interrupt():
    """Jupyter's Interrupt signals the kernel's whole process group: a worker's trial must not die of it."""
    from mlestar_nb.executors.local import LokyExecutor

    def slow(seconds):
        time.sleep(seconds)
        return os.getpid()

    executor = LokyExecutor(1)
    executor.start()
    try:
        future = executor.submit(slow, 0.8)
        time.sleep(0.3)
        for pid in executor._pool._processes:
            os.kill(pid, signal.SIGINT)
        assert executor.outcome(future) in executor._pool._processes
    finally:
        executor.shutdown(kill=True)
