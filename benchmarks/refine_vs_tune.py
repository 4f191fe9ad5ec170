"""Ablation-guided refinement against tuning every hyperparameter at once, at the same trial budget (issue: refine).

Three tasks built from datasets that ship with scikit-learn (two classification, one regression), each with a
deliberately untuned first pipeline. `refine()` gets R rounds of K trials; `tune()` gets R x K trials over the union
of the same built-in spaces of every step. Both are judged on the same repeated folds of the development rows and on
the same holdout rows, which neither saw. Prints JSON and a markdown table; losses are reported as they are.
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
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
    from sklearn.decomposition import PCA
    from sklearn.linear_model import Ridge
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler
    from sklearn.svm import SVC

    Xb, yb = load_breast_cancer(return_X_y=True)
    Xd, yd = load_digits(return_X_y=True)
    Xr, yr = load_diabetes(return_X_y=True)
    return [
        ("breast_cancer: scaler + PCA(2) + kNN(1)", make_pipeline(StandardScaler(), PCA(n_components=2),
                                                                   KNeighborsClassifier(n_neighbors=1)), Xb, yb, None),
        ("digits: scaler + PCA(8) + SVC(C=0.1)", make_pipeline(StandardScaler(), PCA(n_components=8), SVC(C=0.1)),
         Xd[:1000], yd[:1000], None),
        ("diabetes: scaler + poly(3) + Ridge(1e-3)", make_pipeline(StandardScaler(), PolynomialFeatures(3),
                                                                    Ridge(alpha=1e-3)), Xr, yr, None),
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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import mlestar_nb
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import train_test_split

    rows = []
    for name, pipe, X, y, scoring in tasks():
        classification = is_classifier(pipe)
        dev, hold = train_test_split(np.arange(len(y)), test_size=0.2, random_state=args.seed,
                                     stratify=y if classification else None)
        X_dev, y_dev, X_hold, y_hold = X[dev], y[dev], X[hold], y[hold]
        clock = time.time()
        refined = mlestar_nb.refine(pipe, X_dev, y_dev, cv=4, rounds=args.rounds, trials=args.trials, holdout=0,
                                    ensemble="none", jobs=args.jobs, seed=args.seed, progress=False)
        refine_s = time.time() - clock
        clock = time.time()
        tuned = mlestar_nb.tune(lambda p, base=pipe: clone(base).set_params(**p), union_space(pipe, X),
                                trials=args.rounds * args.trials, data=(X_dev, y_dev), cv=4, scoring=scoring,
                                jobs=args.jobs, seed=args.seed, journal=False, progress=False)
        tune_s = time.time() - clock
        best_tuned = clone(pipe).set_params(**tuned.best_params)
        r_cv, r_hold = judge(refined.best_pipeline, X_dev, y_dev, X_hold, y_hold, scoring, classification, args.seed)
        t_cv, t_hold = judge(best_tuned, X_dev, y_dev, X_hold, y_hold, scoring, classification, args.seed)
        i_cv, i_hold = judge(pipe, X_dev, y_dev, X_hold, y_hold, scoring, classification, args.seed)
        rows.append({"task": name, "initial_cv": i_cv, "initial_holdout": i_hold,
                     "refine_cv": r_cv, "refine_holdout": r_hold, "tune_all_cv": t_cv, "tune_all_holdout": t_hold,
                     "refine_s": round(refine_s, 1), "tune_all_s": round(tune_s, 1),
                     "refine_rounds": [f"{h.step}:{'kept' if h.accepted else 'dropped'}" for h in refined.history],
                     "refine_at_least_as_good": r_cv >= t_cv - 1e-9 and r_hold >= t_hold - 1e-9})
    report = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "rounds": args.rounds, "trials_per_round": args.trials, "rows": rows}
    print(json.dumps(report, indent=1))
    lines = ["| task | initial CV / holdout | refine CV / holdout | tune all at once CV / holdout | refine as good? |"
             " wall s (refine / tune) |", "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['task']} | {r['initial_cv']:.4f} / {r['initial_holdout']:.4f} | {r['refine_cv']:.4f} / "
                     f"{r['refine_holdout']:.4f} | {r['tune_all_cv']:.4f} / {r['tune_all_holdout']:.4f} | "
                     f"{'yes' if r['refine_at_least_as_good'] else 'no'} | {r['refine_s']} / {r['tune_all_s']} |")
    print("\n".join(lines))
    return report


if __name__ == "__main__":
    main()
