"""The dask backend with real processes: a LocalCluster, and a scheduler and workers from the dask command line."""
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import psutil
import pytest
from IPython.core.error import UsageError

from conftest import run, tune

HAVE_DASK = importlib.util.find_spec("distributed") is not None
needs_dask = pytest.mark.skipif(not HAVE_DASK, reason='dask is not installed: pip install "mlestar-nb[dask]"')

SLOW_CELL = """
import time
seen["n"] = seen.get("n", 0) + 1
time.sleep(0.2)
{"score": -(x - 0.3) ** 2, "seen": seen["n"]}
"""


def _pid(trial):
    return int(trial.worker.rsplit("/", 1)[1])


def _children():
    return {p.pid for p in psutil.Process().children(recursive=True)
            if "resource_tracker" not in " ".join(p.cmdline())}


def _wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@needs_dask
def test_magic_uses_the_kernels_client_asynchronously_with_journal_and_resume(ns, tmp_path):
    import dask
    from distributed import Client, LocalCluster

    # as docs/design.md recommends: without the Active Memory Manager, the broadcast copies stay on every worker
    with dask.config.set({"distributed.scheduler.active-memory-manager.start": False}):
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
    client = Client(cluster)  # the kernel's active client, as a user makes it
    try:
        worker_pids = set(client.run(os.getpid).values())
        run(ns, "space = {'x': (0.0, 1.0)}\nseen = {}")
        first = tune(ns, "--space space --trials 6 --backend dask --name dk --seed 0 --quiet", SLOW_CELL)
        assert [t.state for t in first.trials] == ["complete"] * 6
        assert {_pid(t) for t in first.trials} == worker_pids
        spans = sorted((t.start, t.end) for t in first.trials)
        assert any(b_start < a_end for (_, a_end), (b_start, _) in zip(spans, spans[1:])), "trials never overlapped"
        assert first.metrics["backend"] == "dask" and first.metrics["workers"] == 2
        # the cell's names reach each worker once per search, not with each trial: every trial on a worker
        # finds the same `seen` dict there, so its counter runs 1, 2, 3... per worker
        for pid in worker_pids:
            counts = sorted(t.metrics["seen"] for t in first.trials if _pid(t) == pid)
            assert counts == list(range(1, len(counts) + 1))
        assert type(first.best_score) is float and type(first.trials[0].metrics["seen"]) is int
        assert not any("Active Memory Manager" in note for note in first.notes)

        journal = tmp_path / ".mlestar" / "dk.jsonl"
        assert len(journal.read_text().splitlines()) == 1 + 6
        resumed = tune(ns, "--space space --trials 10 --backend dask --name dk --resume --quiet", SLOW_CELL)
        assert sorted(t.number for t in resumed.trials) == list(range(10))
        assert resumed.metrics["trials_run"] == 4
        assert sorted(json.loads(line)["number"] for line in journal.read_text().splitlines()[1:]) == list(range(10))

        assert client.status == "running", "mlestar-nb closed the user's client"
        # nothing left in the scheduler's memory: trial results and the scattered names were released
        _wait_until(lambda: not cluster.scheduler.tasks, 5, "the scheduler to forget the search's tasks")
    finally:
        client.close()
        cluster.close()


REFINE_SETUP = """
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
X, y = load_breast_cancer(return_X_y=True)
pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.001, max_iter=300))
"""


@needs_dask
def test_refine_runs_every_fit_on_the_kernels_cluster(ns):
    from distributed import Client, LocalCluster, get_task_stream

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    client = Client(cluster)
    try:
        run(ns, REFINE_SETUP)
        with get_task_stream(client) as stream:
            result = ns.run_line_magic("mlestar_refine", "pipe --data X y --cv 3 --rounds 1 --trials 4 --backend dask "
                                                         "--ensemble none --holdout 0 --quiet")
        (record,) = result.history
        worker_pids = set(client.run(os.getpid).values())
        assert {_pid(t) for t in record.trials.trials} <= worker_pids
        assert record.ablation.metrics["backend"] == "dask"
        units = [task for task in stream.data if task["key"].startswith("run_unit")]
        ablation_fits = record.ablation.metrics["fits"]
        # the start and the candidate are judged on the 3 x 3 judging folds there too, not in a local pool
        assert len(units) == ablation_fits + 9 * (1 + bool(record.params))
        assert client.status == "running", "mlestar-nb closed the user's client"
    finally:
        client.close()
        cluster.close()


@needs_dask
def test_refine_without_a_client_starts_one_cluster_for_the_whole_run(ns):
    before = _children()
    run(ns, REFINE_SETUP)
    result = ns.run_line_magic("mlestar_refine", "pipe --data X y --cv 3 --rounds 2 --trials 6 --jobs 2 "
                                                 "--backend dask --ensemble none --holdout 0 --quiet")
    first, second = ({_pid(t) for t in r.trials.trials} for r in result.history)
    assert first & second, "each round started a cluster of its own"
    assert os.getpid() not in first | second
    _wait_until(lambda: not (_children() - before), 15, "the run's LocalCluster to stop")


@needs_dask
def test_library_runs_its_own_local_cluster_and_fails_a_trial_that_kills_its_worker_twice(tmp_path):
    import distributed

    import mlestar_nb

    marks = tmp_path / "marks"
    marks.mkdir()

    def objective(p):
        if p["x"] == 3:
            open(os.path.join(str(marks), f"attempt-{time.time()}"), "w").close()
            os._exit(1)
        time.sleep(0.1)
        return p["x"]

    before = _children()
    # 3 workers: the two that the bad trial kills are not all of them, so the scattered data survives
    # (losing it with every worker is test_data_lost_with_every_worker_is_scattered_again)
    result = mlestar_nb.tune(objective, {"x": list(range(8))}, trials=8, strategy="grid", backend="dask", jobs=3,
                             journal_dir=str(tmp_path), name="own", progress=False)
    assert sorted(t.number for t in result.trials) == list(range(8))
    lost = [t for t in result.trials if t.state == "failed"]
    assert [t.params["x"] for t in lost] == [3]
    assert lost[0].error.startswith("worker_lost: the Dask worker tcp://127.0.0.1:")
    # retried exactly once by the engine: the LocalCluster's scheduler does not retry on its own
    assert len(list(marks.iterdir())) == 2
    assert sorted(t.value for t in result.trials if t.state == "complete") == [0, 1, 2, 4, 5, 6, 7]
    assert not result.notes
    assert os.getpid() not in {_pid(t) for t in result.trials if t.state == "complete"}
    with pytest.raises(ValueError):
        distributed.default_client()  # the cluster's client was never made the kernel's default
    _wait_until(lambda: _children() <= before, 10, "the LocalCluster's processes to stop")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CliCluster:
    """A scheduler and two `--no-nanny` workers started from the dask command line, each in its own session."""

    def __init__(self, folder):
        self.folder = folder
        self.procs = []
        # the scheduler gives up on a task at its first dead worker, so the retry seen is the engine's own
        self.env = dict(os.environ, DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES="0")

    def _start(self, *args):
        log = open(self.folder / f"{args[0]}-{len(self.procs)}.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=log, stderr=subprocess.STDOUT,
                                env=self.env, cwd=self.folder, start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def start(self):
        from distributed import Client

        file = self.folder / "scheduler.json"
        self._start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file", str(file))
        _wait_until(lambda: file.exists() and file.stat().st_size > 0, 30, "the scheduler file")
        _wait_until(lambda: "address" in json.loads(file.read_text() or "{}"), 5, "the scheduler address")
        self.address = json.loads(file.read_text())["address"]
        self.workers = [self._start("worker", "--scheduler-file", str(file), "--host", "127.0.0.1", "--nthreads", "1",
                                    "--name", f"w{i}", "--no-nanny") for i in (1, 2)]
        with Client(self.address, set_as_default=False, timeout=10) as client:
            client.wait_for_workers(2, timeout=30)
        return self

    def stop(self):
        """SIGTERM to each process group, workers first; SIGKILL to any still there after 3 s
        (a worker sometimes waits longer on a scheduler that is going away; a clean exit is not under test)."""
        for proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(self.procs):
            try:
                proc.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.fixture
def cli_cluster(tmp_path):
    folder = tmp_path / "cluster"
    folder.mkdir()
    cluster = CliCluster(folder)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        assert all(proc.poll() is not None for proc in cluster.procs)


KILL_CELL = """
import os, time
open(os.path.join(marks, f"{x}-{os.getpid()}-{time.time()}"), "w").close()
time.sleep(0.4)
x
"""


@needs_dask
def test_search_on_a_cli_cluster_survives_a_killed_worker(ns, tmp_path, cli_cluster):
    marks = tmp_path / "marks"
    marks.mkdir()
    victim, survivor = (w.pid for w in cli_cluster.workers)
    killed = {}

    def kill_victim_mid_trial():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            started = [name.split("-") for name in os.listdir(marks)]
            on_victim = sorted((float(s[2]), int(s[0])) for s in started if int(s[1]) == victim)
            # mid-search, and a trial has just started on the victim (it runs 0.4 s)
            if len(started) >= 3 and on_victim and time.time() - on_victim[-1][0] < 0.2:
                killed["x"], killed["at"] = on_victim[-1][1], time.time()
                os.killpg(victim, signal.SIGKILL)
                return
            time.sleep(0.01)

    run(ns, f"marks = {str(marks)!r}\nspace = {{'x': list(range(12))}}")
    killer = threading.Thread(target=kill_victim_mid_trial)
    killer.start()
    try:
        result = tune(ns, f"--space space --trials 12 --strategy grid --backend dask "
                          f"--scheduler {cli_cluster.address} --name cli --quiet", KILL_CELL)
    finally:
        killer.join()
    assert "x" in killed, "the worker was never killed mid-trial"
    assert cli_cluster.workers[0].wait(timeout=5) == -signal.SIGKILL
    assert sorted(t.number for t in result.trials) == list(range(12))
    assert [t.state for t in result.trials] == ["complete"] * 12
    retried = next(t for t in result.trials if t.params["x"] == killed["x"])
    assert _pid(retried) == survivor and retried.value == killed["x"]
    attempts = [name for name in os.listdir(marks) if name.split("-")[0] == str(killed["x"])]
    assert len(attempts) == 2
    assert all(_pid(t) == survivor for t in result.trials if t.start > killed["at"])
    assert result.metrics["workers"] == 1
    # the command-line scheduler runs dask's default Active Memory Manager: the result says what that means
    assert any("Active Memory Manager" in note for note in result.notes)


@needs_dask
def test_data_lost_with_every_worker_is_scattered_again():
    import numpy as np

    from mlestar_nb.executors import make_executor
    from mlestar_nb.executors.shipping import resolve

    def die(_handle):
        os._exit(1)

    def total(handle):
        return float(resolve(handle)["array"].sum())

    ex = make_executor("dask", 2)
    ex.start()
    try:
        handle = ex.share({"array": np.ones(1000)})
        # one task on each worker kills it, so no worker holds the scattered data any more
        doomed = [ex.client.submit(die, handle, workers=[address], pure=False) for address in ex.client.nthreads()]
        for future in doomed:
            with pytest.raises(Exception, match="died"):
                future.result(timeout=30)
        _wait_until(lambda: handle.status != "finished", 10, "the scattered data to be lost")
        again = ex.submit(total, handle)
        _wait_until(lambda: ex.wait([again], timeout=0.5), 30, "the task after the loss")
        assert ex.outcome(again) == 1000.0
    finally:
        ex.shutdown(kill=True)


def test_backend_dask_without_dask_installed_is_a_one_line_usage_error(ns, tmp_path, monkeypatch):
    for module in ("dask", "distributed"):
        monkeypatch.setitem(sys.modules, module, None)  # what `import` finds when the package is missing
    monkeypatch.delitem(sys.modules, "mlestar_nb.executors.dask", raising=False)
    with pytest.raises(UsageError) as info:
        tune(ns, "--space {'x': (0.0, 1.0)} --trials 2 --backend dask --quiet", "x")
    assert type(info.value) is UsageError
    assert str(info.value) == '--backend dask needs dask: pip install "mlestar-nb[dask]"'
    assert not list(tmp_path.glob(".mlestar/*.jsonl"))


@needs_dask
def test_wrong_scheduler_address_is_a_quick_one_line_usage_error(ns, tmp_path):
    import dask
    import distributed  # noqa: F401  registers its config first: leaving dask.config.set must not drop it

    address = f"tcp://127.0.0.1:{_free_port()}"
    clock = time.monotonic()
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        with pytest.raises(UsageError) as info:
            tune(ns, f"--space {{'x': (0.0, 1.0)}} --trials 2 --backend dask --scheduler {address} --quiet", "x")
    assert time.monotonic() - clock < 10
    message = str(info.value)
    assert type(info.value) is UsageError and "\n" not in message
    assert message.startswith(f"cannot reach the Dask scheduler at '{address}'") and "check the address" in message
    assert not list(tmp_path.glob(".mlestar/*.jsonl")), "a failed connection must not start a journal"


@needs_dask
def test_cluster_problems_are_one_line_errors_and_keep_the_journal(ns, tmp_path, cli_cluster, monkeypatch):
    # workers without a package the cell's names need (here a module only the kernel can import)
    (tmp_path / "kernel_side").mkdir()
    (tmp_path / "kernel_side" / "kernel_only_module.py").write_text("class Thing:\n    value = 2\n")
    monkeypatch.syspath_prepend(str(tmp_path / "kernel_side"))
    run(ns, "import kernel_only_module\nthing = kernel_only_module.Thing()")
    with pytest.raises(UsageError) as info:
        tune(ns, f"--space {{'x': (0.0, 1.0)}} --trials 3 --backend dask --scheduler {cli_cluster.address} "
                 "--name nomodule --quiet", "thing.value * x")
    assert str(info.value).startswith("the Dask workers cannot load the search (")
    assert "kernel_only_module" in str(info.value) and "install the kernel's packages on the workers" in str(info.value)
    assert "\n" not in str(info.value)

    # the scheduler lost mid-search
    marks = tmp_path / "marks"
    marks.mkdir()

    def kill_scheduler_mid_search():
        # a fourth trial starts 0.4 s after the first finished, whose result has reached the kernel by then
        _wait_until(lambda: len(os.listdir(marks)) >= 4, 30, "four trials to start")
        os.killpg(cli_cluster.procs[0].pid, signal.SIGKILL)

    run(ns, f"marks = {str(marks)!r}\nspace = {{'x': list(range(40))}}")
    killer = threading.Thread(target=kill_scheduler_mid_search)
    killer.start()
    clock = time.monotonic()
    try:
        with pytest.raises(UsageError) as info:
            tune(ns, f"--space space --trials 40 --strategy grid --backend dask --scheduler {cli_cluster.address} "
                     "--name gone --quiet", KILL_CELL)
    finally:
        killer.join()
    assert time.monotonic() - clock < 20
    assert str(info.value).startswith("lost the connection to the Dask scheduler") and "--resume" in str(info.value)
    finished = (tmp_path / ".mlestar" / "gone.jsonl").read_text().splitlines()[1:]
    assert 1 <= len(finished) < 40


@needs_dask
def test_ablate_and_refine_reach_a_cluster_by_its_scheduler_address(ns, cli_cluster):
    run(ns, REFINE_SETUP)
    study = ns.run_line_magic("ablate", f"pipe --data X y --cv 3 --repeats 1 --backend dask "
                                        f"--scheduler {cli_cluster.address} --quiet")
    assert study.metrics["backend"] == "dask" and study.metrics["fits"] == 9
    result = ns.run_line_magic("mlestar_refine", f"pipe --data X y --cv 3 --rounds 1 --trials 4 --backend dask "
                                                 f"--scheduler {cli_cluster.address} --ensemble none --holdout 0 "
                                                 "--quiet")
    cluster_pids = {proc.pid for proc in cli_cluster.workers}
    assert {_pid(t) for t in result.history[0].trials.trials} <= cluster_pids
    assert all(proc.poll() is None for proc in cli_cluster.procs), "mlestar-nb stopped the user's cluster"
    with pytest.raises(UsageError, match="--scheduler is for the dask backend only"):
        ns.run_line_magic("ablate", f"pipe --data X y --scheduler {cli_cluster.address}")
