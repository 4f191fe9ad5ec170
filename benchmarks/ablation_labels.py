"""How ablation labels match planted truth over many seeds (issue 18: "no evidence yet" is not "no effect").

Runs `ablate()` on the pipelines of tests/planted.py (an essential scaler and model, an interaction worth about 3 %
accuracy, a scaler whose absence doubles a regression's error, a useless but noisy column permutation, an exact
no-op) for every seed, and counts the labels each component gets. The rule before issue 18 differed only in
calling every non-significant difference `none`, so it is read off the same rows: `unclear` was `none`. Prints
one JSON line (with the load average) and a markdown table.
"""
import argparse
import collections
import json
import os
import platform
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--repeats", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--rows", type=int, default=150)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import mlestar_nb
    from planted import planted_studies

    counts = collections.defaultdict(collections.Counter)
    started = time.time()
    for repeats in args.repeats:
        for seed in range(args.seeds):
            for pipe, X, y, scoring, truth in planted_studies(seed, n=args.rows):
                result = mlestar_nb.ablate(pipe, X, y, cv=5, repeats=repeats, scoring=scoring, seed=seed,
                                           backend="sequential", progress=False)
                model = type(pipe[-1]).__name__
                for component, role in truth.items():
                    counts[(model, component, role, repeats)][result[component].label] += 1
    rows = []
    for (model, component, role, repeats), labels in sorted(counts.items()):
        before = collections.Counter()
        for label, n in labels.items():
            before["none" if label == "unclear" else label] += n
        rows.append({"pipeline": model, "component": component, "truth": role, "repeats": repeats,
                     "labels": dict(labels.most_common()), "labels_before": dict(before.most_common())})
    print(json.dumps({"seeds": args.seeds, "rows_per_study": args.rows, "cv": 5,
                      "wall_s": round(time.time() - started, 1), "load_average": os.getloadavg(),
                      "machine": f"{platform.machine()}, {os.cpu_count()} cores", "python": platform.python_version(),
                      "results": rows}))
    print("\n| component (pipeline, truth) | repeats | before | now |\n|---|---|---|---|")
    for row in rows:
        print(f"| {row['component']} ({row['pipeline']}, {row['truth']}) | {row['repeats']} | "
              f"{', '.join(f'{k} {v}' for k, v in row['labels_before'].items())} | "
              f"{', '.join(f'{k} {v}' for k, v in row['labels'].items())} |")


if __name__ == "__main__":
    main()
