"""The run lifecycle every kind of run shares (issue: one run lifecycle, one view contract).

Interrupts at random points, failures while the data is shared, and the views'
final states are checked for the search, the ablation study and refinement
alike, with real worker processes.
"""
import glob
import os
import random
import signal
import threading
import time

import pytest

import mlestar_nb
from conftest import child_processes
from mlestar_nb.executors.local import LokyExecutor


class LateSignals:
    """Sends SIGINT after a delay; counts the signals that arrive once the run has returned (its guard is gone)."""

    def __init__(self, delay):
        self.late = 0
        self._previous = signal.signal(signal.SIGINT, self._count)
        self._timer = threading.Timer(delay, lambda: os.kill(os.getpid(), signal.SIGINT))
        self._timer.start()

    def _count(self, signum, frame):
        self.late += 1

    def close(self):
        self._timer.join()
        time.sleep(0.05)   # let a signal sent just now be handled
        signal.signal(signal.SIGINT, self._previous)


def _our_processes():
    warm = set(LokyExecutor.warm_worker_pids())
    return [p for p in child_processes() if p.pid not in warm]


def _check_interrupted_or_late(result, signals):
    """Exactly one of: the run saw the Ctrl-C and says so, or the signal came after the run returned."""
    assert (result.status == "interrupted") != (signals.late == 1), (result.status, signals.late)
    if result.status == "interrupted":
        time.sleep(0.3)
        assert not _our_processes(), [p.cmdline() for p in _our_processes()]


def _iris():
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True)


@pytest.mark.parametrize("seed", range(8))
def test_an_ablation_interrupted_at_a_random_point_returns_its_partial_ranking(seed):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    X, y = _iris()
    delay = random.Random(seed).uniform(0.0, 2.0)
    signals = LateSignals(delay)
    try:
        result = mlestar_nb.ablate(make_pipeline(StandardScaler(), SVC()), X, y, cv=5, repeats=8, jobs=2,
                                   progress=False)
    finally:
        signals.close()
    _check_interrupted_or_late(result, signals)
    assert isinstance(result, mlestar_nb.AblationResult)
    if result.status == "interrupted":
        assert result.metrics["fits"] <= result.metrics["fits_planned"]
        assert any(note.startswith("interrupted") for note in result.notes)


@pytest.mark.parametrize("seed", range(4))
def test_a_refinement_interrupted_at_a_random_point_returns_what_it_finished(seed):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _iris()
    delay = random.Random(100 + seed).uniform(0.0, 4.0)
    signals = LateSignals(delay)
    try:
        result = mlestar_nb.refine(make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=200)), X, y,
                                   cv=3, rounds=2, trials=8, jobs=2, ensemble="none", progress=False)
    finally:
        signals.close()
    _check_interrupted_or_late(result, signals)
    if result.status == "interrupted":
        assert any(note.startswith("interrupted") for note in result.notes)
        if result.best_score is not None:   # scored before the interrupt: the best so far is refit and usable
            assert result.best_pipeline.predict(X[:2]).shape == (2,)


def test_a_search_interrupted_during_set_up_returns_an_empty_interrupted_result(tmp_path):
    """Ctrl-C before the workers are even started: no traceback, no journal lines, no process left."""
    from mlestar_nb import tune   # imported before the clock starts

    LokyExecutor.close_warm_pools()   # so that starting two workers takes a while (about 0.5 s)
    signals = LateSignals(0.15)
    try:
        result = tune(lambda p: p["x"], {"x": (0.0, 1.0)}, trials=5, jobs=2, journal_dir=str(tmp_path),
                                 name="early", progress=False)
    finally:
        signals.close()
    assert signals.late == 0 and result.status == "interrupted" and result.trials == []
    assert not _our_processes()


def test_a_pickling_failure_in_ablate_leaves_nothing_running(ns):
    from IPython.core.error import UsageError

    LokyExecutor.close_warm_pools()
    shm_before = set(glob.glob("/dev/shm/mlestar-*")) | set(glob.glob("/tmp/mlestar-*"))
    ns.run_cell("import threading\nlock = threading.Lock()\nfrom mlestar_nb import component").raise_error()
    with pytest.raises(UsageError, match="'lock'"):
        ns.run_cell_magic("ablate", "--repeats 2 --jobs 2 --quiet", """
with lock:
    pass
if component("scale"):
    pass
cross_val_score(LogisticRegression(max_iter=200), X, y, cv=3)
""")
    time.sleep(0.3)
    assert not _our_processes()
    assert set(glob.glob("/dev/shm/mlestar-*")) | set(glob.glob("/tmp/mlestar-*")) == shm_before


# -- views: one contract, every final state, a text fallback -----------------------------------------
def _ablate_pipeline(X, y, **options):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    return mlestar_nb.ablate(make_pipeline(StandardScaler(), DecisionTreeClassifier(random_state=0)), X, y, cv=3,
                             repeats=1, backend="sequential", **options)


def _refine(X, y, **options):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    return mlestar_nb.refine(make_pipeline(StandardScaler(), DecisionTreeClassifier(random_state=0)), X, y, cv=3,
                             rounds=1, trials=3, backend="sequential", ensemble="none", **options)


def _tune(X, y, **options):
    return mlestar_nb.tune(lambda p: p["x"], {"x": (0.0, 1.0)}, trials=3, backend="sequential", journal=False,
                           **options)


RUNS = {"search": _tune, "ablation": _ablate_pipeline, "refine": _refine}
MODELS = {"search": ("mlestar_nb.search.views", "SearchModel"),
          "ablation": ("mlestar_nb.ablation.views", "AblationModel"),
          "refine": ("mlestar_nb.refinement.views", "RefineModel")}


def _model(kind):
    import importlib

    module, name = MODELS[kind]
    return getattr(importlib.import_module(module), name)()


@pytest.mark.parametrize("kind", sorted(RUNS))
def test_every_text_view_ends_with_a_final_line(kind, capsys):
    X, y = _iris()
    RUNS[kind](X, y, progress="text")
    out = capsys.readouterr().out
    assert out.rstrip().endswith("- done"), out[-300:]


@pytest.mark.parametrize("kind", sorted(RUNS))
def test_every_panel_ends_done_and_falls_back_to_text(kind, capsys, ns):
    from mlestar_nb.live.views import PanelView

    X, y = _iris()
    panel = PanelView(_model(kind))
    RUNS[kind](X, y, progress=False, listeners=[panel])
    assert ">done<" in panel.title.value and panel.bar.bar_style == "success"
    assert panel.bar.value == panel.bar.max
    # where widgets cannot be drawn (a terminal, nbconvert, GitHub), the final state is text/plain
    out = capsys.readouterr().out
    assert "- done" in out and "VBox(" not in out, out[-400:]


def _failing(kind, X, y, **options):
    """Each kind of run, failing with a ConfigError once it has started."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.tree import DecisionTreeClassifier

    if kind == "search":   # an estimator objective without data: a usage error from the first trial
        return mlestar_nb.tune(lambda p: DecisionTreeClassifier(), {"x": (0.0, 1.0)}, trials=3,
                               backend="sequential", journal=False, **options)
    broken = make_pipeline(FunctionTransformer(lambda Z: Z[:, :0]), DecisionTreeClassifier())   # no feature left
    if kind == "ablation":
        return mlestar_nb.ablate(lambda: DecisionTreeClassifier(), None, None, components=["a"],
                                 backend="sequential", **options)
    return mlestar_nb.refine(broken, X, y, cv=3, rounds=1, trials=3, backend="sequential", **options)


@pytest.mark.parametrize("kind", sorted(RUNS))
def test_every_panel_and_text_view_shows_an_error_as_error(kind, capsys, ns):
    from mlestar_nb.live.views import PanelView

    X, y = _iris()
    panel = PanelView(_model(kind), display=False)
    with pytest.raises(mlestar_nb.ConfigError):
        _failing(kind, X, y, progress="text", listeners=[panel])
    assert ">error: " in panel.title.value and panel.bar.bar_style == "danger"
    last = capsys.readouterr().out.rstrip().splitlines()[-1]
    assert " - error: " in last, last


def test_a_view_that_raises_is_switched_off_and_the_run_goes_on():
    calls = []

    def broken_view(event, snap):
        calls.append(event)
        raise ValueError("a bug in a view")

    with pytest.warns(RuntimeWarning, match="a view failed and was switched off .*a bug in a view"):
        result = mlestar_nb.tune(lambda p: p["x"], {"x": (0.0, 1.0)}, trials=4, backend="sequential",
                                 journal=False, progress=False, listeners=[broken_view])
    assert result.status == "completed" and len(result.trials) == 4 and calls == ["start"]
