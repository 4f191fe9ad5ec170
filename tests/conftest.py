"""A real IPython shell with the extension loaded, isolated from the user's home."""
import os
import tempfile

import pytest

_home = tempfile.mkdtemp(prefix="mlestar-test-home-")
os.environ.setdefault("IPYTHONDIR", os.path.join(_home, "ipython"))
os.environ.setdefault("MPLCONFIGDIR", os.path.join(_home, "mpl"))
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session")
def shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "mlestar_nb")
    yield ip
    ip.run_line_magic("unload_ext", "mlestar_nb")


@pytest.fixture
def ns(shell, tmp_path, monkeypatch):
    """The shell with a fresh working directory (journals land in tmp_path/.mlestar) and a small dataset."""
    monkeypatch.chdir(tmp_path)
    # keep the __main__ module's identity (multiprocessing's spawn, used by Dask's LocalCluster, reads __spec__)
    module_attrs = {k: shell.user_ns[k] for k in ("__name__", "__spec__", "__loader__", "__package__")
                    if k in shell.user_ns}
    shell.user_ns.clear()
    shell.user_ns.update(module_attrs)
    shell.init_user_ns()
    run(shell, """
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
X, y = load_breast_cancer(return_X_y=True)
""")
    return shell


def run(shell, code):
    result = shell.run_cell(code)
    result.raise_error()
    return result.result


def tune(shell, line, cell):
    return shell.run_cell_magic("mlestar_tune", line, cell)


def child_processes():
    """Live child processes of this test process, except resource trackers, zombies not yet reaped, and the
    workers joblib keeps for reuse (scikit-learn's n_jobs starts those; they are joblib's, not ours)."""
    import psutil

    joblib_pids = set()
    try:
        from joblib.externals.loky import reusable_executor

        executor = getattr(reusable_executor, "_executor", None)
        joblib_pids = set(getattr(executor, "_processes", None) or {}) if executor is not None else set()
    except ImportError:
        pass
    alive = []
    for process in psutil.Process().children(recursive=True):
        try:
            if (process.status() != psutil.STATUS_ZOMBIE and process.pid not in joblib_pids
                    and "resource_tracker" not in " ".join(process.cmdline())):
                alive.append(process)
        except psutil.Error:  # exited while we looked
            pass
    return alive
