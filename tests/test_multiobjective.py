"""Several objectives, constraints, the Pareto front and the rules that choose from it (issue: multi-objective
and evolutionary search), through the real shell with real workers."""
import itertools
import re
import json
import math
import random

import numpy as np
import pytest
from IPython.core.error import UsageError

import mlestar_nb
from mlestar_nb.search import pareto
from mlestar_nb.search.objectives import Losses

from conftest import run, tune

# two objectives that trade off (a falls as x grows, b rises), a third value to constrain, and y as noise
TRADE_OFF = """
import math
{"a": math.sqrt(x) + 0.3 * y, "b": (1 - x) ** 2 + 0.3 * y, "c": x * (1 - y)}
"""
SPACE = "--space {'x': (0.0, 1.0), 'y': (0.0, 1.0)}"


def brute_front(points):
    """Indices no other point dominates, by comparing every pair."""
    return [i for i, p in enumerate(points)
            if not any(all(q[k] <= p[k] for k in range(len(p))) and any(q[k] < p[k] for k in range(len(p)))
                       for j, q in enumerate(points) if j != i)]


def losses_of(result, trial):
    return tuple(result.objectives.losses(trial))


# -- the arithmetic, against brute force ----------------------------------------------------------------
@pytest.mark.parametrize("dims", [2, 3, 4])
def test_non_dominated_sorting_matches_brute_force(dims):
    rng = random.Random(dims)
    points = [tuple(rng.choice([0.0, 0.25, 0.5, 0.75, 1.0]) for _ in range(dims)) for _ in range(60)]
    assert pareto.non_dominated(points) == brute_front(points)
    remaining, fronts = list(range(len(points))), []
    while remaining:
        front = [remaining[i] for i in brute_front([points[i] for i in remaining])]
        fronts.append(front)
        remaining = [i for i in remaining if i not in front]
    assert pareto.non_dominated_sort(points) == fronts


def test_hypervolume_matches_a_count_of_the_dominated_grid_cells():
    rng = random.Random(3)
    for dims in (2, 3):
        points = [tuple(rng.randrange(10) for _ in range(dims)) for _ in range(12)]
        reference = (10,) * dims
        cells = sum(1 for cell in itertools.product(range(10), repeat=dims)
                    if any(all(p[k] <= cell[k] for k in range(dims)) for p in points))
        assert pareto.hypervolume(points, reference) == pytest.approx(cells)
    assert pareto.hypervolume([(11.0, 0.0)], (10.0, 10.0)) == 0.0   # beyond the reference: counts for nothing


def test_crowding_distance_favours_the_ends_and_isolated_points():
    points = [(0.0, 1.0), (0.1, 0.9), (0.2, 0.8), (0.6, 0.4), (1.0, 0.0)]
    distance = pareto.crowding_distance(points)
    assert distance[0] == distance[-1] == math.inf
    assert distance[3] > distance[1]


# -- a search with several objectives, through the magic ----------------------------------------------------
def test_the_front_is_exactly_the_feasible_non_dominated_trials_and_frames_show_it(ns):
    result = tune(ns, f"{SPACE} --trials 24 --objectives 'a:min,b:min' --constraint 'c<=0.45' --strategy evolution "
                      "--backend threads --jobs 2 --seed 1 --quiet --out front", TRADE_OFF)
    assert ns.user_ns["front"] is result and result.kind == "multiobjective"
    complete = [t for t in result.trials if t.state == "complete"]
    assert len(complete) == 24
    feasible = [t for t in complete if t.metrics["c"] <= 0.45]
    infeasible = [t for t in complete if t.metrics["c"] > 0.45]
    assert feasible and infeasible
    expected = {feasible[i].number for i in brute_front([losses_of(result, t) for t in feasible])}
    assert {t.number for t in result.pareto} == expected
    frame = result.to_frame()
    assert {"a", "b", "on_front", "feasible"} <= set(frame.columns) and "metric_a" not in frame.columns
    assert set(frame.index[frame["on_front"]]) == expected
    assert set(frame.index[~frame["feasible"]]) == {t.number for t in infeasible}
    assert frame.loc[result.pareto[0].number, "a"] == result.pareto[0].metrics["a"]
    # the hypervolume history never falls, ends at the front's volume, and its reference is recorded
    volume = result.hypervolume
    assert len(volume.history) == 24 and volume.history == sorted(volume.history)
    reference = tuple(volume.reference[n] for n in ("a", "b"))
    assert volume.value == pytest.approx(pareto.hypervolume([losses_of(result, t) for t in result.pareto], reference))
    assert all(volume.reference[n] >= max(t.metrics[n] for t in feasible) for n in ("a", "b"))
    text = repr(result)
    assert "front: " in text and "infeasible" in text and "selected (knee, the default)" in text


def test_each_rule_picks_what_it_promises(ns):
    result = tune(ns, f"{SPACE} --trials 20 --objectives a:min,b:min,c:max --strategy random --backend threads "
                      "--jobs 2 --seed 4 --quiet", TRADE_OFF)
    front = result.pareto
    assert len(front) >= 3

    knee = result.select("knee")
    scaled = pareto.normalized([losses_of(result, t) for t in front])
    assert knee in front and scaled[front.index(knee)].sum() == pytest.approx(scaled.sum(axis=1).min())
    assert result.best_trial is knee and result.best_params == knee.params

    only_b = result.select({"weights": {"b": 1.0}})
    assert only_b.metrics["b"] == min(t.metrics["b"] for t in front)
    assert result.best_params == only_b.params

    tolerance = 0.05
    cheap = result.select({"cheapest_within": tolerance, "cost": "b"})
    best_a = min(t.metrics["a"] for t in result.feasible_trials)
    near = [t for t in result.feasible_trials if t.metrics["a"] <= best_a + tolerance]
    assert cheap in near and cheap.metrics["b"] == min(t.metrics["b"] for t in near)

    largest_c = result.select(lambda trials: max(trials, key=lambda t: t.metrics["c"]))
    assert largest_c.metrics["c"] == max(t.metrics["c"] for t in front)
    assert result.best_trial is largest_c
    with pytest.raises(mlestar_nb.ConfigError, match="must return one of the trials"):
        result.select(lambda trials: "nonsense")


def test_apply_runs_the_cell_with_the_trial_the_select_option_picks(ns):
    cell = "import math\nchosen = (x, y)\n" + '{"a": math.sqrt(x) + 0.3 * y, "b": (1 - x) ** 2 + 0.3 * y}'
    result = tune(ns, f"{SPACE} --trials 12 --objectives a:min,b:min --select weights=a:1 --strategy random "
                      "--backend sequential --seed 2 --quiet --apply", cell)
    picked = min(result.pareto, key=lambda t: t.metrics["a"])
    assert result.best_trial is picked
    assert ns.user_ns["chosen"] == (picked.params["x"], picked.params["y"])


def test_a_constraint_alone_constrains_the_score(ns):
    result = tune(ns, "--space {'x': (0.0, 1.0)} --trials 16 --constraint cost<=0.5 --strategy random "
                      "--backend sequential --seed 0 --quiet", '{"score": x, "cost": x * x}')
    feasible = [t for t in result.trials if t.metrics["cost"] <= 0.5]
    assert result.best_score == max(t.value for t in feasible)
    assert result.best_score < max(t.value for t in result.trials), "an infeasible trial scored higher"
    assert [t.number for t in result.pareto] == [result.best_trial.number]


def test_a_trial_that_lacks_an_objective_fails_alone_with_the_name(ns):
    cell = '{"a": x, "b": 1 - x} if x < 0.5 else {"a": x}'
    result = tune(ns, "--space {'x': (0.0, 1.0)} --trials 12 --objectives a:min,b:min --strategy random "
                      "--backend sequential --seed 3 --quiet", cell)
    failed = [t for t in result.trials if t.state == "failed"]
    assert failed and all(t.params["x"] >= 0.5 for t in failed)
    assert all(t.error.startswith("ValueError: the objective returned no 'b' (its keys: a)") for t in failed)
    assert all(t.params["x"] < 0.5 for t in result.pareto)


def test_an_estimator_gets_its_costs_measured_in_the_worker(ns):
    result = tune(ns, "--space {'C': (1e-3, 10.0, 'log-uniform')} --trials 4 --data X y --cv 3 "
                      "--objectives score:max,predict_ms:min --constraint size_kb<=1000 --strategy random "
                      "--jobs 2 --seed 0 --quiet",
                  "make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=300))")
    for trial in result.trials:
        assert trial.state == "complete", trial.error
        assert set(trial.metrics) >= {"score", "fit_s", "predict_ms", "size_kb"}
        assert all(type(trial.metrics[k]) is float and trial.metrics[k] > 0 for k in ("fit_s", "predict_ms",
                                                                                       "size_kb"))
        assert trial.value == trial.metrics["score"] == pytest.approx(sum(trial.intermediate) / 3)
        assert trial.worker.split("/")[1] != str(__import__("os").getpid())   # measured in a worker process


ERRORS = [
    ("--objectives a:min,z:max", "--objectives names 'z', which the cell does not return (it returns a dict "
                                 "with a, b, c)"),
    ("--objectives a:up,b:min", "the direction of 'a' is 'up'; use max or min"),
    ("--objectives a:min,b:min --constraint nothing<=1", "names 'nothing', which is neither an objective nor "
                                                           "returned by the cell"),
    ("--objectives a:min", "--objectives names one objective (a:min) and no constraint"),
    ("--objectives a:min,b:min --constraint c>=0.8 --constraint c<=0.2", "can never both hold"),
    ("--objectives a:min,b:min --constraint 'c<<1'", "is not NAME<=V or NAME>=V"),
    ("--objectives a:min,b:min --minimize", "drop --minimize"),
    ("--objectives a:min,b:min --patience 3", "patience and target follow one best score"),
    ("--objectives a:min,b:min --select middle", "unknown selection rule 'middle'"),
    ("--objectives a:min,b:min --select weights=q:1", "the weights name 'q', which is not an objective"),
]


@pytest.mark.parametrize("line, words", ERRORS, ids=[w[:30] for _, w in ERRORS])
def test_bad_objectives_are_one_line_errors_before_any_trial(ns, tmp_path, line, words):
    before = dict(ns.user_ns)
    with pytest.raises(UsageError) as error:
        tune(ns, f"{SPACE} --trials 5 {line} --backend sequential --quiet --name bad", TRADE_OFF)
    assert words in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / ".mlestar" / "bad.jsonl").exists()
    assert dict(ns.user_ns) == before


def test_an_estimator_cannot_give_an_objective_it_does_not_measure(ns):
    with pytest.raises(UsageError, match="it returns an unfitted estimator, which mlestar-nb measures as score, "
                                         "fit_s, predict_ms, size_kb"):
        tune(ns, "--space {'C': (0.1, 1.0)} --trials 2 --data X y --objectives score:max,latency:min --quiet",
             "LogisticRegression(C=C)")
    with pytest.raises(UsageError, match="predict_ms is a measured time or size, always above 0"):
        tune(ns, "--space {'C': (0.1, 1.0)} --trials 2 --data X y --objectives score:max,fit_s:min "
                 "--constraint predict_ms<=0 --quiet", "LogisticRegression(C=C)")


def test_journal_and_resume_keep_the_objectives(ns, tmp_path):
    line = f"{SPACE} --objectives a:min,b:min --constraint c<=0.6 --strategy evolution --backend threads --jobs 2 " \
           "--name mo --quiet"
    first = tune(ns, f"{line} --trials 8 --seed 0", TRADE_OFF)
    header = json.loads((tmp_path / ".mlestar" / "mo.jsonl").read_text().splitlines()[0])
    assert header["objectives"] == [["a", "min"], ["b", "min"]] and header["constraints"] == ["c<=0.6"]
    resumed = tune(ns, f"{line} --trials 14 --resume", TRADE_OFF)
    assert sorted(t.number for t in resumed.trials) == list(range(14))
    assert [t.metrics for t in resumed.trials[:8]] == [t.metrics for t in first.trials]
    assert resumed.metrics["trials_run"] == 6
    expected = brute_front([losses_of(resumed, t) for t in resumed.feasible_trials])
    assert {t.number for t in resumed.pareto} == {resumed.feasible_trials[i].number for i in expected}
    with pytest.raises(UsageError, match="journal 'mo' was written for a:min, b:min, not a:min, c:max"):
        tune(ns, line.replace("a:min,b:min", "a:min,c:max") + " --trials 16 --resume", TRADE_OFF)


def test_save_and_report_follow_the_selected_trial(ns, tmp_path):
    result = tune(ns, "--space {'C': (1e-3, 10.0, 'log-uniform')} --trials 5 --data X y --cv 3 "
                      "--objectives score:max,size_kb:min --strategy random --backend threads --jobs 2 --seed 1 "
                      "--quiet", "make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=300))")
    smallest = result.select({"weights": {"size_kb": 1}})
    saved = result.save(tmp_path / "model")
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    assert manifest["search"]["trial"] == smallest.number
    assert manifest["search"]["selection"] == "weights size_kb=1"
    assert manifest["search"]["objective_values"]["size_kb"] == smallest.metrics["size_kb"]
    assert saved.manifest_sha256
    page = (tmp_path / "model" / "report.html").read_text()
    assert "<section id='pareto-front'" in page.replace('"', "'")
    assert page.count("class='selected'") == 1 and f"trial {smallest.number}" in page


def test_the_panel_draws_the_front_as_it_grows(ns):
    from mlestar_nb.live.views import PanelView
    from mlestar_nb.search.views import SearchModel

    panel = PanelView(SearchModel(), display=False)
    seen = []
    result = mlestar_nb.tune(lambda p: {"a": p["x"], "b": (1 - p["x"]) ** 2 + p["y"]}, {"x": (0.0, 1.0),
                             "y": (0.0, 1.0)}, trials=10, objectives="a:min,b:min", strategy="random", seed=0,
                             backend="sequential", journal=False, progress=False,
                             listeners=[panel, lambda event, snap: seen.append(snap["front"])])
    sizes = [len(front["front"]) + len(front["dominated"]) for front in seen if front]
    assert sizes == sorted(sizes) and sizes[-1] == 10, "the front's points did not grow trial by trial"
    final = seen[-1]
    assert {p["number"] for p in final["front"]} == {t.number for t in result.pareto}
    assert final["selected"] == result.selected.number
    best, table, plot = panel.body[0].value, panel.body[1].children[1].value, panel.body[1].children[0].value
    assert f"selected: trial <b>{result.selected.number}</b>" in best
    assert table.count("<tr><td>") == min(8, len(result.pareto)) and "&#9733;" in table
    assert plot[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"front {len(result.pareto)} of 10 feasible" in panel.counts.value


def test_a_background_search_publishes_its_front(ns):
    snapshots = []
    handle = mlestar_nb.tune(lambda p: {"a": p["x"], "b": 1 - p["x"]}, {"x": (0.0, 1.0)}, trials=6,
                             objectives={"a": "min", "b": "min"}, strategy="evolution", seed=0, backend="threads",
                             jobs=2, journal=False, progress=False, background=True,
                             listeners=[lambda event, snap: snapshots.append(snap)])
    result = handle.result(timeout=60)
    assert len(result.pareto) == 6   # a + b = 1: nothing dominates anything
    assert snapshots[-1]["front"]["feasible"] == 6 and "front 6 of 6 feasible" in handle.progress


def test_plot_pareto_marks_every_kind_of_trial(ns):
    result = tune(ns, f"{SPACE} --trials 16 --objectives a:min,b:min --constraint c<=0.4 --strategy random "
                      "--backend sequential --seed 5 --quiet", TRADE_OFF)
    ax = result.plot_pareto()
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "dominated" in labels and "infeasible" in labels
    assert f"front ({len(result.pareto)})" in labels and f"selected (trial {result.selected.number})" in labels
    three = tune(ns, f"{SPACE} --trials 8 --objectives a:min,b:min,c:max --strategy random --backend sequential "
                     "--seed 5 --quiet", TRADE_OFF)
    axes = three.plot()
    assert [t.get_text().split("\n")[0] for t in axes.get_xticklabels()] == ["a", "b", "c"]


# -- the strategies with several objectives ---------------------------------------------------------------
def test_evolution_adapts_its_step_to_how_often_children_improve():
    from mlestar_nb.search.space import parse_space
    from mlestar_nb.search.strategies import EvolutionSearch

    dims = parse_space({"x": (0.0, 1.0), "y": (0.0, 1.0)})
    improving, stuck = EvolutionSearch(dims, seed=0, population=8), EvolutionSearch(dims, seed=0, population=8)
    counter = iter(range(10 ** 6))
    for strategy, loss in ((improving, lambda p: -next(counter)), (stuck, lambda p: 1.0 + p["x"] * 0)):
        for _ in range(40):
            point = strategy.ask()
            strategy.tell(point, loss(point))
    # every child of `improving` beats both its parents; no child of `stuck` (all equal) beats any
    assert improving.success_rate == 1.0 and improving.sigma == pytest.approx(0.5)
    assert stuck.success_rate == 0.0 and stuck.sigma < 0.2 * math.exp(-1 / 12 * 20)


def test_evolution_ranks_vectors_by_non_domination_and_keeps_feasible_points():
    from mlestar_nb.search.space import parse_space
    from mlestar_nb.search.strategies import EvolutionSearch

    dims = parse_space({"x": (0.0, 1.0), "y": (0.0, 1.0)})
    strategy = EvolutionSearch(dims, seed=1, population=10)
    for _ in range(60):
        p = strategy.ask()
        strategy.tell(p, Losses((p["x"], 1 - p["x"] + p["y"]), violation=max(0.0, p["y"] - 0.9)))
    members = [m["losses"] for m in strategy._members]
    assert len(members) == 10 and all(m.violation == 0 for m in members)
    assert np.mean([m[1] - (1 - m[0]) for m in members]) < 0.25, "the population did not approach the front y=0"


@pytest.mark.skipif(__import__("importlib.util").util.find_spec("distributed") is None,
                    reason='dask is not installed: pip install "mlestar-nb[dask]"')
def test_dask_workers_measure_the_objectives_and_resume_keeps_them(ns, tmp_path):
    import os

    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address=None)
    client = Client(cluster)
    try:
        worker_pids = set(client.run(os.getpid).values())
        line = ("--space {'C': (1e-3, 10.0, 'log-uniform')} --data X y --cv 3 --objectives score:max,predict_ms:min "
                "--strategy evolution --backend dask --name mo-dask --quiet")
        cell = "make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=300))"
        first = tune(ns, f"{line} --trials 4 --seed 0", cell)
        resumed = tune(ns, f"{line} --trials 6 --resume", cell)
        assert {int(t.worker.rsplit("/", 1)[1]) for t in resumed.trials} <= worker_pids
        assert all(t.state == "complete" and t.metrics["predict_ms"] > 0 for t in resumed.trials)
        assert [t.metrics for t in resumed.trials[:4]] == [t.metrics for t in first.trials]
        assert resumed.metrics["trials_run"] == 2 and resumed.pareto
        assert client.status == "running"
    finally:
        client.close()
        cluster.close()


def test_the_report_draws_the_front_and_marks_the_selected_trial():
    from mlestar_nb.report import build_report

    from report_runs import result

    front = result("multiobjective")
    page = build_report(front)
    section = page.split("id='pareto-front'")[1].split("</section>")[0]
    assert section.count("class='infeasible'") == len(front.infeasible_trials) > 0
    assert section.count("class='selected'") == 1 and f"trial {front.selected.number}" in section
    assert section.count("<tr>") - 1 == len(front.pareto)   # the table: a header row, then each front trial


FRONT_CELLS = [
    "%load_ext mlestar_nb",
    "%%mlestar_tune --space {'x': (0.0, 1.0), 'y': (0.0, 1.0)} --trials 24 --jobs 2 --backend threads "
    "--objectives 'score:max,cost:min' --constraint 'y<=0.8' --strategy evolution --seed 0\n"
    "import time\ntime.sleep(0.1)\n{'score': 1 - (1 - x) ** 2 - 0.2 * y, 'cost': 1 + 9 * x ** 2 + y, 'y': y}",
]


def test_the_panel_shows_the_front_in_jupyterlab(tmp_path):
    """The live panel of a search with two objectives, rendered by JupyterLab in Debian's Chromium."""
    import os

    import nbformat

    from test_browser import ARTIFACTS, KERNEL_READY_JS, jupyter, running_notebook
    from web import CHROMIUM

    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in FRONT_CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    with jupyter(tmp_path, "lab", {"front.ipynb": notebook}) as (base, token), \
            running_notebook(base, token, "lab", "front.ipynb") as page:
        panel = page.locator(".mlestar-panel").first
        panel.locator(".mlestar-status", has_text="done").wait_for(timeout=180_000)
        page.wait_for_function(KERNEL_READY_JS, timeout=60_000)
        counts = panel.locator(".mlestar-counts").inner_text()
        front, feasible = map(int, re.search(r"front (\d+) of (\d+) feasible", counts).groups())
        assert "24/24 trials" in counts and 0 < front <= feasible < 24   # y <= 0.8 breaks some
        assert re.search(r"selected: trial \d+ score", panel.locator(".mlestar-best").inner_text())
        assert panel.locator(".mlestar-front tbody tr").count() == min(8, front)
        assert panel.locator("img").first.evaluate("img => img.naturalWidth") > 100
        panel.screenshot(path=str(ARTIFACTS / "panel-front.png"))


def test_evolution_on_one_objective_converges_and_a_resumed_run_breeds_from_its_journal(ns, tmp_path):
    line = "--space {'x': (0.0, 1.0), 'y': (0.0, 1.0)} --minimize --strategy evolution --backend sequential " \
           "--name evo --quiet"
    cell = "(x - 0.3) ** 2 + (y - 0.7) ** 2"
    first = tune(ns, f"{line} --trials 30 --seed 0", cell)
    assert first.strategy == "evolution" and first.best_score < 0.003
    resumed = tune(ns, f"{line} --trials 36 --resume --seed 1", cell)
    new = resumed.trials[30:]
    assert len(new) == 6 and resumed.metrics["trials_run"] == 6
    # bred from the 30 journaled trials, not a fresh Latin hypercube: the new points stay near the optimum
    assert np.median([t.value for t in new]) < np.median([t.value for t in first.trials[:10]]) / 4
