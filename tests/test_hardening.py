"""Everyday cells and everyday mistakes, tried as a demanding new user would (issue 18).

Each test goes through the real IPython shell (fixture `ns`), with real worker
processes where shipping matters, and fails on the code before the fix.
"""
import json
import math

import pytest
from IPython.core.error import UsageError

from conftest import run, tune

SEQ = "--backend sequential --quiet"


# -- finding 1: ordinary Python is not an undefined name -----------------------------------------------
ORDINARY_CELL = """
s = 0
for k in range(3):
    s += k
try:
    1 / 0
except ZeroDivisionError as err:
    message = str(err)
with open(__import__("os").devnull) as fh:
    lines = fh.readlines()
if (n := len(lines)) == 0:
    squares = [i * i for i in range(3)]
total = sum(v for v in squares)
bump = lambda v, by=n: v + by
def remember():
    global kept
    kept = s
remember()
match [s, total]:
    case [first, *rest]:
        tail = len(rest)
del first
s + a + total + bump(kept) + tail + len(message) * 0
"""


def test_names_the_cell_binds_itself_are_neither_undefined_nor_shipped(ns):
    # the notebook's own k and fh cannot be pickled: had the cell's k or fh been taken for them, the search
    # could not ship its names to the worker process
    run(ns, "import threading\nk = threading.Lock()\nfh = threading.Lock()")
    result = tune(ns, "--space {'a': (0.0, 1.0)} --trials 3 --jobs 1 --quiet", ORDINARY_CELL)
    assert [t.state for t in result.trials] == ["complete"] * 3, result.trials[0].error
    for t in result.trials:   # s = 3, total = 5, bump(kept) = 3, tail = 1
        assert t.value == pytest.approx(3 + t.params["a"] + 5 + 3 + 1)


def test_ablate_cells_bind_loop_names_too_and_an_undefined_name_does_not_mention_a_space(ns):
    result = ns.run_cell_magic("ablate", f"--repeats 2 {SEQ}", """
total = 0
for step in range(3):
    total += step
if component("bonus"):
    total += 1
[float(total + fold) for fold in range(3)]
""")
    assert result["bonus"].delta == pytest.approx(1.0) and result.metrics["failed_fits"] == 0
    with pytest.raises(UsageError) as info:
        ns.run_cell_magic("ablate", f"--repeats 2 {SEQ}", "if component('a'):\n    pass\nnowhere_defined")
    assert "name 'nowhere_defined' is not defined" in str(info.value) and "space" not in str(info.value)


def test_a_builtin_the_notebook_rebound_reaches_the_worker_as_the_notebook_sees_it(ns):
    run(ns, "filter = 3")   # e.g. a feature filter's threshold, named like the builtin
    try:
        result = tune(ns, "--space {'a': (0.0, 1.0)} --trials 2 --jobs 1 --quiet", "filter + a")
        assert all(t.state == "complete" and t.value == pytest.approx(3 + t.params["a"]) for t in result.trials)
    finally:
        del ns.user_ns["filter"]


# -- finding 3: non-finite extra metrics ---------------------------------------------------------------
def test_non_finite_metrics_are_recorded_and_come_back_on_resume(ns, tmp_path):
    cell = "{'score': a, 'ratio': float('nan'), 'peak': float('inf'), 'floor': -math.inf}"
    run(ns, "import math")
    first = tune(ns, f"--space {{'a': (0.0, 1.0)}} --trials 3 --name nonfinite {SEQ}", cell)
    assert first.status == "completed" and [t.state for t in first.trials] == ["complete"] * 3
    records = [json.loads(line) for line in (tmp_path / ".mlestar" / "nonfinite.jsonl").read_text().splitlines()]
    assert records[1]["metrics"] == {"ratio": "nan", "peak": "inf", "floor": "-inf"}
    resumed = tune(ns, f"--space {{'a': (0.0, 1.0)}} --trials 4 --name nonfinite --resume {SEQ}", cell)
    for trial in resumed.trials:
        assert math.isnan(trial.metrics["ratio"]) and trial.metrics["peak"] == math.inf
        assert trial.metrics["floor"] == -math.inf


# -- finding 5: choices skopt cannot hash --------------------------------------------------------------
@pytest.mark.parametrize("strategy", ["bayes", "random", "grid"])
def test_dict_list_and_mixed_choices_are_searched_and_resumed_as_the_objects_themselves(ns, strategy):
    space = "{'class_weight': [None, 'balanced', {0: 1, 1: 3}], 'layers': [[8], [8, 8], (4,)], 'flag': [1, True]}"
    cell = ("model = make_pipeline(StandardScaler(), LogisticRegression(class_weight=class_weight))\n"
            "cross_val_score(model, X[:150], y[:150], cv=3).mean() + len(layers) / 100 + (flag is True) / 50")
    line = f"--space {space} --strategy {strategy} --initial 3 --seed 0 --name choices-{strategy} {SEQ}"
    first = tune(ns, line + " --trials 8", cell)
    assert first.status == "completed" and all(t.state == "complete" for t in first.trials), first.error
    seen = {repr(t.params["class_weight"]) for t in first.trials}
    assert seen <= {"None", "'balanced'", "{0: 1, 1: 3}"} and len(seen) >= 2
    assert all(t.params["layers"] in ([8], [8, 8], (4,)) for t in first.trials)
    assert all(type(t.params["flag"]) in (int, bool) for t in first.trials)
    resumed = tune(ns, line + " --trials 12 --resume", cell)
    assert [t.params for t in resumed.trials[:8]] == [t.params for t in first.trials]
    assert [type(t.params["flag"]) for t in resumed.trials[:8]] == [type(t.params["flag"]) for t in first.trials]
    assert len(resumed.trials) == 12 and all(t.state == "complete" for t in resumed.trials)


# -- finding 7: no journal, another journal folder, and an unwritable one ---------------------------------
def test_an_unwritable_journal_folder_is_one_line_naming_journal_dir_and_no_journal(ns, tmp_path):
    (tmp_path / ".mlestar").write_text("a file where the journal folder would go")
    with pytest.raises(UsageError) as info:
        tune(ns, f"--space {{'a': (0.0, 1.0)}} --trials 2 {SEQ}", "a")
    message = str(info.value)
    assert type(info.value) is UsageError and "\n" not in message
    assert "cannot write the journal" in message and "--journal-dir DIR" in message and "--no-journal" in message
    bare = tune(ns, f"--space {{'a': (0.0, 1.0)}} --trials 2 --no-journal {SEQ}", "a")
    assert bare.journal_path is None and len(bare.trials) == 2
    elsewhere = tune(ns, f"--space {{'a': (0.0, 1.0)}} --trials 2 --name there --journal-dir runs {SEQ}", "a")
    assert elsewhere.journal_path == str(tmp_path / "runs" / "there.jsonl")
    assert len((tmp_path / "runs" / "there.jsonl").read_text().splitlines()) == 3


def test_no_lock_file_is_left_beside_the_journal(ns, tmp_path):
    tune(ns, f"--space {{'a': (0.0, 1.0)}} --trials 2 --name tidy {SEQ}", "a")
    assert sorted(p.name for p in (tmp_path / ".mlestar").iterdir()) == ["tidy.jsonl"]


# -- finding 9: resume after the cell or its data changed ----------------------------------------------
def test_resume_refuses_a_journal_begun_by_another_cell_or_other_data_unless_forced(ns):
    space = "--space {'C': (0.1, 10.0, 'log-uniform')} --name edited --data X y --cv 3"
    cell = "make_pipeline(StandardScaler(), LogisticRegression(C=C))"
    tune(ns, f"{space} --trials 2 {SEQ}", cell)
    with pytest.raises(UsageError) as info:
        tune(ns, f"{space} --trials 4 --resume {SEQ}", "LogisticRegression(C=C, max_iter=50)")
    assert "was begun by other code" in str(info.value) and "--resume --force" in str(info.value)
    commented = tune(ns, f"{space} --trials 3 --resume {SEQ}", "# same model, a comment added\n" + cell)
    assert len(commented.trials) == 3
    run(ns, "X_full, X = X, X[:300]\ny_full, y = y, y[:300]")
    try:
        with pytest.raises(UsageError, match=r"with other data \(--data X: 569x30 then, 300x30 now; "
                                             r"--data y: 569 then, 300 now\)"):
            tune(ns, f"{space} --trials 4 --resume {SEQ}", cell)
        forced = tune(ns, f"{space} --trials 4 --resume --force {SEQ}", cell)
    finally:
        run(ns, "X, y = X_full, y_full")
    assert len(forced.trials) == 4 and any("resumed with --force" in note for note in forced.notes)


def test_resume_without_a_name_after_editing_the_cell_says_why_and_what_to_do(ns):
    space = "--space {'x': (0.0, 1.0)}"
    tune(ns, f"{space} --trials 2 {SEQ}", "x")
    with pytest.raises(UsageError, match="an edited cell has a new one: pass --name of the journal to continue"):
        tune(ns, f"{space} --trials 4 --resume {SEQ}", "x + 0")


def test_resuming_a_finished_budget_runs_nothing_and_says_so(ns, capsys):
    tune(ns, f"--space {{'a': (0.0, 1.0)}} --trials 4 --name full {SEQ}", "a")
    capsys.readouterr()
    result = tune(ns, "--space {'a': (0.0, 1.0)} --trials 3 --name full --resume --backend sequential "
                      "--view text", "a")
    shown = capsys.readouterr().out
    assert "4/4 trials" in shown and "4/3" not in shown
    assert result.metrics["trials_run"] == 0 and result.metrics["success_rate"] is None
    assert "success rate n/a" in repr(result) and "success rate 0%" not in repr(result)
    assert any("nothing new was run; raise --trials" in note for note in result.notes)


# -- finding 14 ------------------------------------------------------------------------------------------
def test_a_huge_error_message_is_kept_to_its_first_and_last_lines(ns):
    cell = ("if a >= 0:\n"
            "    raise ValueError('first line of the trouble\\n' + 'filler\\n' * 2000 + 'the cause, last')\na")
    result = tune(ns, f"--space {{'a': (0.0, 1.0)}} --trials 2 {SEQ}", cell)
    error = result.trials[0].error
    assert len(error) < 700 and "\n" not in error
    assert error.startswith("ValueError: first line of the trouble ... the cause, last")
    assert len(repr(result)) < 2000


def test_seed_seeds_random_and_numpy_per_trial_number(ns):
    cell = "import random\nimport numpy as np\n{'score': a, 'draw': random.random() + np.random.rand()}"
    line = "--space {'a': (0.0, 1.0)} --trials 4 --strategy random --seed 5 --jobs 2 --quiet"
    first = {t.number: t.metrics["draw"] for t in tune(ns, line, cell).trials}
    second = {t.number: t.metrics["draw"] for t in tune(ns, line, cell).trials}
    assert first == second and len(set(first.values())) == 4
    other = {t.number: t.metrics["draw"] for t in tune(ns, line.replace("--seed 5", "--seed 6"), cell).trials}
    assert set(other.values()).isdisjoint(first.values())


def test_quoted_option_values_lose_their_quotes(ns, tmp_path):
    result = tune(ns, "--space {'C': (0.1, 1.0)} --trials 2 --name 'quoted-run' --data X y --cv 3 "
                      f"--scoring \"roc_auc\" {SEQ}", "make_pipeline(StandardScaler(), LogisticRegression(C=C))")
    assert result.name == "quoted-run" and (tmp_path / ".mlestar" / "quoted-run.jsonl").exists()
    assert all(t.state == "complete" and 0.9 < t.value <= 1.0 for t in result.trials)


def test_refine_spaces_naming_a_step_the_pipeline_lacks_is_refused(ns):
    run(ns, "pipe = make_pipeline(StandardScaler(), LogisticRegression())\n"
            "typo = {'logisticregresion': {'C': (0.1, 10.0)}}\nbad_param = {'logisticregression': {'Cee': (0.1, 1.0)}}")
    with pytest.raises(UsageError) as info:
        ns.run_line_magic("mlestar_refine", "pipe --data X y --rounds 1 --trials 2 --spaces typo --quiet")
    assert "--spaces names step 'logisticregresion', which the pipeline does not have" in str(info.value)
    assert "logisticregression, standardscaler" in str(info.value)
    with pytest.raises(UsageError, match="tunes 'Cee', which LogisticRegression does not have"):
        ns.run_line_magic("mlestar_refine", "pipe --data X y --rounds 1 --trials 2 --spaces bad_param --quiet")


# -- beyond the list: more of what a data scientist does in a notebook ------------------------------------------
def test_display_in_a_cell_works_in_worker_processes_and_is_kept_on_the_trial(ns):
    result = tune(ns, "--space {'a': (0.0, 1.0)} --trials 2 --jobs 1 --quiet", "display(round(a, 3))\na")
    assert [t.state for t in result.trials] == ["complete"] * 2, result.trials[0].error
    assert all(str(round(t.params["a"], 3)) in t.output for t in result.trials)


def test_ranges_arrays_and_scipy_distributions_are_spaces_as_randomizedsearchcv_users_write_them(ns):
    run(ns, "import numpy as np\nfrom scipy.stats import loguniform, randint, uniform\n"
            "space = {'k': range(1, 5), 'alpha': np.logspace(-3, 0, 4), 'C': loguniform(1e-3, 1e3), "
            "'ratio': uniform(0.2, 0.5), 'depth': randint(2, 6)}")
    result = tune(ns, f"--space space --trials 6 --strategy random --seed 0 {SEQ}", "C * alpha + ratio + k + depth")
    assert all(t.state == "complete" for t in result.trials)
    for t in result.trials:
        p = t.params
        assert p["k"] in (1, 2, 3, 4) and p["alpha"] in (0.001, 0.01, 0.1, 1.0)
        assert 1e-3 <= p["C"] <= 1e3 and 0.2 <= p["ratio"] <= 0.7 and p["depth"] in (2, 3, 4, 5)
        assert type(p["k"]) is int and type(p["depth"]) is int
    assert result.space["C"].prior == "log-uniform" and (result.space["C"].low, result.space["C"].high) == (1e-3, 1e3)


@pytest.mark.parametrize("backend", ["sequential", "threads"])
def test_cells_run_in_the_kernel_cannot_change_the_notebooks_objects(ns, backend):
    run(ns, "import time\nimport numpy as np\nimport pandas as pd\nframe = pd.DataFrame({'v': [1.0, 2.0]})\n"
            "history = []\nmatrix = np.zeros((2, 2))\nmodel = LogisticRegression(C=1.0)")
    cell = """
frame['new'] = C
history.append(C)
model.set_params(C=C)
time.sleep(0.05)
if C > 5:
    matrix[0, 0] = C      # an in-place edit of the notebook's array: refused, as on a worker's memory map
model.C
"""
    result = tune(ns, f"--space {{'C': (0.1, 10.0)}} --trials 6 --strategy random --seed 1 --jobs 2 "
                      f"--backend {backend} --quiet", cell)
    for t in result.trials:   # each trial saw its own model, even with two threads at once
        if t.params["C"] > 5:
            assert t.state == "failed" and "read-only" in t.error
        else:
            assert t.state == "complete" and t.value == t.params["C"]
    assert list(ns.user_ns["frame"].columns) == ["v"] and ns.user_ns["history"] == []
    assert ns.user_ns["model"].C == 1.0 and not ns.user_ns["matrix"].any()
