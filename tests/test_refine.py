"""%mlestar_refine and refine(): the MLE-STAR loop on real data through a real shell (issue: refine)."""
import os
import signal
import threading
import time

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
    first, second = result.history
    # C=0.001 starves the model: ablation ranks the classifier first, tuning it must be kept
    assert first.step == "logisticregression" and first.action == "tune" and first.accepted
    assert first.score_after > first.score_before and first.p_value < 0.05
    assert len(first.trials.trials) == 8
    trials = sorted(first.trials.trials, key=lambda t: t.number)
    assert trials[0].params == {"logisticregression__C": 0.001}, "the search did not start at the current value"
    # the last round polishes every step with a space jointly (here only the classifier has one), its optimizer
    # told round 1's trials (same folds, same pipeline but C), so it does not score the current C again
    assert second.action == "polish" and second.step == "logisticregression" and second.ablation is None
    assert len(second.trials.trials) == 8
    assert second.trials.metrics["known_trials"] == len({t.params["logisticregression__C"] for t in trials
                                                         if t.state == "complete"})
    assert first.params not in [t.params for t in second.trials.trials]
    kept = [r for r in result.history if r.accepted]
    assert result.best_score == pytest.approx(kept[-1].score_after)
    assert result.best_score > result.initial_score + 0.01
    for record in result.history:  # kept exactly when the folds the search never saw score it higher
        assert record.accepted == (bool(record.params) and record.score_after > record.score_before)
    if not second.params:
        assert second.score_after == second.score_before and not second.accepted
    fitted = result.best_pipeline
    assert fitted[-1].C == kept[-1].params["logisticregression__C"]
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
    result = mlestar_nb.refine(pipe, X, y, cv=3, rounds=4, trials=5, jobs=2, ensemble="weights", holdout=0.25,
                               progress=False)
    assert result.scoring == "r2"
    # two components with a space: one round each, a second pass on the most impactful, then the joint polish
    actions = [(r.action, r.step) for r in result.history]
    assert [a for a, _ in actions] == ["tune", "tune", "tune", "polish"]
    assert {actions[0][1], actions[1][1]} == {"polynomialfeatures", "ridge"}
    assert actions[3][1] == "polynomialfeatures, ridge"
    assert set(result.history[3].trials.best_params) == {"polynomialfeatures__degree",
                                                          "polynomialfeatures__interaction_only", "ridge__alpha"}
    assert any("by round 2; later rounds refined them again" in n for n in result.notes)
    assert result.metrics["trials"] == 20
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


def test_interrupt_keeps_the_finished_work_and_returns_a_usable_result():
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), PCA(n_components=8), SVC(C=0.1))
    sent = {}

    def interrupt_during_the_first_search(event, snap):
        if event == "tune" and not sent:
            sent["at"] = time.monotonic() + 1.5
            threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()

    result = mlestar_nb.refine(pipe, X, y, cv=3, rounds=4, trials=60, jobs=2, holdout=0.2, progress=False,
                               listeners=[interrupt_during_the_first_search])
    assert time.monotonic() - sent["at"] < 10, "the interrupt was not acted on promptly"
    assert result.status == "interrupted"
    (record,) = result.history
    assert record.action == "tune" and record.score_after is None and not record.accepted
    assert record.trials.status == "interrupted" and 0 < len(record.trials.trials) < 60
    assert any(n.startswith(f"interrupted in round 1 (its search had finished {len(record.trials.trials)}")
               for n in result.notes)
    assert result.best_score == result.initial_score and result.ensemble is None
    assert result.best_pipeline.predict(X[:3]).shape == (3,)   # the best so far, refit
    assert result.holdout is not None
    assert "interrupted, not judged" in repr(result) and "n/a" in result._repr_html_()


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
    ("pipe --data X y --backend ray", "argument --backend: invalid choice"),
    ("pipe --data X y --scheduler tcp://127.0.0.1:1", "is for backend='dask' only"),
])
def test_bad_input_is_one_usage_error(refine_ns, line, words):
    before = dict(refine_ns.user_ns)
    with pytest.raises(UsageError) as info:
        refine_ns.run_line_magic("mlestar_refine", line)
    assert type(info.value) is UsageError and words in str(info.value) and "\n" not in str(info.value)
    assert refine_ns.user_ns.keys() == before.keys()


def test_help_documents_every_option(refine_ns):
    doc = refine_ns.find_line_magic("mlestar_refine").__doc__
    for option in ("--data", "--cv", "--scoring", "--rounds", "--trials", "--spaces", "--candidates", "--ensemble",
                   "--holdout", "--subsample", "--jobs", "--backend", "--scheduler", "--seed", "--quiet", "--out",
                   "polish every step jointly in the last round"):
        assert option in doc


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


def test_trial_memory_offers_a_search_only_the_trials_that_are_points_of_its_space():
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from mlestar_nb.refinement.memory import TrialMemory

    pipe = make_pipeline(PCA(n_components=3), LogisticRegression(C=1.0))
    memory = TrialMemory()
    memory.add(pipe, 0.80)                                                        # the current settings
    memory.add(pipe.set_params(logisticregression__C=10), 0.85)                  # only C differs
    memory.add(pipe.set_params(pca__n_components=5, logisticregression__C=1.0), 0.90)  # PCA differs
    memory.add(pipe.set_params(pca="passthrough"), 0.70)                          # another structure
    memory.add(make_pipeline(PCA(n_components=3), LogisticRegression(C=1e6)), 0.60)   # outside the space
    current = make_pipeline(PCA(n_components=3), LogisticRegression(C=1))         # 1 and 1.0: the same point
    space = {"logisticregression__C": (1e-3, 1e3, "log-uniform")}
    assert memory.known(current, space) == [({"logisticregression__C": 1.0}, 0.80),
                                            ({"logisticregression__C": 10.0}, 0.85)]
    joint = dict(space, pca__n_components=(1, 10))
    assert sorted(score for _, score in memory.known(current, joint)) == [0.80, 0.85, 0.90]
    assert memory.score_of(current) == 0.80
