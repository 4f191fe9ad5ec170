"""The journal keeps every finished trial through torn writes and refuses a second writer."""
import json

import pytest

import mlestar_nb
from mlestar_nb.errors import ConfigError
from mlestar_nb.search.journal import Journal


def objective(p):
    return -(p["x"] - 0.5) ** 2


def test_resume_keeps_valid_trials_of_a_torn_journal_and_says_what_it_skipped(tmp_path):
    first = mlestar_nb.tune(objective, {"x": (0.0, 1.0)}, trials=6, backend="sequential", seed=0, name="torn",
                            journal_dir=str(tmp_path), progress=False)
    path = tmp_path / "torn.jsonl"
    text = path.read_text()
    lines = text.splitlines()
    # a garbled line in the middle, and a last line cut off mid-write (the kernel died while writing)
    path.write_text("\n".join(lines[:3] + ["{not json"] + lines[3:-1]) + "\n" + lines[-1][:25])
    resumed = mlestar_nb.tune(objective, {"x": (0.0, 1.0)}, trials=8, backend="sequential", name="torn",
                              resume=True, journal_dir=str(tmp_path), progress=False)
    kept = [t.number for t in resumed.trials[:5]]
    assert kept == [t.number for t in first.trials[:5]]
    assert sorted(t.number for t in resumed.trials) == list(range(8))
    assert any("skipped 2 unreadable" in n for n in resumed.notes)
    for line in path.read_text().splitlines():
        if line != "{not json":
            json.loads(line)


def test_a_second_search_with_the_same_name_is_refused_while_the_first_runs(tmp_path):
    holder = Journal(str(tmp_path / "busy.jsonl"))
    holder.lock()
    try:
        with pytest.raises(ConfigError, match="another search is writing journal 'busy'"):
            mlestar_nb.tune(objective, {"x": (0.0, 1.0)}, trials=2, backend="sequential", name="busy",
                            journal_dir=str(tmp_path), progress=False)
    finally:
        holder.close()
    done = mlestar_nb.tune(objective, {"x": (0.0, 1.0)}, trials=2, backend="sequential", name="busy",
                           journal_dir=str(tmp_path), progress=False)
    assert len(done.trials) == 2


FULL_DISK = """
import json, os, resource, signal, sys
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)          # past the limit a write fails (EFBIG), as on a full disk
config = Config()
config.HistoryManager.hist_file = ":memory:"
ip = InteractiveShell.instance(config=config)
ip.run_line_magic("load_ext", "mlestar_nb")
line = ("--space {'x': (0.0, 1.0)} --strategy random --backend sequential --seed 0 --name full --quiet "
        "--journal-dir " + sys.argv[1])
cell = "-(x - 0.5) ** 2"
resuming = sys.argv[2] == "resumed"
if resuming:                                            # a journal that already holds 4 trials
    ip.run_cell_magic("mlestar_tune", line + " --trials 4", cell)
held = os.path.getsize(os.path.join(sys.argv[1], "full.jsonl")) if resuming else 0
resource.setrlimit(resource.RLIMIT_FSIZE, (held + 3000, held + 3000))
result = ip.run_cell_magic("mlestar_tune", line + " --trials 40" + (" --resume" if resuming else ""), cell)
print(json.dumps({"status": result.status, "stop_reason": result.stop_reason, "error": result.error,
                  "trials": [[t.number, t.value] for t in result.trials]}))
"""


@pytest.mark.parametrize("journal", ["fresh", "resumed"])
def test_a_journal_the_disk_refuses_mid_search_stops_it_and_keeps_every_finished_trial(tmp_path, journal):
    """A full disk once lost the whole result: the write's OSError went up through tune()."""
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", FULL_DISK, str(tmp_path), journal], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    written = [json.loads(line) for line in (tmp_path / "full.jsonl").read_text().splitlines()
               if line.endswith("}")][1:]
    assert out["status"] == "error" and out["stop_reason"] == "journal error"
    assert 3 + (4 if journal == "resumed" else 0) <= len(written) < len(out["trials"]) < 40
    assert [[r["number"], r["value"]] for r in written] == out["trials"][:len(written)]
    assert f"the journal holds the first {len(written)}" in out["error"] and "--resume" in out["error"]
    assert str(tmp_path / "full.jsonl") in out["error"]
