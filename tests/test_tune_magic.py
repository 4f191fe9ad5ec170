"""%%mlestar_tune through a real IPython shell with real loky worker processes."""
import json
import os

import numpy as np
import pytest
from IPython.core.error import UsageError

from conftest import run, tune

NUMBER_CELL = """
model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=200))
cross_val_score(model, X, y, cv=3).mean()
"""


def test_brief_space_written_inline_searches_with_plain_values(ns):
    space = ("{'learning_rate': (0.001, 0.3, 'log-uniform'), 'batch_size': [16, 32, 64, 128, 256], "
             "'regularization': (1e-6, 1e-2, 'log-uniform'), 'network_depth': [2, 3, 4, 5, 6], "
             "'dropout_rate': (0.1, 0.5, 'uniform')}")
    result = tune(ns, f"--space {space} --trials 8 --backend sequential --seed 0 --quiet",
                  "-(learning_rate - 0.05) ** 2 - abs(network_depth - 4) - dropout_rate + batch_size / 1e4")
    assert len(result.trials) == 8 and all(t.state == "complete" for t in result.trials)
    for t in result.trials:
        assert type(t.params["batch_size"]) is int and t.params["batch_size"] in (16, 32, 64, 128, 256)
        assert type(t.params["learning_rate"]) is float and 0.001 <= t.params["learning_rate"] <= 0.3
        assert type(t.params["network_depth"]) is int and type(t.value) is float
    assert type(result.best_score) is float
    assert result.best_score == max(t.value for t in result.trials)


def test_parallel_search_on_two_loky_workers_finishes_budget_asynchronously(ns):
    run(ns, "space = {'C': (1e-3, 10.0, 'log-uniform')}")
    result = tune(ns, "--space space --trials 10 --jobs 2 --quiet", NUMBER_CELL)
    assert [t.state for t in result.trials].count("complete") == 10
    workers = {t.worker for t in result.trials}
    assert len(workers) == 2 and os.getpid() not in {int(w.split("/")[1]) for w in workers}
    spans = sorted((t.start, t.end) for t in result.trials)
    assert any(b_start < a_end for (_, a_end), (b_start, _) in zip(spans, spans[1:])), "trials never overlapped"
    assert sorted(t.number for t in result.trials) == list(range(10))
    assert result.metrics["workers"] == 2 and result.metrics["backend"] == "loky"
    assert 0.0 < result.metrics["worker_utilization"] <= 1.0
    assert result.best_score > 0.95


def test_namespace_is_left_alone_without_apply_and_updated_with_it(ns):
    run(ns, "space = {'C': (1e-3, 10.0, 'log-uniform')}")
    before = set(ns.user_ns)
    result = tune(ns, "--space space --trials 4 --backend sequential --quiet", NUMBER_CELL)
    assert set(ns.user_ns) == before
    assert "model" not in ns.user_ns and "C" not in ns.user_ns
    applied = tune(ns, "--space space --trials 4 --backend sequential --quiet --apply --out res", NUMBER_CELL)
    assert ns.user_ns["res"] is applied
    assert ns.user_ns["C"] == applied.best_params["C"]
    assert ns.user_ns["model"][-1].C == applied.best_params["C"]
    assert result is not applied


def test_objective_as_dict_keeps_metrics_and_failures_do_not_stop_the_search(ns):
    cell = """
if x > 0.7:
    raise ValueError("x too large")
{"score": -(x - 0.3) ** 2, "half": x / 2}
"""
    result = tune(ns, "--space {'x': (0.0, 1.0)} --trials 12 --strategy random --seed 1 --jobs 2 --quiet", cell)
    assert len(result.trials) == 12
    failed = [t for t in result.trials if t.state == "failed"]
    done = [t for t in result.trials if t.state == "complete"]
    assert failed and done
    assert all(t.params["x"] > 0.7 for t in failed)
    assert all(t.error == "ValueError: x too large (cell line 3)" for t in failed)
    assert all(t.metrics["half"] == pytest.approx(t.params["x"] / 2) for t in done)
    assert result.metrics["success_rate"] == pytest.approx(len(done) / 12)


def test_estimator_objective_is_cross_validated_and_hopeless_trials_are_pruned(ns):
    result = tune(ns, "--space {'C': (1e-6, 10.0, 'log-uniform')} --trials 16 --strategy random --seed 2 "
                      "--backend sequential --data X y --cv 4 --quiet",
                  "make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=300))")
    states = [t.state for t in result.trials]
    assert "pruned" in states and states.count("complete") >= 5
    for t in result.trials:
        if t.state == "complete":
            assert len(t.intermediate) == 4 and t.value == pytest.approx(sum(t.intermediate) / 4)
        if t.state == "pruned":
            assert len(t.intermediate) < 4
    pruned = [t for t in result.trials if t.state == "pruned"]
    assert max(t.value for t in pruned) < result.best_score
    assert result.best_params["C"] > 1e-3


def test_scoring_option_is_used(ns):
    result = tune(ns, "--space {'C': (0.01, 10.0, 'log-uniform')} --trials 3 --backend sequential "
                      "--data X y --cv 3 --scoring neg_log_loss --quiet",
                  "make_pipeline(StandardScaler(), LogisticRegression(C=C))")
    assert all(t.value < 0 for t in result.trials)


@pytest.mark.parametrize("strategy, expected", [("random", "random"), ("bayes", "bayes"), ("grid", "grid"),
                                                ("auto", "grid")])
def test_each_strategy_runs_through_the_magic(ns, strategy, expected):
    result = tune(ns, f"--space {{'a': (1, 3), 'b': ['u', 'v']}} --trials 6 --strategy {strategy} "
                      "--backend threads --jobs 2 --seed 0 --quiet",
                  "a * (2 if b == 'u' else 1)")
    assert result.strategy == expected
    assert len(result.trials) == 6
    if expected == "grid":
        assert {(t.params["a"], t.params["b"]) for t in result.trials} == {(a, b) for a in (1, 2, 3) for b in "uv"}
    assert result.best_score == 6


def test_minimize_and_stop_rules(ns):
    result = tune(ns, "--space {'x': (-1.0, 1.0)} --trials 40 --minimize --target 0.05 --seed 0 "
                      "--backend sequential --quiet", "x ** 2")
    assert result.status == "stopped" and result.stop_reason == "target"
    assert result.best_score <= 0.05 and len(result.trials) < 40
    patient = tune(ns, "--space {'x': [1, 2, 3]} --trials 30 --strategy random --patience 4 --seed 0 "
                       "--backend sequential --quiet", "x")
    assert patient.stop_reason == "patience" and len(patient.trials) < 30
    timed = tune(ns, "--space {'x': (0.0, 1.0)} --trials 1000 --strategy random --timeout 1 "
                     "--backend threads --jobs 2 --quiet", "import time; time.sleep(0.05); x")
    assert timed.stop_reason == "timeout" and 0 < len(timed.trials) < 1000


def test_journal_and_resume_lose_nothing_and_repeat_nothing(ns, tmp_path):
    run(ns, "space = {'x': (0.0, 1.0)}")
    first = tune(ns, "--space space --trials 5 --name jr --jobs 2 --seed 0 --quiet", "-(x - 0.4) ** 2")
    path = tmp_path / ".mlestar" / "jr.jsonl"
    assert first.journal_path == str(path)
    lines = [json.loads(l) for l in path.read_text().splitlines()]
    assert lines[0]["kind"] == "header" and lines[0]["space"]["x"]["type"] == "real"
    assert [l["number"] for l in lines[1:]] == [t.number for t in first.trials]
    resumed = tune(ns, "--space space --trials 9 --name jr --resume --jobs 2 --quiet", "-(x - 0.4) ** 2")
    numbers = [t.number for t in resumed.trials]
    assert sorted(numbers) == list(range(9)) and len(set(numbers)) == 9
    assert [t.params for t in resumed.trials[:5]] == [t.params for t in first.trials]
    assert resumed.metrics["trials_run"] == 4
    records = [json.loads(l) for l in path.read_text().splitlines()[1:]]
    assert sorted(r["number"] for r in records) == list(range(9))
    assert any("resumed 5" in n for n in resumed.notes)
    again = tune(ns, "--space space --trials 5 --name jr --jobs 2 --quiet", "-(x - 0.4) ** 2")
    assert len(again.trials) == 5
    assert len(list((tmp_path / ".mlestar").glob("jr.*.jsonl"))) == 1, "the earlier journal was not kept"


def test_large_arrays_reach_workers_memory_mapped_and_unread_names_stay_home(ns):
    run(ns, "import threading\nbig = np.ones((600, 600))\nlock = threading.Lock()" if False else
        "import numpy as np, threading\nbig = np.ones((600, 600))\nlock = threading.Lock()")
    result = tune(ns, "--space {'k': (1, 3)} --trials 3 --jobs 2 --strategy grid --quiet",
                  "{'score': float(big[0, 0] * k), 'kind': type(big).__name__}")
    assert [t.state for t in result.trials] == ["complete"] * 3, result.trials[0].error
    assert {t.metrics["kind"] for t in result.trials} == {"memmap"}


def test_help_documents_every_option(shell):
    doc = shell.find_cell_magic("mlestar_tune").__doc__
    for option in ("--space", "--trials", "--minimize", "--strategy", "--surrogate", "--initial", "--jobs",
                   "--backend", "--scheduler", "--start", "--timeout", "--patience", "--target", "--seed", "--name",
                   "--resume", "--force", "--journal-dir", "--no-journal", "--out",
                   "--apply", "--quiet", "--data", "--cv", "--scoring", "--objective"):
        assert option in doc


def test_objective_variable_option(ns):
    result = tune(ns, "--space {'x': (0.0, 1.0)} --trials 3 --objective score --backend sequential --quiet",
                  "score = 1 - x\nprint('not the score')")
    assert all(t.value == pytest.approx(1 - t.params["x"]) for t in result.trials)


def test_result_views(ns):
    import matplotlib
    matplotlib.use("Agg")
    result = tune(ns, "--space {'x': (0.0, 1.0), 'k': ['a', 'b']} --trials 5 --backend sequential --quiet",
                  "x if k == 'a' else x / 2")
    text = repr(result)
    assert "best score" in text and "5 complete" in text
    html = result._repr_html_()
    assert "<table>" in html and f"{result.best_score:.6g}" in html
    frame = result.to_frame()
    assert list(frame["value"]) == [t.value for t in result.trials]
    assert {"param_x", "param_k", "state", "duration"} <= set(frame.columns)
    ax = result.plot_convergence()
    assert ax.get_lines() and ax.get_lines()[0].get_ydata()[-1] == pytest.approx(result.best_score)


ERRORS = [
    ("--space space --bogus 1", "x", "unrecognized arguments: --bogus"),
    ("--trials 3", "x", "missing --space"),
    ("--space nowhere", "x", "--space names 'nowhere', which is not defined"),
    ("--space notadict", "x", "the space must be a dict"),
    ("--space {}", "x", "the space is empty"),
    ("--space {'x': (2.0, 1.0)}", "x", "low must be below high"),
    ("--space {'x': (0.1, 1.0, 'cubic')}", "x", "unknown prior 'cubic'"),
    ("--space {'x': []}", "x", "categorical list is empty"),
    ("--space {'x': (0.0, open)}", "x", "is not a literal dict"),
    ("--space space", "x +", "syntax error on line 1"),
    ("--space space", "x + undefined_thing", "name 'undefined_thing' is not defined"),
    ("--space space", "y = x", "does not end with an expression"),
    ("--space space --trials 0", "x", "trials must be a positive integer"),
    ("--space space --trials -3", "x", "trials must be a positive integer"),
    ("--space space --jobs 0", "x", "jobs must be a positive integer"),
    ("--space space --strategy grid", "x", "grid search needs an all-discrete space"),
    ("--space space --resume --name never", "x", "no journal named 'never'"),
    ("--space space --data X nope", "x", "--data names 'nope', which is not defined"),
    ("--space space --backend ray", "x", "argument --backend: invalid choice"),
    ("--space space --scheduler tcp://127.0.0.1:8786", "x", "--scheduler is for the dask backend only"),
    ("--space space --trials many", "x", "invalid int value"),
    ("--space space", "%time x", "IPython syntax"),
    ("--space space --out 1bad", "x", "not a valid variable name"),
    ("--space space --trial-memory lots", "x", "--trial-memory 'lots' is not a size"),
    ("--space space --trial-memory 1KB", "x", "is below 16 MB"),
    ("--space space --trial-timeout 5 --backend threads", "x", "trial limits need loky worker processes"),
    ("--space space --trial-timeout -1", "x", "trial_timeout must be a positive number"),
    ("--space space --timeout 0", "x", "timeout must be a positive number"),
    ("--space space --patience 0", "x", "patience must be a positive integer"),
    ("--space space --cv 1 --data X y", "x", "cv must be at least 2 folds"),
    ("--space {'x': (0.0, 1.0)", "x", "unbalanced brackets or quotes"),
    ("--space space --name ../up", "x", "must be a plain file name"),
    ("--space space '", "x", "close every quote"),
    ("--space space --start nowhere", "x", "--start names 'nowhere', which is not defined"),
    ("--space space --start notadict", "x", "a start point must be a dict"),
    ("--space space --start far", "x", "x=5.0 is outside [0, 1]"),
    ("--space space --start wrongname", "x", "missing x; not in the space: y"),
    ("--space space --start two --trials 1", "x", "start has 2 points but the budget is 1 trials"),
    # issue 18
    ("--space space --minimize --data X y", "x", "minimize does not apply to an estimator scored on data"),
    ("--space space --data X y --scoring acuracy", "x", "unknown scoring 'acuracy' (did you mean accuracy"),
    ("--space space --target nan", "x", "target must be a finite number"),
    ("--space space --initial 5 --trials 2", "x", "initial is 5 random points but the budget is 2 trials"),
    ("--space space --name 'my run'", "x", "--name 'my run' must be a plain file name"),
    ("--space space --name " + "n" * 300, "x", "must be a plain file name of at most 100"),
    ("--space {'lambda': (0.0, 1.0)}", "x", "space key 'lambda' is a Python keyword"),
    ("--space space --out class", "x", "--out 'class' is not a valid variable name"),
    ("--space space --force", "x", "force only applies to --resume"),
    ("--space space --resume --no-journal --name never", "x", "resume needs the journal; drop --no-journal"),
    ("--space {'h': [[1], '[1]']}", "x", "would read the same in the journal"),
    ("--space {'k': ('a', 'b', 'c')}", "x", "a tuple is a range"),
    ("--space space", "import asyncio\nawait asyncio.sleep(0)\nx", "uses await at its top level"),
]


@pytest.mark.parametrize("line, cell, words", ERRORS)
def test_bad_input_is_one_plain_usage_error_and_changes_nothing(ns, tmp_path, line, cell, words):
    run(ns, "space = {'x': (0.0, 1.0)}\nnotadict = [1, 2]\nfar = {'x': 5.0}\nwrongname = {'y': 0.5}\n"
        "two = [{'x': 0.1}, {'x': 0.2}]")
    before = dict(ns.user_ns)
    with pytest.raises(UsageError) as info:
        tune(ns, line, cell)
    assert type(info.value) is UsageError
    assert words in str(info.value)
    assert "\n" not in str(info.value)
    assert ns.user_ns.keys() == before.keys() and all(ns.user_ns[k] is before[k] for k in before)
    assert not list(tmp_path.glob(".mlestar/*.jsonl"))


def test_start_points_run_first_and_a_resume_does_not_run_them_again(ns):
    run(ns, "space = {'C': (1e-3, 10.0, 'log-uniform'), 'kind': ['a', 'b']}\n"
        "today = [{'C': 1, 'kind': 'b'}, {'C': 0.5, 'kind': 'a'}]")
    cell = "-(np.log10(C) + 1) ** 2 - (kind == 'a')"
    first = tune(ns, "--space space --start today --trials 5 --name st --jobs 2 --seed 0 --quiet",
                 "import numpy as np\n" + cell)
    by_number = sorted(first.trials, key=lambda t: t.number)
    assert [t.params for t in by_number[:2]] == [{"C": 1.0, "kind": "b"}, {"C": 0.5, "kind": "a"}]
    assert type(by_number[0].params["C"]) is float and by_number[0].value == pytest.approx(-1.0)
    assert ns.user_ns["today"] == [{"C": 1, "kind": "b"}, {"C": 0.5, "kind": "a"}], "the user's list changed"
    resumed = tune(ns, "--space space --start today --trials 8 --name st --resume --jobs 2 --quiet",
                   "import numpy as np\n" + cell)
    params = [t.params for t in resumed.trials]
    assert params.count({"C": 1.0, "kind": "b"}) == 1 and len(resumed.trials) == 8


def test_estimator_without_data_is_a_usage_error(ns):
    with pytest.raises(UsageError, match="add --data X y"):
        tune(ns, "--space {'C': (0.1, 1.0)} --trials 3 --backend sequential --quiet", "LogisticRegression(C=C)")


def test_resume_of_a_journal_for_another_space_is_refused(ns):
    tune(ns, "--space {'x': (0.0, 1.0)} --trials 2 --name other --backend sequential --quiet", "x")
    with pytest.raises(UsageError, match="written for a different space"):
        tune(ns, "--space {'x': (0.0, 2.0)} --trials 4 --name other --resume --backend sequential --quiet", "x")


def test_library_api_without_ipython(tmp_path):
    import mlestar_nb

    result = mlestar_nb.tune(lambda p: -(p["x"] - 1) ** 2, {"x": (-3.0, 3.0)}, trials=15, jobs=2, seed=0,
                             journal_dir=str(tmp_path), progress=False)
    assert len(result.trials) == 15 and abs(result.best_params["x"] - 1) < 0.5
    with pytest.raises(mlestar_nb.ConfigError, match="objective must be callable"):
        mlestar_nb.tune("not callable", {"x": (0.0, 1.0)})
    data = (np.arange(40.0).reshape(20, 2), np.arange(20.0))
    from sklearn.linear_model import Ridge
    est = mlestar_nb.tune(lambda p: Ridge(alpha=p["alpha"]), {"alpha": (0.01, 10.0)}, trials=4, data=data, cv=3,
                          backend="threads", jobs=2, journal=False, progress=False)
    assert all(t.state == "complete" and len(t.intermediate) == 3 for t in est.trials)


def test_known_trials_steer_the_first_proposals_and_cost_no_budget():
    import mlestar_nb

    def objective(p):
        return -(p["x"] - 0.3) ** 2

    known = [({"x": 0.1}, -0.04), ({"x": 0.5}, -0.04), ({"x": 0.9}, -0.36), ({"x": 0.0}, -0.09)]
    kwargs = dict(trials=3, backend="sequential", journal=False, progress=False, seed=0)
    blind = mlestar_nb.tune(objective, {"x": (0.0, 1.0)}, **kwargs)
    informed = mlestar_nb.tune(objective, {"x": (0.0, 1.0)}, known=known, **kwargs)
    assert len(informed.trials) == 3 and all(t.params not in [k for k, _ in known] for t in informed.trials)
    assert all(abs(t.params["x"] - 0.3) < 0.1 for t in informed.trials)
    assert not all(abs(t.params["x"] - 0.3) < 0.1 for t in blind.trials)
    with pytest.raises(mlestar_nb.ConfigError, match="known trial: x=2.0 is outside"):
        mlestar_nb.tune(objective, {"x": (0.0, 1.0)}, known=[({"x": 2.0}, 0.0)], **kwargs)
    with pytest.raises(mlestar_nb.ConfigError, match="score must be a finite number"):
        mlestar_nb.tune(objective, {"x": (0.0, 1.0)}, known=[({"x": 0.2}, float("nan"))], **kwargs)


def test_unload_removes_the_magic_and_load_brings_it_back(shell):
    shell.run_line_magic("unload_ext", "mlestar_nb")
    assert shell.find_cell_magic("mlestar_tune") is None
    shell.run_line_magic("load_ext", "mlestar_nb")
    assert shell.find_cell_magic("mlestar_tune") is not None


def test_seed_makes_a_one_worker_run_reproducible(ns):
    line = "--space {'x': (0.0, 1.0), 'k': [1, 2, 3]} --trials 14 --initial 4 --seed 7 --backend sequential --quiet"
    first = tune(ns, line, "x * k")
    second = tune(ns, line, "x * k")
    assert [t.params for t in first.trials] == [t.params for t in second.trials]
    third = tune(ns, line.replace("--seed 7", "--seed 8"), "x * k")
    assert [t.params for t in third.trials] != [t.params for t in first.trials]
