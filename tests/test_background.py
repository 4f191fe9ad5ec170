"""Background runs: the notebook stays usable, and stop, pause and extend work (issue: background runs).

Through a real kernel (jupyter_client), because what matters is what a kernel does: which cell gets the
run's output, whether the next cell runs at once, what the Interrupt button does.
"""
import json
import time

import pytest

import mlestar_nb


class Kernel:
    """A real ipykernel; `run` executes a cell and returns its outputs and how long until the kernel was idle."""

    def __init__(self, cwd):
        from jupyter_client.manager import start_new_kernel

        self.manager, self.client = start_new_kernel(kernel_name="python3", cwd=str(cwd))
        self.messages = []   # every iopub message seen, in order

    def run(self, code, timeout=60):
        msg_id = self.client.execute(code)
        clock = time.monotonic()
        while time.monotonic() - clock < timeout:
            reply = self._next()
            if reply is None:
                continue
            if (reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle"
                    and reply["parent_header"].get("msg_id") == msg_id):
                break
        else:
            raise TimeoutError(f"the cell did not finish in {timeout} s: {code[:80]}")
        took = time.monotonic() - clock
        shell = self.client.get_shell_msg(timeout=10)
        while shell["parent_header"].get("msg_id") != msg_id:
            shell = self.client.get_shell_msg(timeout=10)
        if shell["content"]["status"] != "ok":
            raise AssertionError(f"{shell['content'].get('ename')}: {shell['content'].get('evalue')}")
        return msg_id, took

    def value(self, expression):
        """The repr of an expression, evaluated in the kernel."""
        msg_id, _ = self.run(f"print(repr(({expression})))")
        return "".join(m["content"]["text"] for m in self.messages
                       if m["msg_type"] == "stream" and m["parent_header"].get("msg_id") == msg_id).strip()

    def _next(self):
        try:
            message = self.client.get_iopub_msg(timeout=0.2)
        except Exception:  # queue.Empty
            return None
        self.messages.append(message)
        return message

    def drain(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._next()

    def outputs_of(self, msg_id):
        return [m for m in self.messages if m["parent_header"].get("msg_id") == msg_id
                and m["msg_type"] in ("stream", "display_data", "update_display_data", "execute_result", "error")]

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture
def kernel(tmp_path):
    k = Kernel(tmp_path)
    k.run("%load_ext mlestar_nb\nimport time, signal, os")
    yield k
    k.close()


SEARCH = ("%%mlestar_tune --space {'x': (0.0, 1.0)} --trials 400 --jobs 2 --strategy random --seed 0 "
          "--name bg --background --out run\nimport time\ntime.sleep(0.3)\nx")


def test_a_background_search_frees_the_notebook_and_stops_cleanly(kernel, tmp_path):
    started, took = kernel.run(SEARCH)
    assert took < 15
    following, took = kernel.run("answer = 6 * 7")
    assert took < 2, f"the next cell waited {took:.1f} s"
    assert kernel.value("run.status") == "'running'"
    kernel.drain(1.5)

    # the kernel's Interrupt button (SIGINT to the process group, workers included) does not stop it
    kernel.manager.interrupt_kernel()
    kernel.drain(1.0)
    assert kernel.value("run.status") == "'running'"

    kernel.run("stopped_at = time.time(); run.stop(); result = run.result(timeout=30)")
    assert kernel.value("result.status, result.stop_reason") == "('stopped', 'stop requested')"
    # no trial started after stop() (a submission racing with it starts within milliseconds)
    assert kernel.value("max(t.start for t in result.trials) < stopped_at + 0.05") == "True"
    assert kernel.value("run.status") == "'stopped'"

    # the result is what the journal holds
    lines = (tmp_path / ".mlestar" / "bg.jsonl").read_text().splitlines()[1:]
    journal = sorted((r["number"], r["value"]) for r in map(json.loads, lines))
    assert kernel.value("sorted((t.number, t.value) for t in result.trials)") == repr(journal)
    assert 0 < len(journal) < 400

    # the panel and everything the run displayed went to its own cell, none to the cells that ran meanwhile
    run_outputs = kernel.outputs_of(started)
    assert any(m["msg_type"] == "display_data" and "application/vnd.jupyter.widget-view+json" in m["content"]["data"]
               for m in run_outputs)
    assert [m for m in kernel.outputs_of(following)] == []
    final = [m for m in run_outputs if m["msg_type"] == "update_display_data"]
    assert final and "- stopped early: stop requested" in final[-1]["content"]["data"]["text/plain"]


def test_pause_resume_extend_and_cancel(kernel):
    kernel.run(SEARCH.replace("--trials 400", "--trials 10"))
    # Trials already running when it pauses finish (a worker's first may take seconds to start); then none starts,
    # so the count settles below the budget and stays.
    kernel.run("run.pause(); deadline = time.time() + 30; f1 = -1\n"
               "while run._snapshot['finished'] != f1 and time.time() < deadline:\n"
               "    f1 = run._snapshot['finished']; time.sleep(2)\n"
               "paused = run.status; time.sleep(1.5); f2 = run._snapshot['finished']")
    assert kernel.value("paused") == "'paused'"
    assert kernel.value("f1 == f2, f1 < 10") == "(True, True)"
    kernel.run("run.resume(); run.extend(4); result = run.result(timeout=60)")
    assert kernel.value("len(result.trials), result.status") == "(14, 'completed')"

    kernel.run(SEARCH.replace("--trials 400", "--trials 400 --name bg2"))
    kernel.run("time.sleep(1); run.cancel(); result = run.result(timeout=20)")
    assert kernel.value("result.status, result.stop_reason") == "('stopped', 'cancelled')"


def test_one_background_run_at_a_time_and_runs_are_listed_and_stopped(kernel):
    kernel.run(SEARCH)
    # stop_on_error=False: otherwise ipykernel aborts the requests that reach it just after the error (their
    # reply is "aborted", with no ename), and whether the next cell lands in that window is a race.
    msg_id = kernel.client.execute(SEARCH.replace("--name bg", "--name other"), stop_on_error=False)
    shell = kernel.client.get_shell_msg(timeout=30)
    assert shell["content"]["status"] == "error"
    assert "background run 'bg' is still running" in shell["content"]["evalue"]
    assert "%mlestar_stop bg" in shell["content"]["evalue"]
    assert "bg (search): running" in kernel.value("get_ipython().run_line_magic('mlestar_runs', '')")
    kernel.run("stopped = %mlestar_stop bg --cancel")
    kernel.run("run.wait(20)")
    assert kernel.value("run.status, [r.name for r in stopped]") == "('stopped', ['bg'])"
    del msg_id


def test_background_with_apply_is_refused_and_library_handles_work(ns):
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="--apply runs the cell in the notebook when the search ends"):
        ns.run_cell_magic("mlestar_tune", "--space {'x': (0.0, 1.0)} --background --apply", "x")
    run = mlestar_nb.ablate(lambda: [0.9, 0.8, 0.85], components=["a"], repeats=2, backend="threads",
                            background=True)
    result = run.result(timeout=60)
    assert isinstance(result, mlestar_nb.AblationResult) and run.status == "done"
    with pytest.raises(mlestar_nb.ConfigError, match="extend\\(\\) adds trials to a search"):
        run.extend(5)
