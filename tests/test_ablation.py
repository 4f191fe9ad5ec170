"""%ablate and %%ablate through a real IPython shell and real worker processes; `ablate()` as a library.

The planted-truth tests build data where the answer is known (a step that is
essential, one that does nothing, one that hurts; columns with and without
signal; a code block that matters and one that does not) and assert the
ranking and labels recover it.
"""
import math

import numpy as np
import pytest
from IPython.core.error import UsageError

from conftest import run

PLANTED = """
import numpy as np
from sklearn.feature_selection import VarianceThreshold
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

def planted(seed, n=240):
    # 4 informative columns (class shifts the mean), 2 pure-noise columns on a 100x larger scale
    rng = np.random.RandomState(seed)
    yp = rng.randint(0, 2, n)
    Xp = np.hstack([rng.normal(size=(n, 4)) + 1.2 * yp[:, None], 100 * rng.normal(size=(n, 2))])
    return Xp, yp

Xp, yp = planted(0)
planted_pipe = Pipeline([
    ("scale", StandardScaler()),                              # essential: kNN distances need it
    ("constant", VarianceThreshold()),                        # useless: no column is constant
    ("lose", FunctionTransformer(lambda Z: Z[:, 3:])),        # harmful: throws away 3 informative columns
    ("knn", KNeighborsClassifier(15)),
])
"""


def ablate_line(shell, line):
    return shell.run_line_magic("ablate", line)


def ablate_cell(shell, line, cell):
    return shell.run_cell_magic("ablate", line, cell)


def labels(result):
    return {row.component: row.label for row in result.ranking}


def no_effect_seen(row):
    """A useless component: nothing measured (none), removing it helps (harmful), or not significant with a
    confidence interval around zero (unclear: a few folds cannot rule out a medium effect either way)."""
    return row.label in ("none", "harmful") or (row.label == "unclear" and abs(row.delta) <= row.ci)


# -- planted truth ------------------------------------------------------------------
def test_planted_pipeline_truth_is_recovered_on_two_worker_processes(ns):
    run(ns, PLANTED)
    before = dict(ns.user_ns)
    result = ablate_line(ns, "planted_pipe --data Xp yp --cv 5 --repeats 3 --jobs 2 --quiet")
    order = [row.component for row in result.ranking]
    assert set(order[:2]) == {"scale", "knn"} and order[2:] == ["constant", "lose"]
    assert labels(result) == {"scale": "high", "knn": "high", "constant": "none", "lose": "harmful"}
    assert result["constant"].delta == 0.0 and result["constant"].p_value == 1.0
    assert result["lose"].delta < -0.05 and result["lose"].p_value < 0.05
    assert result["knn"].detail == "KNeighborsClassifier -> DummyClassifier(prior)"
    assert result["scale"].detail == "StandardScaler -> passthrough"
    assert result.most_impactful in ("scale", "knn")
    assert len(result.baseline_scores) == 15 and all(row.n_pairs == 15 for row in result.ranking)
    assert result.metrics["fits"] == 5 * 15 and result.metrics["workers"] == 2
    assert result.metrics["backend"] == "loky" and result.metrics["failed_fits"] == 0
    for row in result.ranking:   # plain Python types only
        for value in (row.score, row.delta, row.se, row.p_value, row.effect):
            assert type(value) is float
    assert type(result.baseline) is float and all(type(s) is float for s in result.baseline_scores)
    assert ns.user_ns.keys() == before.keys() and all(ns.user_ns[k] is before[k] for k in before)


def test_feature_groups_with_known_signal_are_ranked(ns):
    run(ns, PLANTED + "groups = {'signal': [0, 1, 2, 3], 'noise': [4, 5]}\n"
                      "lr = make_pipeline(StandardScaler(), LogisticRegression())")
    result = ablate_line(ns, "lr --data Xp yp --features groups --repeats 2 --backend threads --jobs 2 --quiet")
    order = [row.component for row in result.ranking]
    assert order.index("signal") < order.index("standardscaler") < order.index("noise") or \
        order.index("signal") < order.index("noise")
    assert result["signal"].kind == "features" and result["signal"].label == "high"
    assert no_effect_seen(result["noise"])
    assert result["signal"].detail == "drops 4 column(s): 0, 1, 2, 3"
    inline = ablate_line(ns, "lr --data Xp yp --features {'signal': [0, 1, 2, 3]} --repeats 1 "
                             "--backend sequential --quiet")
    assert inline["signal"].delta == pytest.approx(result["signal"].delta, abs=0.1)


def test_feature_groups_by_name_keep_a_column_transformer_working(ns):
    run(ns, PLANTED + """
import pandas as pd
from sklearn.compose import ColumnTransformer
frame = pd.DataFrame(Xp, columns=["s0", "s1", "s2", "s3", "n0", "n1"])
by_name = Pipeline([
    ("columns", ColumnTransformer([("scaled", StandardScaler(), ["s0", "s1", "n0"]),
                                   ("raw", "passthrough", ["s2", "s3", "n1"])])),
    ("model", LogisticRegression()),
])
named_groups = {"signal": ["s0", "s1", "s2", "s3"], "noise": ["n0", "n1"]}
""")
    result = ablate_line(ns, "by_name --data frame yp --features named_groups --repeats 1 --backend sequential "
                             "--quiet")
    assert result.metrics["failed_fits"] == 0, [r.error for r in result.ranking if r.error]
    assert result.ranking[0].component in ("signal", "model")
    assert result["signal"].label == "high" and no_effect_seen(result["noise"])
    assert {r.component for r in result.ranking} >= {"columns", "columns__scaled", "model", "signal", "noise"}


def test_cell_blocks_that_matter_and_that_do_not(ns):
    run(ns, PLANTED + "from sklearn.model_selection import KFold\nXp_before = Xp.copy()")
    before = dict(ns.user_ns)
    cell = """
if component("scaling"):
    Xp = StandardScaler().fit_transform(Xp)
if component("copy"):
    Xp = Xp.copy()
cross_val_score(KNeighborsClassifier(15), Xp, yp, cv=KFold(5, shuffle=True))
"""
    result = ablate_cell(ns, "--repeats 3 --jobs 2 --quiet", cell)
    assert [row.component for row in result.ranking] == ["scaling", "copy"]
    assert labels(result) == {"scaling": "high", "copy": "none"}
    assert result["copy"].delta == 0.0 and result["scaling"].kind == "block"
    assert result["scaling"].n_pairs == 15 and result.form == "cell"
    assert ns.user_ns.keys() == before.keys() and all(ns.user_ns[k] is before[k] for k in before)
    assert np.array_equal(ns.user_ns["Xp"], ns.user_ns["Xp_before"])

    # the better path: the cell ends with an estimator and mlestar-nb draws the paired folds
    estimator_cell = cell.replace("cross_val_score(KNeighborsClassifier(15), Xp, yp, cv=KFold(5, shuffle=True))",
                                  "KNeighborsClassifier(15)")
    paired = ablate_cell(ns, "--data Xp yp --repeats 2 --backend threads --jobs 2 --quiet", estimator_cell)
    assert labels(paired) == {"scaling": "high", "copy": "none"}
    assert paired.metrics["fits"] == 3 * 2 * 5 and "2 x 5 folds" in paired.test
    assert ns.user_ns.keys() == before.keys()


def test_cell_whose_score_never_changes_gets_a_ranking_but_no_p_value(ns):
    run(ns, PLANTED)
    result = ablate_cell(ns, "--repeats 2 --backend sequential --quiet", """
if component("scaling"):
    Xp = StandardScaler().fit_transform(Xp)
cross_val_score(KNeighborsClassifier(15), Xp, yp, cv=3).mean()
""")
    row = result["scaling"]
    assert row.delta > 0 and row.p_value is None and row.label == "n/a"
    assert any("same scores on every repeat" in note for note in result.notes)
    # no p-value is no evidence, not no effect: the component that costs most is still named, with its evidence
    assert result.most_impactful == "scaling"
    assert f"most impactful: scaling (delta {row.delta:+.4g}, no p-value" in repr(result)


INTERACTIONS = """
from sklearn.model_selection import KFold
from sklearn.preprocessing import PolynomialFeatures
rng = np.random.RandomState(3)
Xi = rng.normal(size=(150, 3))
# the class depends a little on x0 * x1, which only the interaction features let a linear model see (~3 %)
yi = (Xi[:, 2] + 0.45 * Xi[:, 0] * Xi[:, 1] + 0.5 * rng.normal(size=150) > 0).astype(int)
"""


def test_a_few_percent_that_folds_cannot_resolve_is_unclear_not_none_and_still_named(ns):
    run(ns, PLANTED + INTERACTIONS)
    result = ablate_cell(ns, "--repeats 2 --backend sequential --quiet", """
if component("interactions"):
    Xi = PolynomialFeatures(2, interaction_only=True).fit_transform(Xi)
cross_val_score(make_pipeline(StandardScaler(), LogisticRegression()), Xi, yi, cv=KFold(5, shuffle=True))
""")
    row = result["interactions"]
    assert 0.03 < row.delta < row.ci and row.p_value > 0.05 and row.label == "unclear"
    assert result.most_impactful == "interactions"
    # 5 folds share 3/4 of their rows: past a point, repeats stop shrinking the corrected standard error
    assert row.repeats_needed is None
    assert "most impactful: interactions (delta +0.05 ± 0.0705, p " in repr(result)
    assert "more repeats alone would not settle it" in repr(result) and "no component" not in repr(result)


REGRESSION = """
from sklearn.neighbors import KNeighborsRegressor
rng = np.random.RandomState(0)
Xr = np.hstack([rng.normal(size=(60, 3)), 50 * rng.normal(size=(60, 2))])
yr = Xr[:, 0] + Xr[:, 1] - Xr[:, 2] + 0.5 * rng.normal(size=60)
reg = Pipeline([("scale", StandardScaler()), ("knn", KNeighborsRegressor(10))])   # unscaled: the error doubles
"""


def test_a_doubled_error_on_few_folds_says_how_many_repeats_settle_it_and_they_do(ns):
    run(ns, PLANTED + REGRESSION)
    line = "reg --data Xr yr --cv 3 --scoring neg_mean_squared_error --backend sequential --quiet"
    few = ablate_line(ns, line + " --repeats 1")
    row = few["scale"]
    assert row.score < 2 * few.baseline and row.p_value > 0.05 and row.label == "unclear"   # MSE more than doubles
    assert few.most_impactful == "scale" and row.repeats_needed == 2
    assert "about 2 repeats would settle it (--repeats 2)" in repr(few)
    settled = ablate_line(ns, line + " --repeats 2")
    assert settled["scale"].p_value < 0.05 and settled["scale"].label in ("medium", "high")
    assert settled.to_frame().loc["scale", "ci"] == settled["scale"].ci


def test_labels_match_planted_truth_over_many_seeds_even_with_one_repeat():
    import mlestar_nb
    from planted import planted_studies

    seen = {"essential": [], "useless": [], "no-op": []}
    for seed in range(8):
        for pipe, X, y, scoring, truth in planted_studies(seed, n=120):
            result = mlestar_nb.ablate(pipe, X, y, cv=5, repeats=1, scoring=scoring, seed=seed,
                                       backend="sequential", progress=False)
            for component, role in truth.items():
                seen[role].append((type(pipe[-1]).__name__, component, result[component].label))
            assert result.most_impactful is not None   # every pipeline here has an essential component
    assert not [s for s in seen["essential"] if s[2] in ("none", "harmful")], seen["essential"]
    assert not [s for s in seen["useless"] if s[2] == "high"], seen["useless"]
    assert {s[2] for s in seen["no-op"]} == {"none"}


def test_a_component_with_no_effect_is_never_labelled_high_across_seeds():
    import mlestar_nb
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    seen = []
    for seed in range(5):
        rng = np.random.RandomState(100 + seed)
        y = rng.randint(0, 2, 200)
        X = np.hstack([rng.normal(size=(200, 4)) + 0.6 * y[:, None], rng.normal(size=(200, 2))])
        order = rng.permutation(6)
        # permuting columns changes nothing a forest can learn, but changes which trees it grows: pure noise
        pipe = Pipeline([("permute", FunctionTransformer(lambda Z, o=order: Z[:, o])),
                         ("forest", RandomForestClassifier(n_estimators=5, max_features=1, max_depth=3,
                                                           random_state=0))])
        result = mlestar_nb.ablate(pipe, X, y, cv=5, repeats=3, seed=seed, jobs=2, progress=False)
        assert result["permute"].delta != 0.0   # it does move the scores...
        seen.append(result["permute"].label)
    assert "high" not in seen and "medium" not in seen, seen   # ...but never looks important


# -- variants of composite pipelines ----------------------------------------------------
def test_nested_pipeline_column_transformer_and_feature_union_variants():
    import mlestar_nb
    from sklearn.compose import ColumnTransformer
    from sklearn.datasets import load_breast_cancer
    from sklearn.decomposition import PCA
    from sklearn.feature_selection import SelectKBest
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline
    from sklearn.preprocessing import StandardScaler

    from mlestar_nb.ablation.variants import pipeline_variants

    X, y = load_breast_cancer(return_X_y=True)
    X, y = X[::3, :8], y[::3]
    pre = ColumnTransformer([("num", Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())]), [0, 1, 2]),
                             ("raw", "passthrough", [3]), ("rest", StandardScaler(), [4, 5, 6, 7])])
    union = FeatureUnion([("pca", PCA(2)), ("best", SelectKBest(k=3))])
    pipe = Pipeline([("pre", pre), ("union", union), ("model", LogisticRegression())])
    variants = {v.name: v for v in pipeline_variants(pipe, X)}
    assert list(variants) == ["baseline", "pre", "pre__num", "pre__num__impute", "pre__num__scale", "pre__rest",
                              "union", "union__pca", "union__best", "model"]
    assert variants["union__pca"].estimator.get_params()["union__pca"] == "drop"
    assert variants["pre__num__scale"].estimator.get_params()["pre__num__scale"] == "passthrough"
    assert variants["pre__rest"].detail == "StandardScaler -> passthrough"
    assert type(variants["model"].estimator.steps[-1][1]).__name__ == "DummyClassifier"
    assert pipe.get_params()["union__pca"] is union.named_transformers["pca"]   # the user's pipeline is untouched
    result = mlestar_nb.ablate(pipe, X, y, cv=3, repeats=1, backend="threads", jobs=2, progress=False)
    assert result.metrics["failed_fits"] == 0, [r.error for r in result.ranking if r.error]
    assert len(result.ranking) == 9 and result["model"].label in ("high", "medium")
    assert result["union__pca"].kind == "step"


def test_regression_pipeline_gets_a_dummy_regressor_and_unstratified_folds():
    import mlestar_nb
    from sklearn.datasets import make_regression
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = make_regression(n_samples=150, n_features=5, noise=5.0, random_state=0)
    result = mlestar_nb.ablate(make_pipeline(StandardScaler(), Ridge()), X, y, scoring="r2", cv=3, repeats=2,
                               backend="sequential", progress=False)
    assert result["ridge"].detail == "Ridge -> DummyRegressor(mean)" and result["ridge"].label == "high"
    assert result["ridge"].score < 0.05 < 0.9 < result.baseline and result.scoring == "r2"


def test_params_variants_reset_each_changed_hyperparameter(ns):
    run(ns, "starved = make_pipeline(StandardScaler(with_mean=False), LogisticRegression(C=1e-4, max_iter=300,"
            " random_state=0, n_jobs=1))")
    result = ablate_line(ns, "starved --data X y --params --repeats 1 --cv 4 --backend threads --jobs 2 --quiet")
    params = {row.component: row for row in result.ranking if row.kind == "param"}
    # random_state and n_jobs change how a fit runs, not what it learns: not ablated
    assert set(params) == {"standardscaler__with_mean", "logisticregression__C", "logisticregression__max_iter"}
    assert params["logisticregression__C"].detail == "C=0.0001 -> default 1.0"
    assert params["logisticregression__C"].label == "harmful"   # the tiny C hurts: resetting it helps
    assert params["logisticregression__max_iter"].delta == 0.0


# -- failures -----------------------------------------------------------------------------
def test_failed_fits_are_recorded_and_a_variant_that_always_fails_is_reported(ns):
    run(ns, """
import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import FunctionTransformer
holes = X.copy()
holes[::7, 0] = np.nan

def picky(Z):
    if len(Z) == 456:   # the one training set per repeat with 456 rows: a fit that fails on one fold
        raise RuntimeError("picky about 456 rows")
    return Z

fragile = make_pipeline(FunctionTransformer(picky), SimpleImputer(), StandardScaler(), LogisticRegression())
""")
    result = ablate_line(ns, "fragile --data holes y --repeats 2 --jobs 2 --quiet")
    imputer = result["simpleimputer"]
    assert imputer.label == "failed" and imputer.delta is None and imputer.failed == 10
    assert imputer.error.startswith("ValueError: Input X contains NaN")   # the most frequent failure
    assert result.ranking[-1].component == "simpleimputer"
    assert any("every fit failed for: simpleimputer" in note for note in result.notes)
    assert len(result.baseline_scores) == 8   # 2 of 10 baseline fits raised
    assert result["functiontransformer"].n_pairs == 8 and result["functiontransformer"].failed == 0
    assert result["standardscaler"].failed == 2 and "picky about 456 rows" in result["standardscaler"].error
    assert result.metrics["failed_fits"] == 2 + 0 + 10 + 2 + 2   # baseline, each step knocked out in turn
    assert result.baseline_failed == 2 and "picky" in result.baseline_error
    text = repr(result)
    assert "simpleimputer: 10 failed fit(s), e.g. ValueError: Input X contains NaN" in text
    assert "baseline: 2 failed fit(s), e.g. RuntimeError: picky about 456 rows" in text


def test_a_baseline_that_always_fails_is_reported_not_hidden():
    import matplotlib

    matplotlib.use("Agg")
    import mlestar_nb
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    def broken(Z):
        raise ValueError("broken step")

    X, y = np.random.RandomState(0).normal(size=(30, 3)), np.arange(30) % 2
    result = mlestar_nb.ablate(make_pipeline(FunctionTransformer(broken), LogisticRegression()), X, y, cv=3,
                               repeats=1, backend="sequential", progress=False)
    assert result.baseline is None and result.baseline_failed == 3
    assert [row.label for row in result.ranking] == ["failed", "failed"] and result.most_impactful is None
    assert result["functiontransformer"].failed == 0   # it ran fine, but there is nothing to compare it with
    assert any("the baseline failed on every fit (ValueError: broken step)" in note for note in result.notes)
    assert "baseline: 3 failed fit(s)" in repr(result) and "<table>" in result._repr_html_()
    result.plot()


def test_a_worker_that_dies_fails_only_its_own_fit(ns):
    result = ablate_cell(ns, "--repeats 1 --jobs 2 --quiet", """
import os, time
time.sleep(0.2)
if not component("safe"):
    os._exit(1)   # only the variant that switches "safe" off kills its worker
if component("other"):
    pass
1.0
""")
    assert result["safe"].label == "failed" and result["safe"].error.startswith("worker_lost")
    assert result["other"].label == "none" and result["other"].failed == 0
    assert result.baseline_scores == [1.0] and result.status == "completed"


def test_interrupt_returns_the_partial_ranking(ns):
    import os
    import signal
    import threading
    import time

    timer = threading.Timer(2.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    clock = time.monotonic()
    result = ablate_cell(ns, "--repeats 40 --backend threads --jobs 2 --quiet", """
import time
time.sleep(0.1)
if component("a"):
    pass
1.0
""")
    assert time.monotonic() - clock < 6
    assert result.status == "interrupted" and 0 < result.metrics["fits"] < 80
    assert any(note.startswith("interrupted:") for note in result.notes)


# -- views, listeners, library --------------------------------------------------------------
def test_result_views_and_live_snapshots():
    import matplotlib

    matplotlib.use("Agg")
    import mlestar_nb
    from sklearn.datasets import load_iris
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler
    from sklearn.svm import SVC

    X, y = load_iris(return_X_y=True)
    events = []
    result = mlestar_nb.ablate(make_pipeline(MinMaxScaler(), SVC()), X, y, cv=3, repeats=2, backend="sequential",
                               progress=False, listeners=[lambda e, snap: events.append((e, snap, snap.get("unit")))])
    assert events[0][0] == "start" and events[-1][0] == "end"
    fits = [snap for e, snap, _ in events if e == "fit"]
    assert len(fits) == 3 * 6 and [s["done"] for s in fits] == list(range(1, 19))
    assert all(s["total"] == 18 and set(s) >= {"running", "elapsed_s", "ranking", "baseline"} for s in fits)
    sizes = [len(s["ranking"]) for s in fits]
    assert sizes[5] == 0 and 0 < sizes[11] < 2 and sizes[-1] == 2   # the ranking fills in as variants finish
    assert events[-1][1]["status"] == "completed" and isinstance(events[-1][1]["ranking"][0]["delta"], float)

    text = repr(result)
    assert "most impactful: svc" in text and "Nadeau-Bengio" in text
    html = result._repr_html_()
    assert "<table>" in html and "minmaxscaler" in html and "high" in html
    frame = result.to_frame()
    assert list(frame.index) == [r.component for r in result.ranking]
    assert {"kind", "score", "delta", "se", "p_value", "label"} <= set(frame.columns)
    ax = result.plot()
    ticks = {tick.get_position()[1]: tick.get_text() for tick in ax.get_yticklabels()}
    assert len(ax.patches) == 2 and ticks[max(ticks)] == f"{result.ranking[0].component} ({result.ranking[0].label})"
    with pytest.raises(KeyError, match="no component 'nope'"):
        result["nope"]


def test_library_blocks_component_outside_the_magic_and_errors():
    import mlestar_nb
    from mlestar_nb import component
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    assert component("anything") is True
    with pytest.raises(TypeError, match="as a string"):
        component(3)
    X, y = load_iris(return_X_y=True)

    def blocks():
        score = 0.5
        if component("helps"):
            score += 0.3
        if component("idle"):
            score += 0.0
        return [score, score + 0.1]   # per-fold scores

    result = mlestar_nb.ablate(blocks, components=["helps", "idle"], repeats=2, backend="sequential",
                               progress=False)
    assert labels(result) == {"helps": "high", "idle": "none"} and result.form == "cell"
    assert result["helps"].delta == pytest.approx(0.3) and result["helps"].n_pairs == 2
    assert any("only the first repeat counts" in note for note in result.notes)

    def model():
        return LogisticRegression(max_iter=50 if component("short") else 1000)

    fitted = mlestar_nb.ablate(model, X, y, components=["short"], cv=3, repeats=1, backend="threads", jobs=2,
                               progress=False)
    assert fitted["short"].n_pairs == 3 and "1 x 3 folds" in fitted.test
    with pytest.raises(mlestar_nb.ConfigError, match="takes a scikit-learn Pipeline"):
        mlestar_nb.ablate(LogisticRegression(), X, y)
    with pytest.raises(mlestar_nb.ConfigError, match="components= must list"):
        mlestar_nb.ablate(model, X, y)
    with pytest.raises(mlestar_nb.ConfigError, match="repeats > 1 reshuffles"):
        from sklearn.model_selection import KFold
        mlestar_nb.ablate(model, X, y, components=["short"], cv=KFold(3))


def test_help_documents_every_option(shell):
    doc = shell.find_line_magic("ablate").__doc__
    assert shell.find_cell_magic("ablate") is not None
    for option in ("PIPE", "--data", "--cv", "--scoring", "--repeats", "--params", "--features", "--minimize",
                   "--seed", "--jobs", "--backend", "--scheduler", "--out", "--quiet", "component("):
        assert option in doc


def test_out_stores_the_result(ns):
    run(ns, "pipe = make_pipeline(StandardScaler(), LogisticRegression())")
    result = ablate_line(ns, "pipe --data X y --repeats 1 --cv 3 --backend sequential --out study --quiet")
    assert ns.user_ns["study"] is result and math.isfinite(result.baseline)


# -- bad input -------------------------------------------------------------------------------
BLOCK = "if component('a'):\n    pass\n"
ERRORS = [
    ("nope --data X y", None, "name 'nope' is not defined"),
    ("model --data X y", None, "'model' is a LogisticRegression, not a scikit-learn Pipeline"),
    ("pipe", None, "missing --data"),
    ("--data X y", None, "name the pipeline to ablate"),
    ("pipe --data X nope", None, "--data names 'nope', which is not defined"),
    ("pipe --data X y --repeats 0", None, "repeats must be a positive integer"),
    ("pipe --data X y --cv 1", None, "cv must be at least 2 folds"),
    ("pipe --data X y --jobs 0", None, "jobs must be a positive integer"),
    ("pipe --data X y --features notadict", None, "--features must be a non-empty dict"),
    ("pipe --data X y --features {}", None, "--features must be a non-empty dict"),
    ("pipe --data X y --features {'a': [0, 99]}", None, "--features group 'a' names column 99, which X does not have"),
    ("pipe --data X y --features {'a': []}", None, "--features group 'a' must list its columns"),
    ("pipe --data X y --features nowhere", None, "--features names 'nowhere', which is not defined"),
    ("pipe --data X y --features {'a': [0, open]}", None, "is not a literal dict"),
    ("pipe --data X y --scoring accuracy_typo", None, "unknown scoring 'accuracy_typo'"),
    ("pipe --data X y --minimize", None, "minimize is for a cell"),
    ("pipe --data X y --out 1bad", None, "not a valid variable name"),
    ("pipe --data X y --bogus", None, "unrecognized arguments: --bogus"),
    ("pipe --data X y --backend ray", None, "argument --backend: invalid choice"),
    ("pipe --data X y --repeats many", None, "invalid int value"),
    ("pipe --data X short_y", None, "X has 569 rows but y has 10"),
    ("--repeats 2", "cross_val_score(LogisticRegression(), X, y, cv=3).mean()", "the cell has no blocks to ablate"),
    ("--repeats 2", "name = 'a'\nif component(name):\n    pass\n1.0", "component() on line 2 needs one literal"),
    ("--repeats 2", BLOCK + "z = 1", "does not end with an expression"),
    ("--repeats 2", BLOCK + "undefined_thing", "name 'undefined_thing' is not defined"),
    ("--repeats 2", BLOCK + "1 +", "syntax error on line 3"),
    ("--repeats 2", BLOCK + "%time 1", "IPython syntax"),
    ("pipe", BLOCK + "1.0", "takes no pipeline"),
    ("--params", BLOCK + "1.0", "--params and --features ablate a pipeline"),
    ("--repeats 0", BLOCK + "1.0", "repeats must be a positive integer"),
    ("--backend sequential", BLOCK + "LogisticRegression()", "add --data X y"),
    ("--backend sequential --data X y", BLOCK + "0.5", "must end with an unfitted estimator"),
]


@pytest.mark.parametrize("line, cell, words", ERRORS)
def test_bad_input_is_one_plain_usage_error_and_changes_nothing(ns, line, cell, words):
    run(ns, "pipe = make_pipeline(StandardScaler(), LogisticRegression())\nmodel = LogisticRegression()\n"
            "notadict = [1, 2]\nshort_y = y[:10]")
    before = dict(ns.user_ns)
    with pytest.raises(UsageError) as info:
        if cell is None:
            ablate_line(ns, line)
        else:
            ablate_cell(ns, line, cell)
    assert type(info.value) is UsageError
    assert words in str(info.value)
    assert "\n" not in str(info.value)
    assert ns.user_ns.keys() == before.keys() and all(ns.user_ns[k] is before[k] for k in before)


def test_ablation_runs_on_a_dask_cluster(ns):
    distributed = pytest.importorskip("distributed", reason="dask is not installed (pip install \"mlestar-nb[dask]\")")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster):
        ns.run_cell("from sklearn.linear_model import LogisticRegression\n"
                    "dpipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))").raise_error()
        study = ns.run_line_magic("ablate", "dpipe --data X y --cv 3 --repeats 1 --backend dask --quiet")
    assert study.metrics["backend"] == "dask" and study.metrics["fits"] == 9
    assert study.most_impactful == "logisticregression"
