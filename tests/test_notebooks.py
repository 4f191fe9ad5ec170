"""Every tutorial runs top to bottom in a real kernel, as a user would run it."""
import functools
import importlib.util
import pathlib

import pytest

from mlestar_nb.__main__ import QUICKSTART, run_notebook

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


@functools.lru_cache(maxsize=None)
def executed(path):
    return run_notebook(str(path), timeout=300)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_without_errors(path):
    if "dask" in path.name and importlib.util.find_spec("distributed") is None:
        pytest.skip('dask is not installed: pip install "mlestar-nb[dask]"')
    notebook = executed(path)
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors[0].get("evalue") if errors else ""


def test_quickstart_reports_its_best_score_and_params():
    notebook = executed(pathlib.Path(QUICKSTART).resolve())
    text = "".join(o.get("text", "") for o in notebook.cells[-1].get("outputs", []))
    score = float(text.split("best score:")[1].split()[0])
    assert 0.9 < score <= 1.0
    assert "learning_rate" in text.split("best params:")[1]
    pruned_states = "".join(o.get("text", "") for o in notebook.cells[-3].get("outputs", []))
    assert "model now holds: HistGradientBoostingClassifier(" in pruned_states
