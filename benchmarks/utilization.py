"""Worker utilization of a Bayesian search whose trials are CPU-bound (issue: core search loop).

40 trials of a 0.3 s objective doing real numpy work (no sleep), on 2 workers
by default. Prints one JSON line; `python benchmarks/utilization.py --jobs 16`
measures parallel efficiency on a bigger machine.
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

# One BLAS thread in this process too, as in the workers (and in Optuna's threads): every tool's trial
# then does the same work in the same time, and the calibration below matches it.
threadpool_limits(1)



def _work(rounds):
    a = np.random.RandomState(0).rand(120, 120)
    for _ in range(rounds):
        a = np.tanh(a @ a / 120.0)
    return float(a.sum())


def calibrate(seconds, sample_rounds=200, tries=7):
    """Rounds of work that take `seconds` on one BLAS thread: the fastest of several timings, so that load from
    other processes does not skew them."""
    _work(sample_rounds)  # warm numpy up
    best = float("inf")
    for _ in range(tries):
        clock = time.perf_counter()
        _work(sample_rounds)
        best = min(best, time.perf_counter() - clock)
    return max(1, int(sample_rounds * seconds / best))


def make_objective(rounds):
    def objective(params):
        _work(rounds)
        x, y = params["x"], params["y"]
        # Branin, negated so that maximizing finds its minimum
        b = (y - 5.1 / (4 * math.pi ** 2) * x ** 2 + 5 / math.pi * x - 6) ** 2 \
            + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10
        return -b
    return objective


def search_options(description):
    """The options of a benchmark that runs searches of the calibrated objective (shared with dask_vs_loky.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--trial-seconds", type=float, default=0.3)
    parser.add_argument("--strategy", default="bayes")
    parser.add_argument("--repeats", type=int, default=3, help="report the median of this many searches")
    return parser


def main(argv=None):
    args = search_options(__doc__).parse_args(argv)

    import mlestar_nb

    rounds = calibrate(args.trial_seconds)
    space = {"x": (-5.0, 10.0), "y": (0.0, 15.0)}
    mlestar_nb.tune(make_objective(rounds), space, trials=2 * args.jobs, jobs=args.jobs, strategy="random",
                    journal=False, progress=False)  # warm the pool once, as a notebook session would be
    work = args.trials * args.trial_seconds
    runs = []
    for seed in range(args.repeats):
        m = mlestar_nb.tune(make_objective(rounds), space, trials=args.trials, jobs=args.jobs,
                            strategy=args.strategy, journal=False, progress=False, seed=seed).metrics
        runs.append({"worker_utilization": m["worker_utilization"],
                     "parallel_efficiency": work / (args.jobs * m["wall_s"]),
                     "wall_s": m["wall_s"], "trial_s_median": m["trial_s_median"],
                     "proposal_ms_mean": m["proposal_ms_mean"], "proposal_wait_s": m["proposal_wait_s"]})
    summary = {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}
    print(json.dumps({
        "figure": "worker_utilization", "strategy": args.strategy, "jobs": args.jobs, "trials": args.trials,
        "trial_seconds_target": args.trial_seconds, "repeats": args.repeats, "median": summary,
        "utilization_each": [round(r["worker_utilization"], 3) for r in runs],
        "machine": f"{platform.machine()} {os.cpu_count()} cores", "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d"),
    }))
    return summary


if __name__ == "__main__":
    main()
