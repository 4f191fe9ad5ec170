"""mlestar_nb against the tools users would pick instead, side by side in one run (issue: benchmarks).

    python benchmarks/compare.py [--jobs N] [--quick] [--out benchmarks/results] [--only FIGURE ...] [--merge]

Writes results/latest.json, results/latest.md (the README's table) and plots, and
prints the table. Figure 8 is benchmarks/parallel.py (16 workers, quality at 1, 4
and 16 workers, proposal cost). Every figure is a median (or a ratio of medians) measured in
this run, on this machine; the header records date, machine and cores.
"""
import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import peers  # noqa: E402
from utilization import _work, calibrate  # noqa: E402  (also limits BLAS to one thread in this process)

BRANIN_MIN = 0.397887
HARTMANN6_MIN = -3.32237


def branin(p):
    x, y = p["x"], p["y"]
    return (y - 5.1 / (4 * math.pi ** 2) * x ** 2 + 5 / math.pi * x - 6) ** 2 \
        + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10


_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
               [17, 8, 0.05, 10, 0.1, 14]])
_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
                      [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]])
_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])


def hartmann6(p):
    x = np.array([p[f"x{i}"] for i in range(6)])
    return float(-np.sum(_ALPHA * np.exp(-np.sum(_A * (x - _P) ** 2, axis=1))))


BRANIN_SPACE = {"x": (-5.0, 10.0), "y": (0.0, 15.0)}
HARTMANN_SPACE = {f"x{i}": (0.0, 1.0) for i in range(6)}


class TimedObjective:
    """Branin plus a calibrated amount of real numpy work; each call appends its start and end to a file."""

    def __init__(self, rounds, log_path):
        self.rounds = rounds
        self.log_path = log_path

    def __call__(self, p):
        start = time.time()
        _work(self.rounds)
        value = branin(p)
        with open(self.log_path, "a") as fh:
            fh.write(f"{start} {time.time()}\n")
        return value


def _median_iqr(values):
    q1, q2, q3 = np.percentile(values, [25, 50, 75])
    return float(q2), float(q1), float(q3)


# -- figure 1 and 7: wall time, worker utilization, parallel efficiency -------------------------------------
def warm_up(jobs, tools):
    """Make each tool's first run before anything is timed, as in a working notebook session: otherwise whichever
    run comes first pays for the worker pool it starts (loky resizes its pool, so every worker count needs its
    own), and each tool's first run for its imports (mlestar-nb's search stack with scikit-optimize: 0.7-2 s
    before the first trial, the slowest of the Bayesian search's three runs of figure 1)."""
    for run in tools.values():
        run(branin, BRANIN_SPACE, 2 * jobs, jobs, 0)


def figure_wall(jobs, trials=40, seconds=0.3, tools=None, repeats=1):
    """Each tool's median over `repeats`; the tools take turns, in alternating order, so that a drift in the
    machine's load falls on all of them alike."""
    rounds = calibrate(seconds)
    tools = tools or peers.TOOLS
    warm_up(jobs, tools)
    walls, utils, durations = ({name: [] for name in tools} for _ in range(3))
    for seed in range(repeats):
        for name in (list(tools) if seed % 2 == 0 else list(reversed(tools))):
            log = tempfile.mktemp(prefix="mlestar-bench-")
            objective = TimedObjective(rounds, log)
            clock = time.time()
            tools[name](objective, BRANIN_SPACE, trials, jobs, seed)
            wall = time.time() - clock
            spans = [tuple(map(float, line.split())) for line in open(log)]
            os.unlink(log)
            walls[name].append(wall)
            utils[name].append(sum(e - s for s, e in spans) / (jobs * wall))
            durations[name].extend(e - s for s, e in spans)
    rows = {}
    for name in tools:
        wall = statistics.median(walls[name])
        rows[name] = {"wall_s": round(wall, 2), "wall_s_each": [round(w, 2) for w in walls[name]],
                      "worker_utilization": round(statistics.median(utils[name]), 3),
                      "parallel_efficiency": round(trials * seconds / (jobs * wall), 3),
                      "trial_s_median": round(statistics.median(durations[name]), 3)}
    return rows


def efficiency(counts, quick=False):
    """Parallel efficiency against this run's own one-worker trial time: trials x t1 / (workers x wall)."""
    tools = {k: peers.TOOLS[k] for k in ("mlestar bayes", "mlestar random")}
    rows = {n: figure_wall(n, trials=max(12, 4 * n) if quick else max(40, 8 * n), tools=tools) for n in counts}
    for name in tools:
        t1 = rows[counts[0]][name]["trial_s_median"]
        for n in counts:
            trials = max(12, 4 * n) if quick else max(40, 8 * n)
            rows[n][name]["parallel_efficiency"] = round(trials * t1 / (n * rows[n][name]["wall_s"]), 3)
    return rows


# -- figure 2: optimizer overhead ---------------------------------------------------------------------------
def figure_overhead(counts=(50, 200)):
    rows = {}
    trivial = lambda p: (p["x"] - 1) ** 2 + (p["y"] - 2) ** 2  # noqa: E731
    space = {"x": (-5.0, 5.0), "y": (-5.0, 5.0)}
    for name, run in peers.TOOLS.items():
        row = {}
        for n in counts:
            clock = time.time()
            run(trivial, space, n, 1, 0)
            row[f"ms_per_trial_{n}"] = round(1000 * (time.time() - clock) / n, 2)
        row["growth"] = round(row[f"ms_per_trial_{counts[-1]}"] / max(1e-9, row[f"ms_per_trial_{counts[0]}"]), 1)
        rows[name] = row
    return rows


# -- figure 3: quality at equal budget on test functions ----------------------------------------------------
QUALITY_TOOLS = ("mlestar bayes", "mlestar random", "Optuna TPE", "skopt GP (ask/tell)")


def figure_quality_functions(seeds=5, budgets=(20, 40)):
    rows = {}
    curves = {}
    for problem, f, space, optimum in (("Branin", branin, BRANIN_SPACE, BRANIN_MIN),
                                       ("Hartmann6", hartmann6, HARTMANN_SPACE, HARTMANN6_MIN)):
        for name in QUALITY_TOOLS:
            runs = [peers.best_so_far(peers.TOOLS[name](f, space, max(budgets), 1, seed)) for seed in range(seeds)]
            curves[f"{problem} / {name}"] = [float(np.median([r[i] - optimum for r in runs]))
                                             for i in range(max(budgets))]
            for budget in budgets:
                median, q1, q3 = _median_iqr([r[budget - 1] - optimum for r in runs])
                rows.setdefault(f"{problem} regret @{budget}", {})[name] = {"median": median, "iqr": [q1, q3]}
    return rows, curves


# -- figure 3 and 4: scikit-learn tasks, best CV score after 25 trials and time to a target ----------------
def sklearn_tasks():
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import ElasticNet
    from sklearn.svm import SVC

    X_d, y_d = load_digits(return_X_y=True)
    X_b, y_b = load_breast_cancer(return_X_y=True)
    X_r, y_r = load_diabetes(return_X_y=True)
    return [
        ("digits + SVC", SVC(), {"C": (0.1, 1000.0, "log-uniform"), "gamma": (1e-5, 0.1, "log-uniform")},
         X_d[:900] / 16.0, y_d[:900], "accuracy"),
        ("breast_cancer + HistGradientBoosting", HistGradientBoostingClassifier(max_iter=50),
         {"learning_rate": (1e-3, 0.5, "log-uniform"), "max_depth": (2, 8), "l2_regularization": (1e-6, 1.0, "log-uniform")},
         X_b, y_b, "roc_auc"),
        ("diabetes + ElasticNet", ElasticNet(max_iter=5000),
         {"alpha": (1e-4, 10.0, "log-uniform"), "l1_ratio": (0.0, 1.0)}, X_r, y_r, "neg_mean_squared_error"),
    ]


def _run_sklearn_tool(name, estimator, space, X, y, scoring, trials, jobs, seed):
    """Returns [(seconds since start, score)] for one tool on one task; higher scores are better."""
    from sklearn.base import clone
    from sklearn.model_selection import cross_val_score

    cv = 3
    clock = time.time()
    if name.startswith("mlestar"):
        import mlestar_nb

        result = mlestar_nb.tune(lambda p: clone(estimator).set_params(**p), space, trials=trials, jobs=jobs,
                                 strategy=name.split()[1], seed=seed, data=(X, y), cv=cv, scoring=scoring,
                                 journal=False, progress=False)
        done = sorted((t for t in result.trials if t.state == "complete"), key=lambda t: t.end)
        return [(t.end - clock, t.value) for t in done]
    if name == "Optuna TPE":
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
        study.optimize(lambda trial: cross_val_score(clone(estimator).set_params(**peers.optuna_suggest(trial, space)),
                                                     X, y, cv=cv, scoring=scoring).mean(), n_trials=trials, n_jobs=jobs)
        done = sorted((t for t in study.trials if t.value is not None), key=lambda t: t.datetime_complete)
        return [(t.datetime_complete.timestamp() - clock, t.value) for t in done]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "skopt BayesSearchCV":
            from skopt import BayesSearchCV

            ends = []
            search = BayesSearchCV(clone(estimator), dict(peers._dims(space)), n_iter=trials, cv=cv, n_jobs=jobs,
                                   n_points=jobs, scoring=scoring, random_state=seed, refit=False)
            search.fit(X, y, callback=lambda r: ends.append(time.time() - clock) or False)
            scores = list(search.cv_results_["mean_test_score"])
            return [(ends[min(i // jobs, len(ends) - 1)], s) for i, s in enumerate(scores)]
        if name == "RandomizedSearchCV":
            from sklearn.model_selection import RandomizedSearchCV

            search = RandomizedSearchCV(clone(estimator), peers.scipy_distributions(space), n_iter=trials, cv=cv,
                                        n_jobs=jobs, scoring=scoring, random_state=seed, refit=False)
        else:
            from sklearn.experimental import enable_halving_search_cv  # noqa: F401
            from sklearn.model_selection import HalvingRandomSearchCV

            search = HalvingRandomSearchCV(clone(estimator), peers.scipy_distributions(space), n_candidates=trials,
                                           cv=cv, n_jobs=jobs, scoring=scoring, random_state=seed, refit=False)
        search.fit(X, y)
        wall = time.time() - clock
        if name == "HalvingRandomSearchCV":  # only the last round's candidates were scored on all the data
            last = search.cv_results_["iter"] == max(search.cv_results_["iter"])
            return [(wall, float(s)) for s in np.asarray(search.cv_results_["mean_test_score"])[last]]
        return [(wall, float(s)) for s in search.cv_results_["mean_test_score"]]


SKLEARN_TOOLS = ("mlestar bayes", "mlestar random", "Optuna TPE", "skopt BayesSearchCV", "RandomizedSearchCV",
                 "HalvingRandomSearchCV")


def figure_sklearn(jobs, seeds=3, trials=25):
    best, to_target = {}, {}
    for task, estimator, space, X, y, scoring in sklearn_tasks():
        runs = {name: [_run_sklearn_tool(name, estimator, space, X, y, scoring, trials, jobs, seed)
                       for seed in range(seeds)] for name in SKLEARN_TOOLS}
        best[task] = {name: float(np.median([max(s for _, s in run) for run in rs])) for name, rs in runs.items()}
        target = float(np.median(list(best[task].values())))
        times = {}
        for name, rs in runs.items():
            reached = []
            for run in rs:
                hit = next((t for t, s in sorted(run) if s >= target), None) if run else None
                reached.append(hit)
            ok = [t for t in reached if t is not None]
            times[name] = {"median_s": round(float(np.median(ok)), 2) if len(ok) * 2 > len(reached) else None,
                           "reached": f"{len(ok)}/{len(reached)}"}
        to_target[task] = {"target": target, "tools": times}
    return best, to_target


# -- figure 6: memory when the cell reads a large array ---------------------------------------------------
def _tree_pss():
    import psutil

    me = psutil.Process()
    total = 0
    for p in [me] + me.children(recursive=True):
        try:
            total += p.memory_full_info().pss
        except Exception:
            pass
    return total


def _peak_during(fn):
    peak, stop = [0], threading.Event()

    def sample():
        while not stop.wait(0.05):
            peak[0] = max(peak[0], _tree_pss())

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        fn()
    finally:
        stop.set()
        thread.join()
    return max(peak[0], _tree_pss())


def figure_memory(size_mb=200, trials=20, jobs=2):
    import mlestar_nb
    from joblib.externals.loky import ProcessPoolExecutor

    array = np.random.RandomState(0).rand(size_mb * 2**20 // 8)
    size = array.nbytes

    def objective(p):
        time.sleep(0.05)
        return float(array[:: 1 + int(p["k"])].sum())

    def naive_task(arr, k):
        time.sleep(0.05)
        return float(arr[:: 1 + k].sum())

    def naive():
        with ProcessPoolExecutor(jobs) as pool:
            list(pool.map(naive_task, [array] * trials, range(trials)))

    rows = {}
    base = _tree_pss()
    rows["mlestar (loky, memory-mapped)"] = _peak_during(
        lambda: mlestar_nb.tune(objective, {"k": (0, 5)}, trials=trials, jobs=jobs, strategy="random",
                                journal=False, progress=False)) - base
    from mlestar_nb.executors.local import LokyExecutor

    LokyExecutor.close_warm_pools()
    time.sleep(0.5)
    base = _tree_pss()
    rows["plain loky pool, array passed per task"] = _peak_during(naive) - base
    return ({name: {"peak_extra_mb": round(v / 2**20), "x_array": round(v / size, 2)} for name, v in rows.items()},
            round(size / 2**20))


# -- report ---------------------------------------------------------------------------------------------------
# each figure, in the order they are measured, and the keys of the report it writes
FIGURE_KEYS = {"wall": ("wall",), "overhead": ("overhead",), "quality": ("quality", "quality_curves"),
               "sklearn": ("sklearn_best", "time_to_target"), "memory": ("memory", "memory_array_mb"),
               "efficiency": ("efficiency",), "parallel": ("parallel",), "ablation": ("ablation",)}
FIGURES = tuple(FIGURE_KEYS)


def _figures(jobs, quick):
    """Each figure: what it prints while it runs, and a call that returns its values (`FIGURE_KEYS` names them)."""
    counts = [n for n in (1, 2, 4, 8, 16) if n <= (os.cpu_count() or 1)]

    def parallel_figure():
        import parallel  # noqa: E402  (it imports this module: load it only once this one is loaded)

        return parallel.run(quick=quick, only=("utilization", "quality", "proposal_cost"))

    return {
        "wall": ("figure 1: wall time and utilization",
                 lambda: figure_wall(jobs, trials=12 if quick else 40, repeats=1 if quick else 3)),
        "overhead": ("figure 2: optimizer overhead", lambda: figure_overhead((10, 20) if quick else (50, 200))),
        "quality": ("figure 3: quality on test functions", lambda: figure_quality_functions(
            seeds=2 if quick else 5, budgets=(5, 10) if quick else (20, 40))),
        "sklearn": ("figures 3-4: scikit-learn tasks",
                    lambda: figure_sklearn(jobs, seeds=1 if quick else 3, trials=6 if quick else 25)),
        "memory": ("figure 6: memory", lambda: figure_memory(size_mb=20 if quick else 200, trials=6 if quick else 20)),
        "efficiency": ("figure 7: parallel efficiency", lambda: efficiency(counts, quick=quick)),
        "parallel": ("parallel: Bayesian search on 16 workers, quality at 1/4/16 workers, proposal cost",
                     parallel_figure),
        "ablation": ("figure 5: ablation", lambda: figure_ablation(quick)),
    }


def figure_ablation(quick):
    import subprocess

    done = subprocess.run([sys.executable, os.path.join(HERE, "ablation_speed.py")] + (["--quick"] if quick else []),
                          capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {"error": done.stderr[-500:]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--quick", action="store_true", help="fewer seeds and trials: a smoke run, not figures")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--only", nargs="*", choices=FIGURES, default=list(FIGURES), help="measure these figures only")
    parser.add_argument("--merge", action="store_true",
                        help="keep the existing report's figures not measured now, each with the date it was measured")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    started = time.time()
    report = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "python": sys.version.split()[0], "jobs": args.jobs, "quick": args.quick, "measured": {}}
    figures = _figures(args.jobs, args.quick)
    for name in FIGURES:
        if name in args.only:
            title, measure = figures[name]
            print(title, flush=True)
            keys = FIGURE_KEYS[name]
            values = measure()
            report.update(zip(keys, values if len(keys) > 1 else (values,)))
            report["measured"][name] = time.strftime("%Y-%m-%d %H:%M")
    report["seconds"] = round(time.time() - started)
    path = os.path.join(args.out, "latest.json")
    if args.merge:
        with open(path) as fh:
            old = json.load(fh)
        earlier = old.get("measured") or {name: old["date"] for name, keys in FIGURE_KEYS.items() if keys[0] in old}
        report = {**old, **report, "measured": {**earlier, **report["measured"]}}
    with open(path, "w") as fh:
        json.dump(report, fh, indent=1, default=str)
    table = markdown(report)
    with open(os.path.join(args.out, "latest.md"), "w") as fh:
        fh.write(table)
    plot(report, args.out)
    print(table)
    return report


def _fmt(value, digits=3):
    if value is None:
        return "not reached"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def _wall_md(r):
    runs, trials = ("one run", 12) if r["quick"] else ("median of 3, the tools taking turns", 40)
    lines = [f"**1. Wall time and worker utilization**, {trials} trials of a 0.3 s CPU-bound objective on all cores "
             f"({runs})",
             "",
             "| tool | wall s | worker utilization | parallel efficiency | median trial s |", "|---|---|---|---|---|"]
    return lines + [f"| {k} | {v['wall_s']} | {v['worker_utilization']:.0%} | {v['parallel_efficiency']:.0%} | "
                    f"{v['trial_s_median']} |" for k, v in r["wall"].items()]


def _overhead_md(r):
    first = list(r["overhead"].values())[0]
    counts = [k.split("_")[-1] for k in first if k.startswith("ms_per_trial")]
    lines = ["**2. Optimizer overhead**, ms per trial of a trivial objective, one worker", "",
             f"| tool | {counts[0]} trials | {counts[1]} trials | growth |", "|---|---|---|---|"]
    return lines + [f"| {k} | {v['ms_per_trial_' + counts[0]]} | {v['ms_per_trial_' + counts[1]]} | {v['growth']}x |"
                    for k, v in r["overhead"].items()]


def _quality_md(r):
    problems = list(r["quality"])
    lines = ["**3a. Quality at equal budget**, simple regret, median [IQR] over seeds, one worker", "",
             "| tool | " + " | ".join(problems) + " |", "|---" * (len(problems) + 1) + "|"]
    for tool in QUALITY_TOOLS:
        cells = [f"{r['quality'][p][tool]['median']:.3g} [{r['quality'][p][tool]['iqr'][0]:.2g}, "
                 f"{r['quality'][p][tool]['iqr'][1]:.2g}]" for p in problems]
        lines.append(f"| {tool} | " + " | ".join(cells) + " |")
    return lines


def _sklearn_md(r):
    tasks = list(r["sklearn_best"])
    lines = ["**3b. Best CV score after 25 trials** (median over seeds; 3-fold CV; all cores)", "",
             "| tool | " + " | ".join(tasks) + " |", "|---" * (len(tasks) + 1) + "|"]
    for tool in SKLEARN_TOOLS:
        lines.append(f"| {tool} | " + " | ".join(f"{r['sklearn_best'][t][tool]:.4f}" for t in tasks) + " |")
    lines += ["", "**4. Time to reach the target** (the median of the tools' best scores), seconds, median over seeds "
              "that reached it", "", "| tool | " + " | ".join(tasks) + " |", "|---" * (len(tasks) + 1) + "|"]
    for tool in SKLEARN_TOOLS:
        cells = [f"{_fmt(r['time_to_target'][t]['tools'][tool]['median_s'])} "
                 f"({r['time_to_target'][t]['tools'][tool]['reached']})" for t in tasks]
        lines.append(f"| {tool} | " + " | ".join(cells) + " |")
    return lines


def _ablation_md(r):
    return [f"**5. Ablation**: {json.dumps(r['ablation'])}"]


def _memory_md(r):
    lines = [f"**6. Memory**, peak extra memory (PSS of the process and its workers) while 2 workers run 20 trials "
             f"that read a {r['memory_array_mb']} MB array", "", "| run | extra MB | x array size |", "|---|---|---|"]
    return lines + [f"| {k} | {v['peak_extra_mb']} | {v['x_array']} |" for k, v in r["memory"].items()]


def _efficiency_md(r):
    tools = list(next(iter(r["efficiency"].values())))
    lines = ["**7. Parallel efficiency** by number of workers (same objective as figure 1)", "",
             "| workers | " + " | ".join(tools) + " |", "|---" * (1 + len(tools)) + "|"]
    for n, rows in r["efficiency"].items():
        lines.append(f"| {n} | " + " | ".join(f"{v['parallel_efficiency']:.0%} (util {v['worker_utilization']:.0%})"
                                             for v in rows.values()) + " |")
    return lines


def _parallel_md(r):
    import parallel

    lines = ["**8. Bayesian search on many workers** (`benchmarks/parallel.py`)"]
    if "wall" in r:
        ratio = r["wall"]["mlestar bayes"]["wall_s"] / r["wall"]["mlestar random"]["wall_s"]
        lines[0] += f"; figure 1's wall time, bayes / random in the same run: **{ratio:.3f}**"
    return lines + ["", parallel.markdown(r["parallel"]).split("\n", 2)[2]]


MARKDOWN = {"wall": _wall_md, "overhead": _overhead_md, "quality": _quality_md, "sklearn": _sklearn_md,
            "ablation": _ablation_md, "memory": _memory_md, "efficiency": _efficiency_md, "parallel": _parallel_md}


def markdown(r):
    """The tables of the figures the report holds, in the README's order."""
    measured = r.get("measured") or {}
    when = "; ".join(f"{name} {date}" for name, date in measured.items())
    lines = [f"Measured {r['date']} on {r['machine']}, Python {r['python']}, {r['jobs']} jobs"
             + (" (QUICK smoke run: not figures)" if r["quick"] else "") + f"; the last run took {r['seconds']} s."
             + (f" Each figure measured: {when}." if when else "")]
    for name, table in MARKDOWN.items():
        if FIGURE_KEYS[name][0] in r:
            lines += [""] + table(r)
    return "\n".join(lines) + "\n"


def plot(report, out):
    """quality.png from figure 3's curves and wall.png from figure 1, where the report holds them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if "quality_curves" in report:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.5))
        for ax, problem in zip(axes, ("Branin", "Hartmann6")):
            for tool in QUALITY_TOOLS:
                curve = report["quality_curves"][f"{problem} / {tool}"]
                ax.semilogy(range(1, len(curve) + 1), [max(c, 1e-6) for c in curve], label=tool)
            ax.set_title(f"{problem}: median simple regret")
            ax.set_xlabel("evaluations")
        axes[0].legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "quality.png"), dpi=90)
    if "wall" in report:
        fig, ax = plt.subplots(figsize=(6, 3))
        names = list(report["wall"])
        ax.barh(names, [report["wall"][n]["wall_s"] for n in names], color="tab:blue")
        ax.set_xlabel("wall seconds, 40 trials x 0.3 s")
        fig.tight_layout()
        fig.savefig(os.path.join(out, "wall.png"), dpi=90)

if __name__ == "__main__":
    main()
