"""%mlestar_refine and refine(): the MLE-STAR loop on real data through a real shell (issue: refine)."""
import pytest
from IPython.core.error import UsageError

import mlestar_nb
from conftest import run


@pytest.fixture
def refine_ns(ns):
    run(ns, """
import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
X, y = load_breast_cancer(return_X_y=True)
pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.001, max_iter=300))
""")
    return ns


def test_refine_tunes_the_most_impactful_step_and_keeps_only_improvements(refine_ns):
    before = set(refine_ns.user_ns)
    result = refine_ns.run_line_magic(
        "mlestar_refine", "pipe --data X y --cv 3 --rounds 2 --trials 8 --jobs 2 --ensemble none --quiet --out refined")
    assert refine_ns.user_ns["refined"] is result and set(refine_ns.user_ns) - before == {"refined"}
    first = result.history[0]
    # C=0.001 starves the model: ablation ranks the classifier first, tuning it must be accepted
    assert first.step == "logisticregression" and first.action == "tune" and first.accepted
    assert first.score_after > first.score_before and first.p_value < 0.10
    assert len(first.trials.trials) == 8
    assert result.best_score == pytest.approx(max(r.score_after for r in result.history if r.accepted))
    assert result.best_score > result.initial_score + 0.01
    for record in result.history[1:]:
        assert record.step != "logisticregression"
        if not record.accepted:
            assert record.p_value is None or record.p_value >= 0.10 or record.score_after <= record.score_before
    fitted = result.best_pipeline
    assert fitted[-1].C == first.params["logisticregression__C"]
    assert fitted.predict(refine_ns.user_ns["X"][:5]).shape == (5,)
    assert result.holdout is not None and 0.8 < result.holdout["score"] <= 1.0
    assert "round 1: tune logisticregression" in repr(result)
    assert "<table>" in result._repr_html_()


def test_holdout_gap_and_ensemble_on_regression(tmp_path):
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    X, y = load_diabetes(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), PolynomialFeatures(2), Ridge(alpha=1e-4))
    result = mlestar_nb.refine(pipe, X, y, cv=3, rounds=2, trials=6, jobs=2, ensemble="weights", holdout=0.25,
                               progress=False)
    assert result.scoring == "r2"
    h = result.holdout
    assert h["rows"] == 111 and h["gap"] == pytest.approx((h["cv_score"] - h["score"]) / abs(h["cv_score"]))
    assert h["flagged"] == (h["gap"] > 0.03)
    if result.ensemble and result.ensemble.get("score") is not None:
        assert result.ensemble["kind"] == "weights" and result.ensemble["members"] >= 2
        if result.ensemble["kept"]:
            assert result.best_score == pytest.approx(result.ensemble["score"])
    ax = result.plot()
    assert ax.get_lines()


def test_candidates_pick_the_start_and_subsample_refits_on_all_rows():
    from sklearn.datasets import load_breast_cancer
    from sklearn.dummy import DummyClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_breast_cancer(return_X_y=True)
    candidates = [DummyClassifier(), make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))]
    result = mlestar_nb.refine(None, X, y, candidates=candidates, cv=3, rounds=1, trials=4, subsample=200,
                               holdout=0.2, ensemble="none", jobs=2, progress=False)
    names = dict(result.candidates)
    assert names["candidate1"] > names["candidate0"] + 0.2
    assert result.metrics["rows_searched"] == 200
    assert any("refit on all" in n for n in result.notes)
    assert hasattr(result.best_pipeline[-1], "coef_")  # fitted: on all 455 development rows
    assert result.best_pipeline[-1].n_features_in_ == 30


def test_leakage_guard_warns_about_a_target_feature_and_a_transform_fitted_on_all_rows(refine_ns):
    run(refine_ns, "X_leaky = np.column_stack([X, y + 0.01 * np.random.RandomState(0).rand(len(y))])")
    refine_ns.run_cell("X_all = StandardScaler().fit_transform(X)", store_history=True).raise_error()
    result = refine_ns.run_line_magic("mlestar_refine", "pipe --data X_leaky y --cv 3 --rounds 1 --trials 3 "
                                                        "--ensemble none --quiet --jobs 2")
    assert any("feature 30 alone predicts the target" in w for w in result.warnings)
    result = refine_ns.run_line_magic("mlestar_refine", "pipe --data X_all y --cv 3 --rounds 1 --trials 3 "
                                                        "--ensemble none --quiet --jobs 2")
    assert any("fits a transform on all rows of X_all" in w for w in result.warnings)


@pytest.mark.parametrize("line, words", [
    ("pipe --data X", "argument --data: expected 2 arguments"),
    ("nowhere --data X y", "the pipeline argument names 'nowhere', which is not defined"),
    ("X --data X y", "refine() needs a scikit-learn Pipeline"),
    ("pipe --data X y --rounds 0", "rounds must be a positive integer"),
    ("pipe --data X y --ensemble bag", "argument --ensemble: invalid choice"),
    ("pipe --data X y --holdout 1.5", "holdout must be a fraction"),
    ("pipe --data X y --cv 1", "cv must be a number of folds, at least 2"),
    ("--data X y", "give a pipeline to refine, or --candidates"),
])
def test_bad_input_is_one_usage_error(refine_ns, line, words):
    before = dict(refine_ns.user_ns)
    with pytest.raises(UsageError) as info:
        refine_ns.run_line_magic("mlestar_refine", line)
    assert type(info.value) is UsageError and words in str(info.value) and "\n" not in str(info.value)
    assert refine_ns.user_ns.keys() == before.keys()


def test_default_spaces_cover_common_estimators():
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor
    from sklearn.linear_model import ElasticNet, LogisticRegression
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    from mlestar_nb.refinement.spaces import default_space

    for estimator, key in ((LogisticRegression(), "C"), (HistGradientBoostingClassifier(), "learning_rate"),
                           (RandomForestRegressor(), "n_estimators"), (ElasticNet(), "l1_ratio"),
                           (PolynomialFeatures(), "degree")):
        space = default_space(estimator)
        assert key in space and set(space) <= set(estimator.get_params())
    assert default_space(object()) is None and default_space(StandardScaler()) is None
