"""Speed-up of `ablate()` over the same fits in a plain serial loop of `cross_val_score` calls (issue: %ablate).

A 5-step pipeline, --repeats 3, cv 5: the baseline and 5 knock-outs, 90 fits.
The serial loop builds the same 6 pipelines and calls `cross_val_score` on the
same shuffled folds (one call per variant and repeat, 18 calls), as a user
would write it by hand. Both sides are timed end to end, median of 3 (the
fastest runs are reported too); the pool is warmed once first, as it is in a
notebook session after the first run. Prints one JSON line, with the load
average and the serial loop's CPU/wall ratio, which show a machine busy with
other jobs. The target is a speed-up of at least 1.6 on 2 cores.
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time


def build(n_samples):
    from sklearn.datasets import make_classification
    from sklearn.decomposition import PCA
    from sklearn.feature_selection import SelectKBest
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    X, y = make_classification(n_samples=n_samples, n_features=40, n_informative=12, flip_y=0.05, random_state=0)
    X[:, :10] *= 50.0   # badly scaled columns, so that the scaler matters
    pipe = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler()), ("select", SelectKBest(k=25)),
                     ("pca", PCA(n_components=15, random_state=0)), ("svc", SVC(C=3.0))])
    return pipe, X, y


def serial_loop(pipe, X, y, cv, repeats, seed):
    """What a user writes without mlestar-nb: every variant, every repeat, one cross_val_score call each."""
    from sklearn.base import clone
    from sklearn.dummy import DummyClassifier
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    names = [name for name, _ in pipe.steps]
    variants = {"baseline": clone(pipe)}
    for name in names:
        value = DummyClassifier(strategy="prior") if name == names[-1] else "passthrough"
        variants[name] = clone(pipe).set_params(**{name: value})
    means = {}
    for name, variant in variants.items():
        scores = []
        for r in range(repeats):
            folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed + r)
            scores.extend(cross_val_score(variant, X, y, cv=folds))
        means[name] = statistics.fmean(scores)
    return means


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="--repeats of the ablation")
    parser.add_argument("--runs", type=int, default=3, help="report the median of this many timings")
    args = parser.parse_args(argv)

    import mlestar_nb

    pipe, X, y = build(args.samples)
    mlestar_nb.ablate(pipe, X[:200], y[:200], cv=2, repeats=1, jobs=args.jobs, progress=False)  # warm the pool
    serial, parallel, serial_cpu, result = [], [], [], None
    load_before = os.getloadavg()[0]
    for _ in range(args.runs):
        clock, cpu = time.perf_counter(), time.process_time()
        means = serial_loop(pipe, X, y, args.cv, args.repeats, seed=0)
        serial.append(time.perf_counter() - clock)
        serial_cpu.append(time.process_time() - cpu)
        clock = time.perf_counter()
        result = mlestar_nb.ablate(pipe, X, y, cv=args.cv, repeats=args.repeats, seed=0, jobs=args.jobs,
                                   progress=False)
        parallel.append(time.perf_counter() - clock)
    same = abs(means["baseline"] - result.baseline) < 1e-9 and all(
        abs(means[row.component] - row.score) < 1e-9 for row in result.ranking)
    summary = {
        "figure": "ablation_speedup", "pipeline_steps": len(pipe.steps), "fits": result.metrics["fits"],
        "cv": args.cv, "repeats": args.repeats, "samples": args.samples, "jobs": args.jobs,
        "serial_s_median": round(statistics.median(serial), 2),
        "ablate_s_median": round(statistics.median(parallel), 2),
        "speedup": round(statistics.median(serial) / statistics.median(parallel), 2),
        # on a machine shared with other jobs the fastest run of each side is the least disturbed one
        "speedup_fastest_runs": round(min(serial) / min(parallel), 2),
        "serial_s_each": [round(s, 2) for s in serial], "ablate_s_each": [round(s, 2) for s in parallel],
        "worker_utilization": round(result.metrics["worker_utilization"], 3),
        # a busy machine shows here: the serial loop got less than a core when cpu/wall is well below 1
        "serial_cpu_per_wall": round(statistics.median(c / w for c, w in zip(serial_cpu, serial)), 2),
        "load_average_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "same_scores_as_serial_loop": same, "most_impactful": result.most_impactful,
        "machine": f"{platform.machine()} {os.cpu_count()} cores", "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
