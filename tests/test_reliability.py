"""Faults a search must survive, each with real processes (issue: reliability)."""
import json
import os
import signal
import subprocess
import sys
import time

import psutil
import pytest

import mlestar_nb
from conftest import child_processes
from mlestar_nb.executors.local import LokyExecutor

SCRIPTS = os.path.join(os.path.dirname(__file__), "scripts")


def _worker_processes():
    return child_processes()


def _tune(objective, space, tmp_path, **options):
    options.setdefault("journal_dir", str(tmp_path))
    options.setdefault("progress", False)
    return mlestar_nb.tune(objective, space, **options)


def test_failing_trials_are_recorded_and_the_budget_completes(tmp_path):
    def flaky(p):
        if p["x"] < 0.3:
            raise RuntimeError(f"flaky at {p['x']:.3f}")
        return p["x"]

    result = _tune(flaky, {"x": (0.0, 1.0)}, tmp_path, trials=40, jobs=2, strategy="random", seed=3)
    failed = [t for t in result.trials if t.state == "failed"]
    assert len(result.trials) == 40 and 6 <= len(failed) <= 20
    assert all(t.error.startswith("RuntimeError: flaky at") for t in failed)
    assert result.metrics["success_rate"] == pytest.approx(1 - len(failed) / 40)
    assert f"success rate {1 - len(failed) / 40:.0%}" in repr(result)


def _exit(_):
    os._exit(7)


def _sigkill(_):
    os.kill(os.getpid(), signal.SIGKILL)


def _segfault(_):
    import ctypes
    ctypes.string_at(0)


@pytest.mark.parametrize("death", [_exit, _sigkill, _segfault], ids=["os._exit", "SIGKILL", "segfault"])
def test_a_dying_worker_fails_only_its_trial_and_leaves_no_process(tmp_path, death):
    LokyExecutor.close_warm_pools()

    def objective(p):
        if p["x"] == 3:
            death(p)
        return p["x"]

    result = _tune(objective, {"x": [0, 1, 2, 3, 4, 5, 6, 7]}, tmp_path, trials=8, jobs=2, strategy="grid")
    assert sorted(t.number for t in result.trials) == list(range(8))
    failed = [t for t in result.trials if t.state == "failed"]
    assert [t.params["x"] for t in failed] == [3] and failed[0].error.startswith("worker_lost")
    assert _settled(lambda: {p.pid for p in _worker_processes()} <= set(LokyExecutor.warm_worker_pids())), \
        "a worker outside the warm pool remains"
    LokyExecutor.close_warm_pools()
    assert _settled(lambda: _worker_processes() == [])


def _settled(condition, seconds=5.0):
    """Killed processes take a moment to be reaped: wait for the condition, briefly."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_hanging_trials_are_stopped_by_trial_timeout(tmp_path):
    def objective(p):
        kind = p["kind"]
        if kind == "python-loop":
            while True:
                pass
        if kind == "sleep":
            time.sleep(60)
        if kind == "deaf":  # signals blocked: only restarting the worker stops it
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT, signal.SIGUSR1])
            while True:
                pass
        return 1.0

    clock = time.monotonic()
    result = _tune(objective, {"kind": ["ok", "python-loop", "sleep", "deaf", "fine"]}, tmp_path, trials=5, jobs=2,
                   strategy="grid", trial_timeout=1.0)
    assert time.monotonic() - clock < 25
    states = {t.params["kind"]: t for t in result.trials}
    assert [states[k].state for k in ("ok", "fine")] == ["complete", "complete"]
    for kind in ("python-loop", "sleep", "deaf"):
        assert states[kind].state == "timeout" and "--trial-timeout 1 s" in states[kind].error
    assert "worker was restarted" in states["deaf"].error
    assert result.status == "completed"


def test_memory_hungry_trials_are_stopped_by_trial_memory(tmp_path):
    def objective(p):
        import numpy as np

        if p["kind"] == "grows":
            chunks = []
            for _ in range(400):  # up to 20 GB, 50 MB at a time
                chunks.append(np.ones(50_000_000 // 8))
        if p["kind"] == "one-huge":
            np.ones(40_000_000_000 // 8)  # 40 GB in one allocation
        return 1.0

    machine_before = psutil.virtual_memory().available
    result = _tune(objective, {"kind": ["grows", "ok", "one-huge"]}, tmp_path, trials=3, jobs=2, strategy="grid",
                   trial_memory="300MB")
    by_kind = {t.params["kind"]: t for t in result.trials}
    assert by_kind["ok"].state == "complete"
    for kind in ("grows", "one-huge"):
        assert by_kind[kind].state == "failed"
        assert by_kind[kind].error.startswith("memory limit exceeded") and "300.0 MB" in by_kind[kind].error
    assert psutil.virtual_memory().available > machine_before - (2 << 30)


def test_a_killed_kernel_loses_no_finished_trial_and_resume_finishes_the_budget(tmp_path):
    process = subprocess.Popen([sys.executable, os.path.join(SCRIPTS, "long_search.py"), str(tmp_path), "killed",
                                "200"], start_new_session=True)
    journal = tmp_path / "killed.jsonl"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if journal.exists() and journal.read_text().count("\n") >= 9:
                break
            time.sleep(0.1)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    before = [json.loads(line) for line in journal.read_text().splitlines()[1:] if line.endswith("}")]
    assert len(before) >= 8
    result = _tune(lambda p: -(p["x"] - 0.3) ** 2, {"x": (0.0, 1.0)}, tmp_path, trials=len(before) + 6, jobs=2,
                   strategy="random", name="killed", resume=True)
    numbers = [t.number for t in result.trials]
    assert len(numbers) == len(set(numbers)) == len(before) + 6
    kept = {t.number: t for t in result.trials}
    for record in before:
        assert kept[record["number"]].value == record["value"] and kept[record["number"]].params == record["params"]


def test_a_second_search_on_a_busy_journal_is_refused(tmp_path):
    process = subprocess.Popen([sys.executable, os.path.join(SCRIPTS, "long_search.py"), str(tmp_path), "busy",
                                "400"], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not (tmp_path / "busy.jsonl").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        with pytest.raises(mlestar_nb.ConfigError, match="another search is writing journal 'busy'"):
            _tune(lambda p: p["x"], {"x": (0.0, 1.0)}, tmp_path, trials=2, backend="sequential", name="busy")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.mark.parametrize("value, reason", [
    (float("nan"), "the objective is nan, not a finite number"),
    (float("inf"), "the objective is inf, not a finite number"),
    (None, "the objective is None"),
    ("0.9", "the objective must be a number, a dict with 'score' or an estimator, got str"),
    ({"loss": 1.0}, "the objective returned a dict without 'score'"),
])
def test_an_objective_that_is_not_a_number_fails_that_trial_only(tmp_path, value, reason):
    result = _tune(lambda p: value if p["x"] == 1 else float(p["x"]), {"x": [0, 1, 2]}, tmp_path, trials=3,
                   backend="sequential", strategy="grid")
    by_x = {t.params["x"]: t for t in result.trials}
    assert by_x[1].state == "failed" and reason in by_x[1].error
    assert by_x[0].state == by_x[2].state == "complete" and result.best_score == 2.0


def test_interrupting_a_real_kernel_returns_the_partial_result_within_3_seconds(tmp_path):
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        client.execute_interactive("%load_ext mlestar_nb", timeout=60)
        cell = ("%%mlestar_tune --space {'x': (0.0, 1.0)} --trials 500 --jobs 2 --strategy random --name intr "
                "--out res --quiet\nimport time\ntime.sleep(0.4)\nx")
        msg_id = client.execute(cell)
        deadline = time.monotonic() + 60
        journal = tmp_path / ".mlestar" / "intr.jsonl"
        while not (journal.exists() and journal.read_text().count("\n") >= 5) and time.monotonic() < deadline:
            time.sleep(0.1)
        interrupted_at = time.monotonic()
        manager.interrupt_kernel()
        while True:
            reply = client.get_shell_msg(timeout=30)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        assert time.monotonic() - interrupted_at < 3.0
        assert reply["content"]["status"] == "ok"
        outputs = []
        client.execute_interactive(
            "import psutil, json\n"
            "left = [p.pid for p in psutil.Process().children(recursive=True)"
            " if 'resource_tracker' not in ' '.join(p.cmdline())]\n"
            "print(json.dumps([res.status, len(res.trials), left]))",
            timeout=30, output_hook=lambda msg: outputs.append(msg["content"].get("text", "")))
        status, finished, left = json.loads("".join(outputs))
        assert status == "interrupted" and finished >= 4 and left == []
        assert journal.read_text().count("\n") == 1 + finished
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
