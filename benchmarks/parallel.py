"""Bayesian search on many workers: utilization, quality at equal evaluations, proposal cost (issue 13).

    python benchmarks/parallel.py [--quick] [--seeds N] [--out benchmarks/results] [--only SECTION ...]
                                  [--workers N ...] [--tools TOOL ...] [--repeats N] [--merge]
    python benchmarks/parallel.py --policies      # how the pending-point policy was chosen (simulated clock)

Sections (each records os.getloadavg() before and after, since other processes share the machine):

- utilization: 16 workers on the threads backend, 200 trials that only sleep (0.5 s and 0.2 s), so that 16
  workers fit on a 2-core machine and every core is left to the proposer: mlestar bayes (GP) and random,
  Optuna TPE (n_jobs threads), scikit-optimize GP (ask(n_points=16), a thread per point; 96 trials: its
  refits grow with the data), each after one short untimed run (its imports). Worker utilization = seconds
  inside trials / (workers x wall); proposals per second = points the tool produced / wall.
- quality: Branin (2-d), Hartmann6 (6-d) and Levy (8-d), 80 evaluations, `--seeds` seeds (5), 1, 4 and 16
  workers: mlestar bayes, Optuna TPE, scikit-optimize GP; simple regret (best loss - optimum) after 40 and 80
  evaluations in finishing order, median and IQR. With 4 and 16 workers every trial sleeps 0.3 s on the
  threads backend; with 1 worker there is nothing to overlap, every tool asks, evaluates and tells in turn,
  so the trials do not sleep (the regret is the same, the run 30x shorter).
- long_trials: the quality section at 16 workers with 2 s trials, long beside a batch's cost: the case where
  the workers of a round that ends together wait for points made from their results (docs/bayes.md).
- proposal_cost: one worker, a trivial objective, 300 trials: ms per point at trials 1-50, 100-150 and
  250-300 (mlestar bayes, Optuna TPE).
- cpu_bound: figure 1 of compare.py (40 trials of a 0.3 s CPU-bound objective on 2 loky workers, median of
  `--repeats` (3), the two searches taking turns on a pool started beforehand): the Bayesian search's wall time
  against random search's in the same run, and each turn's ratio.

`--policies` compares the ways of treating running points (docs/bayes.md) on a simulated clock, with no
sleeping: trials take 1 +- 0.05 time units, proposals take none, so only the policy differs.

Writes results/parallel.json and results/parallel.md (the README's tables). `--merge` keeps what the existing
report has of the sections not run now (and, with `--workers`, of the quality rows not re-measured); every section
and quality row records when it was measured.
"""
import argparse
import concurrent.futures
import json
import math
import os
import platform
import statistics
import sys
import time
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import peers  # noqa: E402
from compare import BRANIN_MIN, BRANIN_SPACE, HARTMANN6_MIN, HARTMANN_SPACE, branin, hartmann6  # noqa: E402

LEVY_SPACE = {f"x{i}": (-10.0, 10.0) for i in range(8)}


def levy(p):
    """Levy's function in 8 dimensions, minimum 0 at (1, ..., 1)."""
    x = np.array([p[f"x{i}"] for i in range(8)])
    w = 1 + (x - 1) / 4
    return float(np.sin(np.pi * w[0]) ** 2 + np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(np.pi * w[:-1] + 1) ** 2))
                 + (w[-1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[-1]) ** 2))


PROBLEMS = {"Branin": (branin, BRANIN_SPACE, BRANIN_MIN), "Hartmann6": (hartmann6, HARTMANN_SPACE, HARTMANN6_MIN),
            "Levy8": (levy, LEVY_SPACE, 0.0)}


def _load():
    return [round(v, 2) for v in os.getloadavg()]


class Sleeping:
    """The loss function, after sleeping `seconds`; records each call's start and end (for utilization)."""

    def __init__(self, f, seconds):
        self.f, self.seconds, self.spans = f, seconds, []

    def __call__(self, p):
        start = time.perf_counter()
        if self.seconds:
            time.sleep(self.seconds)
        value = self.f(p)
        self.spans.append((start, time.perf_counter()))
        return value


# -- the tools, on threads -----------------------------------------------------------------------------------
def run_mlestar(objective, space, trials, workers, seed, strategy="bayes"):
    import mlestar_nb

    result = mlestar_nb.tune(objective, space, trials=trials, jobs=workers, backend="threads" if workers > 1
                             else "sequential", strategy=strategy, seed=seed, minimize=True, journal=False,
                             progress=False)
    done = sorted((t for t in result.trials if t.state == "complete"), key=lambda t: t.end)
    m = result.metrics
    return [t.value for t in done], {"proposals": m["proposals"] + m.get("proposals_fallback", 0),
                                     "proposal_cpu_s": m.get("proposal_cpu_s"), "fallback": m.get("proposals_fallback")}


def run_optuna(objective, space, trials, workers, seed):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(lambda trial: objective(peers.optuna_suggest(trial, space)), n_trials=trials, n_jobs=workers)
    done = sorted((t for t in study.trials if t.value is not None), key=lambda t: t.datetime_complete)
    return [t.value for t in done], {"proposals": len(study.trials)}


def run_skopt(objective, space, trials, workers, seed):
    """scikit-optimize's GP: ask(n_points=workers) (constant liar), the batch on threads, tell."""
    from skopt import Optimizer

    names = list(space)
    optimizer = Optimizer(list(peers._dims(space).values()), base_estimator="GP", random_state=seed,
                          n_initial_points=10)
    losses = []
    with warnings.catch_warnings(), concurrent.futures.ThreadPoolExecutor(workers) as pool:
        warnings.simplefilter("ignore")
        while len(losses) < trials:
            batch = min(workers, trials - len(losses))
            points = optimizer.ask(n_points=batch) if batch > 1 else [optimizer.ask()]
            params = [dict(zip(names, [v.item() if hasattr(v, "item") else v for v in p])) for p in points]
            values = list(pool.map(objective, params))
            optimizer.tell(points, values)
            losses.extend(values)
    return losses, {"proposals": len(losses)}


TOOLS = {"mlestar bayes": run_mlestar, "mlestar random": lambda *a: run_mlestar(*a, strategy="random"),
         "Optuna TPE": run_optuna, "skopt GP": run_skopt}


def timed_run(tool, f, space, trials, workers, seed, seconds):
    """Run one tool; return losses in finishing order and the run's figures."""
    objective = Sleeping(f, seconds)
    clock = time.perf_counter()
    losses, extra = TOOLS[tool](objective, space, trials, workers, seed)
    wall = time.perf_counter() - clock
    busy = sum(end - start for start, end in objective.spans)
    figures = {"wall_s": wall, "utilization": busy / (workers * wall), "proposals_per_s": extra.pop("proposals") / wall}
    return losses, {**figures, **extra}


def _summary(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    q1, q2, q3 = np.percentile(values, [25, 50, 75])
    return {"median": float(q2), "iqr": [float(q1), float(q3)], "each": [round(float(v), 4) for v in values]}


# -- sections ------------------------------------------------------------------------------------------------
def utilization(quick=False, repeats=3):
    """Each tool first makes one short run untimed, as in a working notebook session: a fresh process's first run
    pays for its imports (mlestar-nb's search stack, with scikit-optimize, about 0.7 s: 0.87-0.88 instead of 0.94
    at 0.5 s trials), once per kernel, which is not what this figure is about."""
    out = {"load_before": _load()}
    trials = 64 if quick else 200
    for tool in TOOLS:
        timed_run(tool, branin, BRANIN_SPACE, 4, 2, 0, 0.0)
    for seconds in (0.5, 0.2):
        rows = {}
        for tool in TOOLS:
            n = min(trials, 48 if quick else 96) if tool == "skopt GP" else trials
            runs = [timed_run(tool, branin, BRANIN_SPACE, n, 16, seed, seconds)[1]
                    for seed in range(1 if tool == "skopt GP" or quick else repeats)]
            rows[tool] = {"trials": n, "runs": len(runs),
                          "utilization": [round(r["utilization"], 3) for r in runs],
                          "proposals_per_s": round(statistics.median(r["proposals_per_s"] for r in runs), 1),
                          "fallback_points": [r.get("fallback") for r in runs]}
            print(f"  utilization {seconds} s {tool}: {rows[tool]['utilization']}", flush=True)
        out[f"trial_{seconds}s"] = rows
    out["load_after"] = _load()
    return out


QUALITY_TOOLS = ("mlestar bayes", "Optuna TPE", "skopt GP")


QUALITY_TRIAL_S = 0.3  # quality: the length of a sleeping trial with several workers


def quality(seeds=5, budget=80, worker_counts=(1, 4, 16), tools=QUALITY_TOOLS, problems=tuple(PROBLEMS),
            seconds=QUALITY_TRIAL_S):
    out = {"load_before": _load(), "budget": budget, "seeds": seeds, "trial_seconds": seconds}
    for problem in problems:
        f, space, optimum = PROBLEMS[problem]
        for workers in worker_counts:
            for tool in tools:
                at40, at_end, utils = [], [], []
                for seed in range(seeds):
                    losses, figures = timed_run(tool, f, space, budget, workers, seed, 0.0 if workers == 1 else seconds)
                    best = np.minimum.accumulate(losses) - optimum
                    at40.append(float(best[min(39, len(best) - 1)]))
                    at_end.append(float(best[-1]))
                    utils.append(figures["utilization"])
                key = f"{problem} / {workers} worker(s) / {tool}"
                out[key] = {"measured": time.strftime("%Y-%m-%d %H:%M"),
                            "regret_40": _summary(at40), f"regret_{budget}": _summary(at_end),
                            "utilization": round(statistics.median(utils), 3) if workers > 1 else None}
                print(f"  {key}: regret@40 {out[key]['regret_40']['median']:.4g}, "
                      f"@{budget} {out[key][f'regret_{budget}']['median']:.4g}", flush=True)
    out["load_after"] = _load()
    return out


def proposal_cost(trials=300):
    out = {"load_before": _load()}
    trivial = lambda p: (p["x"] - 1) ** 2 + (p["y"] - 2) ** 2  # noqa: E731
    space = {"x": (-5.0, 5.0), "y": (-5.0, 5.0)}
    for tool in ("mlestar bayes", "Optuna TPE"):
        ends = []

        def record(p):
            ends.append(time.perf_counter())
            return trivial(p)

        clock = time.perf_counter()
        TOOLS[tool](record, space, trials, 1, 0)
        gaps = np.diff([clock] + ends)
        out[tool] = {f"ms_per_point_{a + 1}_{b}": round(1000 * float(np.mean(gaps[a:b])), 1)
                     for a, b in ((0, 50), (99, 150), (249, 300)) if b <= trials}
    out["load_after"] = _load()
    return out


def cpu_bound(jobs=2, repeats=3):
    from compare import figure_wall

    load = _load()
    tools = {k: peers.TOOLS[k] for k in ("mlestar bayes", "mlestar random")}
    rows = figure_wall(jobs, trials=40, seconds=0.3, tools=tools, repeats=repeats)
    ratio = rows["mlestar bayes"]["wall_s"] / rows["mlestar random"]["wall_s"]
    turns = zip(rows["mlestar bayes"]["wall_s_each"], rows["mlestar random"]["wall_s_each"])
    each = [round(bayes_s / random_s, 3) for bayes_s, random_s in turns]
    return {"load_before": load, "jobs": jobs, "repeats": repeats, "rows": rows,
            "bayes_over_random_wall": round(ratio, 3), "ratio_each_run": each, "load_after": _load()}


# -- how the pending-point policy was chosen: a simulated clock ----------------------------------------------
def simulate(strategy, f, budget, workers, seed):
    """Asynchronous workers on a simulated clock: each trial takes 1 +- 0.05; losses in finishing order."""
    rng = np.random.RandomState(1000 + seed)
    now, running, losses, submitted = 0.0, [], [], 0
    while len(losses) < budget:
        free = min(workers - len(running), budget - submitted)
        if free > 0:
            for point in strategy.ask_many(free, [p for _, p in running]):
                running.append((now + 1.0 + 0.1 * (rng.rand() - 0.5), point))
                submitted += 1
        running.sort(key=lambda item: item[0])
        now, point = running.pop(0)
        loss = f(point)
        strategy.tell(point, loss)
        losses.append(loss)
    return losses


def policies(seeds=5, budget=80, worker_counts=(4, 16)):
    from mlestar_nb.search.space import parse_space
    from mlestar_nb.search.strategies.bayes import PENDING_POLICIES, BayesSearch

    out = {"load_before": _load(), "budget": budget, "seeds": seeds}
    for problem, (f, space, optimum) in PROBLEMS.items():
        for workers in worker_counts:
            for policy in PENDING_POLICIES:
                finals = []
                for seed in range(seeds):
                    strategy = BayesSearch(parse_space(space), seed=seed, pending=policy)
                    finals.append(min(simulate(strategy, f, budget, workers, seed)) - optimum)
                out[f"{problem} / {workers} workers / {policy}"] = _summary(finals)
                print(f"  {problem} {workers} workers {policy}: {statistics.median(finals):.4g}", flush=True)
    out["load_after"] = _load()
    return out


# -- the report ----------------------------------------------------------------------------------------------
SECTIONS = ("utilization", "quality", "long_trials", "proposal_cost", "cpu_bound")
LONG_TRIAL_S = 2.0   # long_trials: trials long beside a batch's cost, where 16 workers wait for fresh points
QUALITY_SECTIONS = {"quality": "Simple regret at equal evaluations",   # sections of quality rows, and their titles
                    "long_trials": "Simple regret at equal evaluations, trials long beside the model's cost"}


def run(quick=False, seeds=None, only=SECTIONS, workers=None, tools=QUALITY_TOOLS, repeats=None):
    report = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "python": sys.version.split()[0], "quick": quick}
    seeds = seeds or (2 if quick else 5)
    budget = 40 if quick else 80
    sections = {
        "utilization": ("utilization, 16 workers (threads, sleeping trials)", lambda: utilization(quick)),
        "quality": ("quality at equal evaluations", lambda: quality(
            seeds=seeds, budget=budget, worker_counts=workers or ((1, 16) if quick else (1, 4, 16)), tools=tools)),
        "long_trials": (f"quality at equal evaluations, 16 workers, {LONG_TRIAL_S} s trials", lambda: quality(
            seeds=seeds, budget=budget, worker_counts=(16,), seconds=LONG_TRIAL_S, tools=tools)),
        "proposal_cost": ("sequential proposal cost", lambda: proposal_cost(100 if quick else 300)),
        "cpu_bound": ("figure 1, CPU-bound trials on 2 workers",
                      lambda: cpu_bound(repeats=1 if quick else repeats or 3)),
    }
    for name in SECTIONS:
        if name in only:
            title, measure = sections[name]
            print(f"parallel: {title}", flush=True)
            report[name] = {"measured": time.strftime("%Y-%m-%d %H:%M"), **measure()}
    return report


def _merged(path, new):
    """The existing report with the sections just measured replaced; in the quality sections only the rows
    measured (each row and section keeps the date it was measured, `measured`; a row kept from an earlier run
    names that run's date, `section`, and `earlier_rows` holds those runs' loads)."""
    with open(path) as fh:
        old = json.load(fh)
    for section in SECTIONS:
        if section not in new:
            continue
        if section in QUALITY_SECTIONS and section in old:
            when = old[section].get("measured", old["date"])
            kept = {k: {"measured": when, "section": when, **v}
                    for k, v in old[section].items() if " / " in k and k not in new[section]}
            loads = {k: old[section][k] for k in ("load_before", "load_after")}
            runs = {row["section"] for row in kept.values()}
            earlier = [run for run in old[section].get("earlier_rows", []) + [{"measured": when, **loads}]
                       if run["measured"] in runs]
            new[section] = {**new[section], **kept, "earlier_rows": earlier}
        old[section] = new[section]
    return {**old, "date": new["date"], "quick": new["quick"]}


def _quality_table(q, title):
    budget, seconds = q["budget"], q.get("trial_seconds", QUALITY_TRIAL_S)
    when = f"measured {q.get('measured', '')}, load {q['load_before']} -> {q['load_after']}" + "".join(
        f"; rows not re-measured then: {e['measured']}, load {e['load_before']} -> {e['load_after']}"
        for e in q.get("earlier_rows", []))
    lines = ["", f"**{title}**, median [IQR] of {q['seeds']} seeds, @40 / @{budget} ({when}); several workers: "
                 f"{seconds:g} s sleeping trials on threads", "",
             "| problem | workers | " + " | ".join(QUALITY_TOOLS) + " |", "|---|---|" + "---|" * len(QUALITY_TOOLS)]
    keys = [k for k in q if " / " in k]
    for problem in PROBLEMS:
        for workers in sorted({int(k.split(" / ")[1].split()[0]) for k in keys if k.startswith(problem)}):
            cells = []
            for tool in QUALITY_TOOLS:
                row = q.get(f"{problem} / {workers} worker(s) / {tool}")
                if row is None:
                    cells.append("")
                    continue
                a, b = row["regret_40"], row[f"regret_{budget}"]
                cells.append(f"{a['median']:.3g} / {b['median']:.3g} [{b['iqr'][0]:.2g}, {b['iqr'][1]:.2g}]")
            lines.append(f"| {problem} | {workers} | " + " | ".join(cells) + " |")
    return lines


def markdown(r):
    lines = [f"Measured {r['date']} on {r['machine']}, Python {r['python']}"
             + (" (QUICK smoke run: not figures)" if r.get("quick") else "") + "; 1-, 5- and 15-minute load averages "
             "before and after each section are given with it.", ""]
    if "utilization" in r:
        u = r["utilization"]
        lines += [f"**Worker utilization, 16 workers** (threads backend, trials that only sleep, Branin; load "
                  f"{u['load_before']} -> {u['load_after']})", "",
                  "| tool | trials | 0.5 s trials | 0.2 s trials | proposals/s (0.2 s) |", "|---|---|---|---|---|"]
        for tool in u["trial_0.5s"]:
            a, b = u["trial_0.5s"][tool], u["trial_0.2s"][tool]
            cells = [", ".join(f"{x:.2f}" for x in row["utilization"]) for row in (a, b)]
            lines.append(f"| {tool} | {a['trials']} | {cells[0]} | {cells[1]} | {b['proposals_per_s']} |")
    for section, title in QUALITY_SECTIONS.items():
        if section in r:
            lines += _quality_table(r[section], title)
    if "proposal_cost" in r:
        p = r["proposal_cost"]
        lines += ["", f"**Sequential proposal cost**, ms per point, one worker, trivial objective (load "
                      f"{p['load_before']} -> {p['load_after']})", ""]
        for tool in ("mlestar bayes", "Optuna TPE"):
            lines.append(f"- {tool}: " + ", ".join(f"trials {k.split('_', 3)[3].replace('_', '-')}: {v}"
                                                   for k, v in p[tool].items()))
    if "cpu_bound" in r:
        c = r["cpu_bound"]
        runs = "one run" if c["repeats"] == 1 else f"median of {c['repeats']}"
        lines += ["", f"**2 cores, CPU-bound trials** (figure 1: 40 trials of 0.3 s on {c['jobs']} loky workers, "
                      f"{runs}; load {c['load_before']} -> {c['load_after']}): bayes wall "
                      f"{c['rows']['mlestar bayes']['wall_s']} s, random {c['rows']['mlestar random']['wall_s']} s, "
                      f"ratio **{c['bayes_over_random_wall']}**; utilization "
                      f"{c['rows']['mlestar bayes']['worker_utilization']:.0%} / "
                      f"{c['rows']['mlestar random']['worker_utilization']:.0%}"
                      + (f"; each run's ratio: {', '.join(map(str, c['ratio_each_run']))}" if "ratio_each_run" in c
                         else "")]
    if "policies" in r:
        p = r["policies"]
        lines += ["", f"**Pending-point policies** (simulated clock, median simple regret after {p['budget']} "
                      f"evaluations, {p['seeds']} seeds)", ""]
        lines += [f"- {k}: {v['median']:.4g} [{v['iqr'][0]:.3g}, {v['iqr'][1]:.3g}]" for k, v in p.items()
                  if " / " in k]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer seeds and trials: a smoke run, not figures")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--repeats", type=int, default=None, help="cpu_bound: runs of each search (3)")
    parser.add_argument("--only", nargs="*", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--workers", nargs="*", type=int, default=None, help="the quality section's worker counts")
    parser.add_argument("--tools", nargs="*", choices=QUALITY_TOOLS, default=list(QUALITY_TOOLS),
                        help="the tools of the quality sections (with --merge the others keep their rows)")
    parser.add_argument("--merge", action="store_true",
                        help="keep what the existing report has of the sections (and quality rows) not run now")
    parser.add_argument("--policies", action="store_true", help="compare the pending-point policies instead")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.policies:
        report = {"date": time.strftime("%Y-%m-%d %H:%M"), "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                  "python": sys.version.split()[0], "policies": policies(seeds=args.seeds or 5)}
        name = "policies"
    else:
        report = run(args.quick, args.seeds, args.only, args.workers, tuple(args.tools), args.repeats)
        name = "parallel"
        if args.merge:
            report = _merged(os.path.join(args.out, f"{name}.json"), report)
    with open(os.path.join(args.out, f"{name}.json"), "w") as fh:
        json.dump(report, fh, indent=1)
    table = markdown(report)
    with open(os.path.join(args.out, f"{name}.md"), "w") as fh:
        fh.write(table)
    print(table)
    return report


if __name__ == "__main__":
    main()
