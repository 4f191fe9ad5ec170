"""Wall time of the same search on loky and on Dask (issue: Dask backend; target: dask/loky <= 1.3).

40 trials of utilization.py's calibrated 0.3 s CPU-bound objective on 2 workers: loky's warm pool, and a
LocalCluster on 127.0.0.1 (2 single-threaded process workers) whose Client the search is given, as a notebook
with a cluster would. Both are warmed by one search first; repeats alternate between the backends so that
load from elsewhere hits both alike. Prints one JSON line with the medians and the ratio, and, apart, one
search on a LocalCluster that mlestar-nb starts and stops itself (the cost of `--backend dask` with no cluster).
"""
import argparse
import json
import os
import platform
import statistics
import sys
import time

from utilization import calibrate, make_objective, search_options  # the same objective; also pins BLAS to one thread per process

SPACE = {"x": (-5.0, 10.0), "y": (0.0, 15.0)}


def search(rounds, args, seed, **backend):
    import mlestar_nb

    clock = time.perf_counter()
    result = mlestar_nb.tune(make_objective(rounds), SPACE, trials=args.trials, jobs=args.jobs,
                             strategy=args.strategy, seed=seed, journal=False, progress=False, **backend)
    total = time.perf_counter() - clock
    assert [t.state for t in result.trials].count("complete") == args.trials, result.trials
    m = result.metrics
    return {"total_s": total, "wall_s": m["wall_s"], "startup_s": m["startup_s"],
            "worker_utilization": m["worker_utilization"], "trial_s_median": m["trial_s_median"]}


def median(runs):
    return {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}


def main(argv=None):
    args = search_options(__doc__).parse_args(argv)

    rounds = calibrate(args.trial_seconds)
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.active-memory-manager.start": False}):
        cluster = LocalCluster(n_workers=args.jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
    client = Client(cluster)
    backends = {"loky": {"backend": "loky"}, "dask": {"backend": "dask", "client": client}}
    try:
        runs = {name: [] for name in backends}
        for name, options in backends.items():  # warm: loky's pool, dask's workers importing the objective
            search(rounds, argparse.Namespace(**{**vars(args), "trials": 2 * args.jobs}), 0, **options)
        for seed in range(args.repeats):
            for name, options in backends.items():
                runs[name].append(search(rounds, args, seed, **options))
    finally:
        client.close()
        cluster.close()
    own = search(rounds, args, 0, backend="dask")  # no client: mlestar-nb starts and stops a LocalCluster

    summary = {name: median(r) for name, r in runs.items()}
    print(json.dumps({
        "figure": "dask_vs_loky_wall_time", "strategy": args.strategy, "jobs": args.jobs, "trials": args.trials,
        "trial_seconds_target": args.trial_seconds, "rounds": rounds, "repeats": args.repeats,
        "ratio_dask_over_loky": round(summary["dask"]["total_s"] / summary["loky"]["total_s"], 3),
        "median": summary,
        "total_s_each": {name: [round(r["total_s"], 2) for r in rs] for name, rs in runs.items()},
        "dask_own_local_cluster": {key: round(value, 3) for key, value in own.items()},
        "machine": f"{platform.machine()} {os.cpu_count()} cores", "python": sys.version.split()[0],
        "date": time.strftime("%Y-%m-%d"),
    }))
    return summary


if __name__ == "__main__":
    main()
