"""The live panel, the text view, metrics and alerts, with real searches (issue: live panel)."""
import os
import signal
import threading
import time

import pytest

import mlestar_nb
from slow_strategies import SlowRandomSearch
from mlestar_nb.live.alerts import AlertRules
from mlestar_nb.search.engine import Search, StopRules
from mlestar_nb.executors import make_executor
from mlestar_nb.search.space import parse_space
from mlestar_nb.search.strategies import RandomSearch
from mlestar_nb.search.trial import SearchPayload
from mlestar_nb.live.views import PanelView
from mlestar_nb.search.views import SearchModel


def _panels():
    from ipywidgets.widgets.widget import _instances

    return [w for w in list(_instances.values()) if "mlestar-panel" in getattr(w, "_dom_classes", ())]


def _children(panel):
    title, progress_row, best, plot_row, meters, alerts = panel.children
    bar, counts = progress_row.children
    plot, table = plot_row.children
    return dict(title=title, bar=bar, counts=counts, best=best, plot=plot, table=table, meters=meters,
                alerts=alerts)


def test_the_magic_shows_a_live_panel_that_ends_done(ns, capsys):
    before = set(map(id, _panels()))
    result = ns.run_cell_magic("mlestar_tune", "--space {'x': (0.0, 1.0)} --trials 12 --jobs 2 --view widget "
                                               "--strategy random --seed 0", "-(x - 0.3) ** 2")
    panels = [p for p in _panels() if id(p) not in before]
    assert len(panels) == 1
    parts = _children(panels[0])
    assert parts["bar"].value == parts["bar"].max == 12 and parts["bar"].bar_style == "success"
    assert ">done<" in parts["title"].value
    assert "12/12 trials" in parts["counts"].value
    assert f"{result.best_score:.6g}" in parts["best"].value
    assert parts["table"].value.count("<tr><td>") == 5
    assert "CPU" in parts["meters"].value and "kernel+workers RSS" in parts["meters"].value
    assert parts["plot"].value[:8] == b"\x89PNG\r\n\x1a\n"
    assert parts["alerts"].value == ""
    # a frontend without widgets (terminal, nbconvert) sees the final summary as text/plain
    assert "12/12 trials" in capsys.readouterr().out


def test_panel_final_states_by_colour_and_words(ns):
    panel = PanelView(SearchModel(), display=False)
    mlestar_nb.tune(lambda p: p["x"], {"x": [1, 2, 3]}, trials=30, strategy="random", patience=3, seed=0,
                    backend="sequential", journal=False, progress=False, listeners=[panel])
    assert panel.bar.bar_style == "info" and "stopped early: patience" in panel.title.value

    interrupted = PanelView(SearchModel(), display=False)
    timer = threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    result = mlestar_nb.tune(lambda p: time.sleep(0.2) or p["x"], {"x": (0.0, 1.0)}, trials=500, jobs=2,
                             strategy="random", journal=False, progress=False, listeners=[interrupted])
    assert result.status == "interrupted"
    assert interrupted.bar.bar_style == "warning" and ">interrupted<" in interrupted.title.value

    broken = PanelView(SearchModel(), display=False)
    with pytest.raises(mlestar_nb.ConfigError):
        mlestar_nb.tune(lambda p: __import__("sklearn.linear_model").linear_model.Ridge(), {"x": (0.0, 1.0)},
                        trials=3, backend="sequential", journal=False, progress=False, listeners=[broken])
    assert broken.bar.bar_style == "danger" and ">error: the cell returned an unfitted Ridge" in broken.title.value


def test_text_view_and_quiet(ns, capsys):
    ns.run_cell_magic("mlestar_tune", "--space {'x': (0.0, 1.0)} --trials 5 --backend sequential --view text",
                      "x")
    out = capsys.readouterr().out
    assert "5/5 trials" in out and "- done" in out
    ns.run_cell_magic("mlestar_tune", "--space {'x': (0.0, 1.0)} --trials 5 --backend sequential --quiet", "x")
    assert capsys.readouterr().out == ""


def test_result_metrics_cover_cpu_memory_and_time(tmp_path):
    result = mlestar_nb.tune(lambda p: sum(i * i for i in range(20000)) * p["x"], {"x": (0.0, 1.0)}, trials=10,
                             jobs=2, journal=False, progress=False)
    m = result.metrics
    for key in ("success_rate", "cpu_percent_mean", "cpu_percent_peak", "worker_utilization", "memory_used_peak",
                "rss_peak", "trial_s_mean", "trial_s_median", "proposal_s_total"):
        assert key in m and type(m[key]) in (int, float), key
    assert 0 < m["cpu_percent_mean"] <= m["cpu_percent_peak"] <= 100
    assert m["rss_peak"] > 20 * 2**20 and m["memory_used_peak"] > m["rss_peak"] / 4


# -- each alert fires for real, and a healthy run stays silent ------------------
def _kinds(result):
    return [a.kind for a in result.alerts]


def test_a_healthy_run_raises_no_alert():
    result = mlestar_nb.tune(lambda p: -(p["x"] - 0.5) ** 2 + sum(range(30000)) * 0, {"x": (0.0, 1.0)}, trials=30,
                             jobs=2, strategy="random", journal=False, progress=False)
    assert result.alerts == []


def test_memory_leak_alert():
    import numpy as np

    kept = []

    def leaky(p):
        kept.append(np.ones(2_500_000))  # 20 MB that outlive the trial, in the worker's copy of `kept`
        return p["x"]

    result = mlestar_nb.tune(leaky, {"x": (0.0, 1.0)}, trials=16, jobs=2, strategy="random", journal=False,
                             progress=False)
    leak = [a for a in result.alerts if a.kind == "memory_leak"]
    assert len(leak) == 1 and "grew by" in leak[0].message and "per trial" in leak[0].message


def test_memory_pressure_alert_reads_the_machine():
    import psutil

    available = psutil.virtual_memory().available / psutil.virtual_memory().total
    # the threshold is set just above what the machine has free right now: the reading is real
    result = mlestar_nb.tune(lambda p: p["x"], {"x": (0.0, 1.0)}, trials=3, backend="sequential", journal=False,
                             progress=False, alert_thresholds={"memory_pressure_below": available + 0.05})
    assert _kinds(result) == ["memory_pressure"]
    assert "of the machine's memory is available" in result.alerts[0].message


def test_low_utilization_alert_names_a_slow_optimizer():
    dims = parse_space({"x": (0.0, 1.0)})
    rules = AlertRules(idle_window_s=2.0)
    search = Search(payload=SearchPayload(objective=lambda p: time.sleep(0.02) or p["x"]),
                    strategy=SlowRandomSearch(dims, seed=0, delay=0.25), executor=make_executor("threads", 2),
                    rules=StopRules(budget=30), alert_rules=rules, tick_s=0.1)
    search.run()
    low = [a for a in rules.alerts if a.kind == "low_utilization"]
    assert len(low) == 1 and "optimizer is too slow" in low[0].message


def test_low_utilization_alert_for_too_few_trials():
    result = mlestar_nb.tune(lambda p: p["x"], {"x": (0.0, 1.0)}, trials=1, jobs=2, backend="threads",
                             journal=False, progress=False)
    assert _kinds(result) == ["low_utilization"] and "only 1 trial(s) to run on 2 workers" in result.alerts[0].message


def test_slowdown_alert():
    calls = []

    def slower(p):
        calls.append(1)
        time.sleep(0.02 * len(calls))
        return p["x"]

    result = mlestar_nb.tune(slower, {"x": (0.0, 1.0)}, trials=15, backend="sequential", strategy="random",
                             journal=False, progress=False)
    assert _kinds(result) == ["slowdown"] and "trials are getting slower" in result.alerts[0].message


def test_failure_rate_and_worker_lost_alerts(tmp_path):
    def objective(p):
        if p["x"] == 1:
            os._exit(3)
        if p["x"] % 3 == 0:
            raise ValueError("bad")
        return p["x"]

    result = mlestar_nb.tune(objective, {"x": list(range(12))}, trials=12, jobs=2, strategy="grid", journal=False,
                             progress=False)
    kinds = _kinds(result)
    assert "worker_lost" in kinds and "failure_rate" in kinds
    lost = next(a for a in result.alerts if a.kind == "worker_lost")
    assert lost.trial == next(t.number for t in result.trials if t.params["x"] == 1)
    failure = next(a for a in result.alerts if a.kind == "failure_rate").message
    assert "success rate" in failure and "ValueError: bad" in failure
    assert "worker_lost" in repr(result) and "failure_rate" in result._repr_html_()


def test_monitor_magic_updates_live_and_stops(ns, capsys):
    from ipywidgets.widgets.widget import _instances

    ns.run_line_magic("mlestar_monitor", "--view text")
    assert "CPU" in capsys.readouterr().out
    ns.run_line_magic("mlestar_monitor", "--interval 0.1 --view widget")
    meters = [w for w in list(_instances.values()) if "mlestar-monitor" in getattr(w, "_dom_classes", ())][-1]
    first = meters.value
    time.sleep(0.5)
    assert meters.value != first and "kernel+workers RSS" in meters.value
    ns.run_line_magic("mlestar_monitor", "--stop")
    time.sleep(0.3)
    frozen = meters.value
    time.sleep(0.4)
    assert meters.value == frozen


def _new_widgets(css_class, before):
    from ipywidgets.widgets.widget import _instances

    return [w for w in list(_instances.values())
            if css_class in getattr(w, "_dom_classes", ()) and id(w) not in before]


def _ids(css_class):
    from ipywidgets.widgets.widget import _instances

    return {id(w) for w in list(_instances.values()) if css_class in getattr(w, "_dom_classes", ())}


def test_ablation_panel_fills_its_ranking_and_ends_done(ns):
    before = _ids("mlestar-ablation-panel")
    ns.run_cell("import mlestar_nb\nfrom sklearn.neighbors import KNeighborsClassifier\n"
                "pipe = make_pipeline(StandardScaler(), KNeighborsClassifier())\n"
                "study = mlestar_nb.ablate(pipe, X, y, cv=3, repeats=1, jobs=2, progress='widget')").raise_error()
    (panel,) = _new_widgets("mlestar-ablation-panel", before)
    title, row, chart, meters, alerts = panel.children
    bar = row.children[0]
    assert ">done<" in title.value and bar.bar_style == "success" and bar.value == bar.max == 9
    assert "kneighborsclassifier" in chart.value and "standardscaler" in chart.value
    assert "CPU" in meters.value


def test_refine_panel_shows_the_rounds(ns):
    before = _ids("mlestar-refine-panel")
    ns.run_cell("import mlestar_nb\npipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.001))\n"
                "refined = mlestar_nb.refine(pipe, X, y, cv=3, rounds=1, trials=4, jobs=2, ensemble='none', "
                "progress='widget')").raise_error()
    (panel,) = _new_widgets("mlestar-refine-panel", before)
    title, row, table, chart, meters, alerts = panel.children
    assert ">done<" in title.value and row.children[0].bar_style == "success" and table.value.count("<tr><td>") == 1
    assert "logisticregression" in table.value and "logisticregression" in chart.value


def test_resource_samples_list_the_process_tree_again_only_every_few_seconds(monkeypatch):
    """Listing children reads every /proc entry; in the search loop's thread that cost up to half a second a
    sample while the proposer's threads held the GIL, and the workers sat idle (live/monitor.py)."""
    import subprocess
    import sys

    import psutil

    from mlestar_nb.live import monitor as monitor_module

    monitor = monitor_module.ResourceMonitor(min_interval=0)
    monitor.sample(force=True)
    child = subprocess.Popen([sys.executable, "-c", "import numpy, time; time.sleep(60)"])
    try:
        time.sleep(1.0)   # the child has imported numpy: tens of MB
        child_rss = psutil.Process(child.pid).memory_info().rss
        before = monitor.sample(force=True)["rss_tree"]       # listed less than TREE_REFRESH_S ago: not seen
        monkeypatch.setattr(monitor_module, "TREE_REFRESH_S", 0.0)
        after = monitor.sample(force=True)["rss_tree"]
    finally:
        child.kill()
        child.wait()
    assert after - before > child_rss / 2
