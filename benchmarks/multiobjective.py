"""Multi-objective search: mlestar-nb's bayes (ParEGO) and evolution beside Optuna's NSGA-II and MOTPE.

At equal budget (100 evaluations, 4 workers, 5 seeds; medians and interquartile ranges of the hypervolume):
- ZDT1 and ZDT2 in 6 dimensions (known fronts: f2 = 1 - sqrt(f1) and 1 - f1^2), reference point (1.1, 11);
- a real task: a random forest on scikit-learn's breast-cancer data, CV accuracy (max) against the time to
  predict 1,000 rows (min), both measured the same way for every tool (mlestar_nb.search.measures); its
  reference is the worst feasible value of each objective over every run of every tool, 10 % beyond.
Also:
- one objective: evolution against random search on Hartmann6, 200 evaluations (regret to -3.32237);
- the design choices, on ZDT1 and ZDT2 through the strategies' ask/tell with 4 points pending (3 seeds): ParEGO's
  Chebyshev scalarization against a linear one, one single-objective strategy per weight vector against a fresh
  one per proposal, and evolution's adaptive mutation step against a fixed one.

mlestar-nb runs through `tune()` on the threads backend with 4 workers; Optuna through `study.optimize(n_jobs=4)`
(threads) with TPESampler(constant_liar=True), the setting Optuna recommends for parallel TPE, and NSGA-II with
its default population (50) and with 20.

    python benchmarks/multiobjective.py [--quick] [--seeds N] [--trials N] [--jobs N] [--only zdt1,zdt2,forest,...]
                                        [--add]   (add the parts run to the existing record)

Writes benchmarks/results/multiobjective.json and .md (the table in the README comes from the .md).
"""
import argparse
import datetime
import json
import math
import os
import pathlib
import platform
import statistics
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import mlestar_nb  # noqa: E402
from compare import HARTMANN6_MIN, hartmann6  # noqa: E402  (the single-objective benchmark's own Hartmann6)
from mlestar_nb.search.objectives import Losses  # noqa: E402
from mlestar_nb.search.pareto import hypervolume  # noqa: E402

SPACE6 = {f"x{i}": (0.0, 1.0) for i in range(6)}
ZDT_REFERENCE = (1.1, 11.0)
FOREST_SPACE = {"n_estimators": (5, 150), "max_depth": (1, 14), "max_features": (0.05, 1.0),
                "min_samples_leaf": (1, 30)}


# -- problems ------------------------------------------------------------------------------------------
def zdt(params, which):
    x = np.array([params[f"x{i}"] for i in range(6)])
    f1, g = float(x[0]), 1 + 9 * float(x[1:].mean())
    f2 = g * (1 - math.sqrt(f1 / g)) if which == 1 else g * (1 - (f1 / g) ** 2)
    return {"f1": f1, "f2": f2}


def forest_data():
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True)


def forest(params, data):
    """CV accuracy and prediction time of one random forest, measured as mlestar-nb's workers measure them."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.model_selection import StratifiedKFold, cross_validate

    from mlestar_nb.search.measures import built_in_measures

    X, y = data
    model = RandomForestClassifier(n_estimators=params["n_estimators"], max_depth=params["max_depth"],
                                   max_features=params["max_features"], min_samples_leaf=params["min_samples_leaf"],
                                   random_state=0, n_jobs=1)
    result = cross_validate(model, X, y, cv=StratifiedKFold(3, shuffle=True, random_state=0), return_estimator=True)
    measured = built_in_measures(result["estimator"][-1], X, list(result["fit_time"]))
    return {"score": float(np.mean(result["test_score"])), "predict_ms": measured["predict_ms"]}


PROBLEMS = {
    "zdt1": dict(space=SPACE6, objectives={"f1": "min", "f2": "min"}, function=lambda p, _: zdt(p, 1)),
    "zdt2": dict(space=SPACE6, objectives={"f1": "min", "f2": "min"}, function=lambda p, _: zdt(p, 2)),
    "forest": dict(space=FOREST_SPACE, objectives={"score": "max", "predict_ms": "min"}, function=forest),
}


# -- one run of each tool -----------------------------------------------------------------------------------
def run_mlestar(strategy, problem, trials, jobs, seed, data):
    spec = PROBLEMS[problem]
    result = mlestar_nb.tune(lambda p: spec["function"](p, data), spec["space"], trials=trials, strategy=strategy,
                             objectives=spec["objectives"], jobs=jobs, backend="threads", seed=seed, journal=False,
                             progress=False)
    rows = [[t.metrics[n] for n in spec["objectives"]] for t in result.trials if t.state == "complete"]
    return rows, {"proposal_ms_mean": result.metrics.get("proposal_ms_mean"), "wall_s": result.metrics["wall_s"]}


def run_optuna(sampler_name, problem, trials, jobs, seed, data):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = PROBLEMS[problem]
    if sampler_name == "optuna-tpe":
        sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    else:
        population = 20 if sampler_name.endswith("pop20") else 50
        sampler = optuna.samplers.NSGAIISampler(seed=seed, population_size=population)
    names = list(spec["objectives"])
    study = optuna.create_study(directions=["maximize" if spec["objectives"][n] == "max" else "minimize"
                                            for n in names], sampler=sampler)

    def objective(trial):
        params = {}
        for name, (low, high) in spec["space"].items():
            params[name] = (trial.suggest_int(name, low, high) if isinstance(low, int)
                            else trial.suggest_float(name, low, high))
        values = spec["function"](params, data)
        return tuple(values[n] for n in names)

    clock = time.perf_counter()
    study.optimize(objective, n_trials=trials, n_jobs=jobs)
    rows = [list(t.values) for t in study.trials if t.values is not None]
    return rows, {"wall_s": time.perf_counter() - clock}


TOOLS = {"mlestar-bayes": lambda *a: run_mlestar("bayes", *a), "mlestar-evolution": lambda *a: run_mlestar(
    "evolution", *a), "optuna-tpe": lambda *a: run_optuna("optuna-tpe", *a),
    "optuna-nsga2": lambda *a: run_optuna("optuna-nsga2", *a),
    "optuna-nsga2-pop20": lambda *a: run_optuna("optuna-nsga2-pop20", *a)}


def as_losses(rows, objectives):
    directions = list(objectives.values())
    return [tuple(-v if d == "max" else v for v, d in zip(row, directions)) for row in rows]


def derived_reference(all_losses):
    worst = np.max(all_losses, axis=0)
    best = np.min(all_losses, axis=0)
    return tuple(float(w + 0.1 * (w - b)) for w, b in zip(worst, best))


def summary(values):
    values = sorted(values)
    q1, _, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else (values[0], None, values[0])
    return {"median": statistics.median(values), "q1": q1, "q3": q3, "runs": values}


# -- the design measurements through ask/tell ----------------------------------------------------------------
def simulate(strategy, function, n, workers=4, seed=0):
    """`workers` points in flight; a random one finishes next and the freed worker gets a new point at once."""
    rng = np.random.default_rng(seed)
    running, losses = [], []
    while len(losses) < n:
        while len(running) < workers and len(losses) + len(running) < n:
            running.append(strategy.ask(pending=list(running)))
        point = running.pop(int(rng.integers(len(running))))
        loss = function(point)
        losses.append(loss)
        strategy.tell(point, loss)
    return losses


def design(trials, seeds):
    from mlestar_nb.search.space import parse_space
    from mlestar_nb.search.strategies import BayesSearch, EvolutionSearch, ScalarizedSearch

    dims = parse_space(SPACE6)

    def bayes(seed, **options):
        return ScalarizedSearch(dims, lambda s: BayesSearch(dims, seed=s), seed=seed, surrogate="GP", **options)

    variants = {
        "bayes: Chebyshev, one strategy per weight vector (default)": lambda s: bayes(s),
        "bayes: Chebyshev, a fresh strategy per proposal": lambda s: bayes(s, reuse=False),
        "bayes: linear, one strategy per weight vector": lambda s: bayes(s, scalarization="linear"),
        "evolution: adaptive step (default)": lambda s: EvolutionSearch(dims, seed=s),
        "evolution: fixed step 0.2": lambda s: EvolutionSearch(dims, seed=s, adaptive=False),
    }
    out = {}
    for which in (1, 2):
        def function(p):
            values = zdt(p, which)
            return Losses((values["f1"], values["f2"]))
        for label, make in variants.items():
            volumes, clock = [], time.perf_counter()
            for seed in range(seeds):
                volumes.append(hypervolume(simulate(make(seed), function, trials, seed=seed), ZDT_REFERENCE))
            out.setdefault(f"zdt{which}", {})[label] = {**summary(volumes),
                                                        "s_per_run": (time.perf_counter() - clock) / seeds}
            print(f"design zdt{which} {label}: {out[f'zdt{which}'][label]['median']:.4f}", flush=True)
    return out


def single_objective(trials, jobs, seeds):
    out = {}
    for strategy in ("evolution", "random"):
        regrets = []
        for seed in range(seeds):
            result = mlestar_nb.tune(hartmann6, SPACE6, trials=trials, strategy=strategy, minimize=True, jobs=jobs,
                                     backend="threads", seed=seed, journal=False, progress=False)
            regrets.append(result.best_score - HARTMANN6_MIN)
        out[strategy] = summary(regrets)
        print(f"hartmann6 {strategy}: median regret {out[strategy]['median']:.4f}", flush=True)
    return out


# -- the whole benchmark ---------------------------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 seed, 40 evaluations, 2 design seeds")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--design-seeds", type=int, default=3, help="seeds of the design comparisons (3)")
    parser.add_argument("--only", default="zdt1,zdt2,forest,hartmann6,design",
                        help="comma-separated parts to run")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "multiobjective"))
    parser.add_argument("--add", action="store_true",
                        help="keep the parts OUT.json already holds and add (or replace) the ones run now")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.trials = 1, 40
    parts = args.only.split(",")
    started = time.time()
    record = {"date": datetime.date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
              f"Python {platform.python_version()}", "load_average_start": os.getloadavg(),
              "trials": args.trials, "jobs": args.jobs, "seeds": args.seeds, "versions": _versions(), "problems": {}}
    if args.add and os.path.exists(args.out + ".json"):
        record = _added_to(record, args.out + ".json", parts)
    data = forest_data()
    for problem in [p for p in PROBLEMS if p in parts]:
        runs = {tool: [] for tool in TOOLS}
        for seed in range(args.seeds):
            for tool, run in TOOLS.items():   # tools interleaved seed by seed: the machine's load hits all alike
                rows, facts = run(problem, args.trials, args.jobs, seed, data)
                runs[tool].append({"rows": rows, **facts})
                print(f"{problem} seed {seed} {tool}: {len(rows)} evaluations, {facts['wall_s']:.1f} s", flush=True)
        objectives = PROBLEMS[problem]["objectives"]
        if problem.startswith("zdt"):
            reference, how = ZDT_REFERENCE, "fixed"
        else:
            reference = derived_reference([l for r in runs.values() for run in r
                                           for l in as_losses(run["rows"], objectives)])
            how = "the worst feasible values over every run of every tool, 10 % beyond"
        table = {}
        for tool, tool_runs in runs.items():
            volumes = [hypervolume(as_losses(run["rows"], objectives), reference) for run in tool_runs]
            table[tool] = {**summary(volumes), "wall_s": statistics.median(r["wall_s"] for r in tool_runs)}
            proposals = [r.get("proposal_ms_mean") for r in tool_runs if r.get("proposal_ms_mean") is not None]
            if proposals:
                table[tool]["proposal_ms"] = statistics.median(proposals)
        record["problems"][problem] = {"reference": list(reference), "reference_from": how, "tools": table}
        _print_table(problem, table)
        save(record, args.out, started)
    if "hartmann6" in parts:
        record["hartmann6"] = {"evaluations": 2 * args.trials, **single_objective(
            2 * args.trials, args.jobs, max(args.seeds, 5 if not args.quick else 2))}
        save(record, args.out, started)
    if "design" in parts:
        record["design_seeds"] = 1 if args.quick else args.design_seeds
        record["design"] = design(args.trials, record["design_seeds"])
        save(record, args.out, started)
    print(markdown(record))


def save(record, out, started):
    """Written after each part, so that a long run stopped early keeps what it measured."""
    latest = record["parts_added"][-1] if record.get("parts_added") else record
    latest["load_average_end"] = os.getloadavg()
    latest["wall_s"] = time.time() - started
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".json", "w") as handle:
        json.dump(record, handle, indent=1)
    with open(out + ".md", "w") as handle:
        handle.write(markdown(record))


def _added_to(record, path, parts):
    """The earlier record with this run's facts; each part keeps the date, seeds and load it was measured with."""
    with open(path) as handle:
        earlier = json.load(handle)
    facts = {"parts": parts, **{key: record[key] for key in ("date", "machine", "load_average_start", "seeds",
                                                               "trials")}}
    # a part measured again replaces its earlier measurement: drop the facts of runs that only covered such parts
    earlier["parts_added"] = [added for added in earlier.get("parts_added", []) if not set(added["parts"]) <= set(parts)]
    earlier["parts_added"].append(facts)
    earlier["versions"] = record["versions"]
    return earlier


def _versions():
    import optuna
    import sklearn
    import skopt

    return {"optuna": optuna.__version__, "scikit-learn": sklearn.__version__, "scikit-optimize": skopt.__version__,
            "numpy": np.__version__}


def _print_table(problem, table):
    for tool, row in table.items():
        print(f"  {problem} {tool}: hypervolume median {row['median']:.4f} (IQR {row['q1']:.4f}-{row['q3']:.4f})",
              flush=True)


def markdown(record):
    load = ", ".join(f"{v:.1f}" for v in record["load_average_start"])
    lines = [f"Multi-objective benchmark, {record['date']}, {record['machine']}; {record['trials']} evaluations, "
             f"{record['jobs']} workers, {record['seeds']} seeds; 1/5/15-minute load average at the start {load}, "
             f"at the end {', '.join(f'{v:.1f}' for v in record['load_average_end'])}.", ""]
    for added in record.get("parts_added", []):
        evaluations = added.get("trials", record["trials"])
        lines += [f"Added {added['date']}: {', '.join(added['parts'])} ({evaluations} evaluations, "
                  f"{added['seeds']} seeds; 1/5/15-minute load "
                  f"average at the start {', '.join(f'{v:.1f}' for v in added['load_average_start'])}, at the end "
                  f"{', '.join(f'{v:.1f}' for v in added['load_average_end'])}).", ""]
    problems = record["problems"]
    if problems:
        tools = list(next(iter(problems.values()))["tools"])
        lines.append("| hypervolume, median (IQR) | " + " | ".join(tools) + " |")
        lines.append("|---|" + "---|" * len(tools))
        for problem, info in problems.items():
            best = max(info["tools"][t]["median"] for t in tools)
            cells = []
            for tool in tools:
                row = info["tools"][tool]
                text = f"{row['median']:.4g} ({row['q1']:.4g}-{row['q3']:.4g})"
                cells.append(f"**{text}**" if row["median"] == best else text)
            lines.append(f"| {problem} | " + " | ".join(cells) + " |")
        walls = [f"{t} " + " / ".join(f"{p['tools'][t]['wall_s']:.0f}" for p in problems.values()) + " s"
                 for t in tools]
        lines += ["", f"Median wall time per run ({' / '.join(problems)}): " + ", ".join(walls) + "."]
    if "hartmann6" in record:
        h = record["hartmann6"]
        lines += ["", f"Hartmann6, one objective, {h.get('evaluations', 2 * record['trials'])} evaluations: "
                      f"median regret evolution "
                      f"{h['evolution']['median']:.4f} (IQR {h['evolution']['q1']:.4f}-{h['evolution']['q3']:.4f}),"
                      f" random {h['random']['median']:.4f} (IQR {h['random']['q1']:.4f}-{h['random']['q3']:.4f})."]
    if "design" in record:
        lines += ["", f"| design choice (ask/tell, 4 pending, {record.get('design_seeds', '?')} seeds) "
                      "| ZDT1 hypervolume, median (IQR) | ZDT2 "
                      "| seconds per run |", "|---|---|---|---|"]
        for label in record["design"]["zdt1"]:
            rows = [record["design"][p][label] for p in ("zdt1", "zdt2")]
            cells = [f"{r['median']:.4g} ({r['q1']:.4g}-{r['q3']:.4g})" for r in rows]
            seconds = statistics.mean(r["s_per_run"] for r in rows)
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {seconds:.0f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
