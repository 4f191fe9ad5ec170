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
