"""Ablation-guided refinement against tuning every hyperparameter at once, at the same trial budget (issue: refine).

Five tasks built from datasets that ship with scikit-learn (three classification, two regression), each with a
deliberately untuned first pipeline: three with one or two tunable steps, two with three or four. `refine()` gets
R rounds of K trials; `tune()` gets R x K trials over the union of the same built-in spaces of every step. Both are
judged on the same repeated folds of the development rows and on the same holdout rows, which neither saw. Each task
is repeated over several seeds (the holdout split, the folds and both searches change with the seed); the table
gives medians, the median paired difference with a one-sided Wilcoxon test of "refinement is worse", and how many
seeds refinement matched or beat tuning all at once. Writes results/refine_vs_tune.json and prints a markdown
table; losses are reported as they are.
"""
import argparse
import json
import os
import platform
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")


def tasks():
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
    from sklearn.decomposition import PCA
    from sklearn.feature_selection import SelectKBest, f_regression
    from sklearn.kernel_approximation import Nystroem
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, QuantileTransformer, StandardScaler
    from sklearn.svm import SVC

    Xb, yb = load_breast_cancer(return_X_y=True)
    Xd, yd = load_digits(return_X_y=True)
    Xr, yr = load_diabetes(return_X_y=True)
    # the first three: pipelines with one or two tunable steps (union spaces of 3 dimensions)
    return [
        ("breast_cancer: scaler + PCA(2) + kNN(1)", make_pipeline(StandardScaler(), PCA(n_components=2),
                                                                   KNeighborsClassifier(n_neighbors=1)), Xb, yb, None),
        ("digits: scaler + PCA(8) + SVC(C=0.1)", make_pipeline(StandardScaler(), PCA(n_components=8), SVC(C=0.1)),
         Xd[:1000], yd[:1000], None),
        ("diabetes: scaler + poly(3) + Ridge(1e-3)", make_pipeline(StandardScaler(), PolynomialFeatures(3),
                                                                    Ridge(alpha=1e-3)), Xr, yr, None),
        # four tunable steps: a union space of 6 dimensions
        ("diabetes: quantile(20) + kbest(4) + poly(3) + Ridge(1e-3)",
         make_pipeline(QuantileTransformer(n_quantiles=20), SelectKBest(f_regression, k=4), PolynomialFeatures(3),
                       Ridge(alpha=1e-3)), Xr, yr, None),
        # three tunable steps: 4 dimensions
        ("wine: scaler + kbest(2) + Nystroem(20) + logistic(C=0.01)",
         make_pipeline(StandardScaler(), SelectKBest(k=2), Nystroem(n_components=20, gamma=0.5, random_state=0),
                       LogisticRegression(C=0.01, max_iter=500)), *load_wine(return_X_y=True), None),
    ]


def union_space(pipe, X):
    from mlestar_nb.refinement.spaces import default_space

    space = {}
    for name, step in pipe.steps:
        for key, value in (default_space(step, n_features=X.shape[1]) or {}).items():
            space[f"{name}__{key}"] = value
    return space


def judge(estimator, X_dev, y_dev, X_hold, y_hold, scoring, classification, seed):
    from sklearn.base import clone
    from sklearn.metrics import check_scoring
    from sklearn.model_selection import RepeatedKFold, RepeatedStratifiedKFold, cross_val_score

    splitter = (RepeatedStratifiedKFold if classification else RepeatedKFold)(n_splits=5, n_repeats=2,
                                                                              random_state=seed + 100)
    cv = float(np.mean(cross_val_score(clone(estimator), X_dev, y_dev, cv=splitter, scoring=scoring)))
    fitted = clone(estimator).fit(X_dev, y_dev)
    return cv, float(check_scoring(fitted, scoring=scoring)(fitted, X_hold, y_hold))


def one_seed(name, pipe, X, y, scoring, args, seed):
    import mlestar_nb
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import train_test_split

    classification = is_classifier(pipe)
    dev, hold = train_test_split(np.arange(len(y)), test_size=0.2, random_state=seed,
                                 stratify=y if classification else None)
    X_dev, y_dev, X_hold, y_hold = X[dev], y[dev], X[hold], y[hold]
    clock = time.time()
    refined = mlestar_nb.refine(pipe, X_dev, y_dev, cv=4, rounds=args.rounds, trials=args.trials, holdout=0,
                                ensemble="none", jobs=args.jobs, seed=seed, progress=False)
    refine_s = time.time() - clock
    clock = time.time()
    tuned = mlestar_nb.tune(lambda p, base=pipe: clone(base).set_params(**p), union_space(pipe, X),
                            trials=args.rounds * args.trials, data=(X_dev, y_dev), cv=4, scoring=scoring,
                            jobs=args.jobs, seed=seed, journal=False, progress=False)
    tune_s = time.time() - clock
    best_tuned = clone(pipe).set_params(**tuned.best_params)
    r_cv, r_hold = judge(refined.best_pipeline, X_dev, y_dev, X_hold, y_hold, scoring, classification, seed)
    t_cv, t_hold = judge(best_tuned, X_dev, y_dev, X_hold, y_hold, scoring, classification, seed)
    i_cv, i_hold = judge(pipe, X_dev, y_dev, X_hold, y_hold, scoring, classification, seed)
    return {"seed": seed, "initial_cv": i_cv, "initial_holdout": i_hold, "refine_cv": r_cv, "refine_holdout": r_hold,
            "tune_all_cv": t_cv, "tune_all_holdout": t_hold, "refine_s": refine_s, "tune_all_s": tune_s,
            "refine_trials": refined.metrics["trials"], "tune_all_trials": len(tuned.trials),
            "refine_rounds": [f"{h.action} {h.step}: {'kept' if h.accepted else 'dropped'}" for h in refined.history]}


def summarize(name, runs):
    """Medians over seeds, and the paired differences (refine - tune) with a one-sided Wilcoxon test of
    "refine is worse": a negative median difference that this test does not support is a tie within noise."""
    from scipy.stats import wilcoxon

    row = {"task": name, "runs": runs}
    for key in ("initial_cv", "initial_holdout", "refine_cv", "refine_holdout", "tune_all_cv",
                "tune_all_holdout", "refine_s", "tune_all_s"):
        row[key] = float(np.median([r[key] for r in runs]))
    for what in ("cv", "holdout"):
        diffs = [r[f"refine_{what}"] - r[f"tune_all_{what}"] for r in runs]
        row[f"{what}_diff_median"] = float(np.median(diffs))
        row[f"refine_{what}_wins"] = sum(d >= -1e-9 for d in diffs)
        nonzero = [d for d in diffs if abs(d) > 1e-12]
        row[f"{what}_p_refine_worse"] = float(wilcoxon(nonzero, alternative="less").pvalue) if len(nonzero) >= 5 \
            else None
    row["refine_at_least_as_good"] = row["cv_diff_median"] >= -1e-9 and row["holdout_diff_median"] >= -1e-9
    return row


def verdict(row):
    if row["refine_at_least_as_good"]:
        return "**yes**"
    significant = any((row[f"{what}_p_refine_worse"] or 1) < 0.05 for what in ("cv", "holdout")
                      if row[f"{what}_diff_median"] < -1e-9)
    return "no, worse" if significant else "tie within noise"


def _difference(row, what):
    diff, p = row[f"{what}_diff_median"], row[f"{what}_p_refine_worse"]
    text = f"{diff:+.1e}" if 0 < abs(diff) < 5e-4 else f"{diff:+.4f}"
    return text + (f" (p={p:.2f})" if diff < -1e-9 and p is not None else "")


def table(report):
    n = report["seeds"]
    lines = ["| task | initial CV / holdout | refine CV / holdout | tune all at once CV / holdout | "
             f"refine - tune, median of {n} seeds: CV; holdout (p: refine worse) | seeds refine >= tune (CV, holdout) "
             "| refine at least as good? | wall s (refine / tune) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in report["rows"]:
        lines.append(f"| {r['task']} | {r['initial_cv']:.4f} / {r['initial_holdout']:.4f} | {r['refine_cv']:.4f} / "
                     f"{r['refine_holdout']:.4f} | {r['tune_all_cv']:.4f} / {r['tune_all_holdout']:.4f} | "
                     f"{_difference(r, 'cv')}; {_difference(r, 'holdout')} | "
                     f"{r['refine_cv_wins']}, {r['refine_holdout_wins']} | {verdict(r)} | "
                     f"{r['refine_s']:.1f} / {r['tune_all_s']:.1f} |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--seeds", type=int, default=10, help="repetitions (seed 0..N-1); medians are reported")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "refine_vs_tune.json"))
    parser.add_argument("--table", metavar="JSON", help="only print the table of a saved report")
    args = parser.parse_args(argv)
    if args.table:
        with open(args.table) as f:
            report = json.load(f)
        report["rows"] = [summarize(r["task"], r["runs"]) for r in report["rows"]]
        print(table(report))
        return report

    rows = []
    for name, pipe, X, y, scoring in tasks():
        runs = [one_seed(name, pipe, X, y, scoring, args, seed) for seed in range(args.seeds)]
        rows.append(summarize(name, runs))
        print(name, {k: v for k, v in rows[-1].items() if k != "runs"}, flush=True)
    import sklearn

    report = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "python": platform.python_version(), "scikit-learn": sklearn.__version__,
              "rounds": args.rounds, "trials_per_round": args.trials, "seeds": args.seeds, "rows": rows}
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print(table(report))
    return report


if __name__ == "__main__":
    main()
