"""A progressive budget against running every configuration to the end (issue 15), with its peers in the same run.

Two tasks, each scored on a fixed validation split (the same rows for every tool):
- mlp: scikit-learn's digits, an MLPClassifier over the product brief's space (learning rate, batch size,
  regularization, depth 1-3 with per-layer widths), the budget is epochs 9..81 (eta 3: rungs 9, 27, 81);
  mlestar-nb continues a promoted network from its lower rung (warm_start);
- gbm: 40,000 generated rows (make_classification, 20 features), a HistGradientBoostingClassifier, the budget is
  the share of training rows 1/9..1 (eta 3: rungs 1/9, 1/3, 1), each rung fitted afresh.

Per seed, with N configurations (27; --quick 9) and 2 workers:
- full-budget random search: mlestar-nb's random strategy, every configuration at the full budget (N x full);
- mlestar-nb: `tune(fidelity=..., eta=3)` with the default strategy and about N configurations (trials = 1.45 N at
  eta 3, N x the sum of eta^-rung, so that the rungs above the lowest fit; the table gives the configurations it
  actually started);
- mlestar-nb with --budget-total: the same, capped at 40 % of N x full (`budget_total`) with trials enough that
  the cap is what stops it: the budget the target allows, spent on as many configurations as it pays for;
- scikit-learn's HalvingRandomSearchCV (n_candidates=N, factor 3, the same resource range, the validation split as
  its only fold, no refit);
- Optuna's HyperbandPruner (n_trials=N, 2 threads, TPE sampler): each trial trains rung by rung, reports its
  validation score and stops when pruned (MLP: epoch by epoch with partial_fit; GBM: a fresh fit per rung).

`--eta E` sets the reduction factor of every tool (rungs HIGH / E^s, at least LOW, as mlestar-nb sets them;
HalvingRandomSearchCV's top rung is LOW x E^s, 80 epochs at E = 2).

Budget spent: the sum of what each trial trained (epochs, or the share of rows), relative to N x full. The target:
mlestar-nb's best full-budget score (median of seeds) at least the full-budget random search's, with at most 40 %
of its budget. Writes results/fidelity.json and prints markdown.

`--conditional` measures the other claim of the issue: the Bayesian strategy over a conditional space against the
same space flattened (every setting always present, the objective ignoring the inactive ones), median of 5 seeds, at
the strategy's full effort, on two tasks where the condition matters.
"""
import argparse
import json
import os
import platform
import statistics
import threading
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")
os.environ.setdefault("OMP_NUM_THREADS", "1")


# -- the tasks ----------------------------------------------------------------------------------------------
class MLPTask:
    name = "mlp"
    title = "MLP over epochs (digits)"
    fidelity = ("epochs", 9, 81)
    unit = "epochs"

    def __init__(self, eta=3):
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        self.eta, self.rungs = eta, _rungs(self.fidelity, eta)
        X, y = load_digits(return_X_y=True)
        self.X_train, self.X_val, self.y_train, self.y_val = train_test_split(X / 16.0, y, test_size=0.3,
                                                                              random_state=0, stratify=y)
        self.space = {"learning_rate": (1e-3, 0.3, "log-uniform"), "batch_size": [32, 64, 128, 256],
                      "regularization": (1e-6, 1e-2, "log-uniform"), "network_depth": [1, 2, 3],
                      "units": {"per": "network_depth", "space": (16, 128, "log-uniform")}}

    def model(self, p, random_state=0):
        from sklearn.neural_network import MLPClassifier

        return MLPClassifier(hidden_layer_sizes=tuple(p["units"]), batch_size=p["batch_size"],
                             learning_rate_init=p["learning_rate"], alpha=p["regularization"], warm_start=True,
                             n_iter_no_change=1000, random_state=random_state)

    def objective(self, p, previous=None):
        """Train to p["epochs"] in all (on from `previous`, trained at `previous.budget`), score on validation."""
        model = previous if previous is not None else self.model(p)
        done = getattr(model, "trained_", 0)
        model.set_params(max_iter=max(1, p["epochs"] - done))
        model.fit(self.X_train, self.y_train)
        model.trained_ = p["epochs"]
        return {"score": float(model.score(self.X_val, self.y_val)), "previous": model}

    def halving_search(self, n, seed):
        from sklearn.model_selection import HalvingRandomSearchCV  # noqa: F401
        from sklearn.neural_network import MLPClassifier
        from scipy.stats import loguniform

        distributions = {"learning_rate_init": loguniform(1e-3, 0.3), "batch_size": [32, 64, 128, 256],
                         "alpha": loguniform(1e-6, 1e-2), "hidden_layer_sizes": Layers()}
        return MLPClassifier(n_iter_no_change=1000, random_state=0), distributions, "max_iter", self.rungs[0], 81

    def step(self, budget):
        """The step Optuna's pruner counts a rung at: the epoch."""
        return budget

    def optuna_objective(self, trial):
        import optuna

        depth = trial.suggest_categorical("network_depth", [1, 2, 3])
        p = {"learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.3, log=True),
             "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128, 256]),
             "regularization": trial.suggest_float("regularization", 1e-6, 1e-2, log=True),
             "units": [trial.suggest_int(f"units_{i}", 16, 128, log=True) for i in range(depth)]}
        model, classes = self.model(p), np.unique(self.y_train)
        score = None
        for epoch in range(1, 82):
            model.partial_fit(self.X_train, self.y_train, classes=classes)
            trial.set_user_attr("spent", epoch)
            if epoch in self.rungs:
                score = float(model.score(self.X_val, self.y_val))
                trial.report(score, epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()
        return score


class Layers:
    """hidden_layer_sizes for RandomizedSearchCV: depth 1-3, each width log-uniform in 16..128."""

    def rvs(self, random_state=None):
        rng = np.random.default_rng(random_state.randint(2**31) if hasattr(random_state, "randint") else random_state)
        return tuple(int(round(np.exp(rng.uniform(np.log(16), np.log(128))))) for _ in range(rng.integers(1, 4)))


class GBMTask:
    name = "gbm"
    title = "gradient boosting over rows (40,000 generated)"
    fidelity = ("n_samples", 1 / 9, 1.0)
    unit = "x the training rows"

    def __init__(self, eta=3):
        from sklearn.datasets import make_classification
        from sklearn.model_selection import train_test_split

        self.eta, self.rungs = eta, _rungs(self.fidelity, eta)
        X, y = make_classification(n_samples=40000, n_features=20, n_informative=10, n_redundant=4, flip_y=0.05,
                                   class_sep=0.8, random_state=0)
        self.X_train, self.X_val, self.y_train, self.y_val = train_test_split(X, y, test_size=0.25, random_state=0)
        self.order = np.random.RandomState(0).permutation(len(self.y_train))
        self.space = {"learning_rate": (0.01, 0.5, "log-uniform"), "max_leaf_nodes": (4, 128, "log-uniform"),
                      "min_samples_leaf": (2, 200, "log-uniform"), "l2_regularization": (1e-6, 10.0, "log-uniform"),
                      "max_features": (0.2, 1.0)}

    def model(self, p):
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(learning_rate=p["learning_rate"], max_leaf_nodes=p["max_leaf_nodes"],
                                              min_samples_leaf=p["min_samples_leaf"],
                                              l2_regularization=p["l2_regularization"],
                                              max_features=p["max_features"], max_iter=150, early_stopping=False,
                                              random_state=0)

    def fit_score(self, p, share):
        rows = self.order[:max(50, int(round(share * len(self.order))))]
        model = self.model(p).fit(self.X_train[rows], self.y_train[rows])
        return float(model.score(self.X_val, self.y_val))

    def objective(self, p):
        return self.fit_score(p, p["n_samples"])

    def halving_search(self, n, seed):
        from sklearn.ensemble import HistGradientBoostingClassifier
        from scipy.stats import loguniform, randint, uniform

        distributions = {"learning_rate": loguniform(0.01, 0.5), "max_leaf_nodes": randint(4, 129),
                         "min_samples_leaf": randint(2, 201), "l2_regularization": loguniform(1e-6, 10.0),
                         "max_features": uniform(0.2, 0.8)}
        full = len(self.y_train)
        return (HistGradientBoostingClassifier(max_iter=150, early_stopping=False, random_state=0), distributions,
                "n_samples", int(round(full * self.rungs[0])), full)

    def step(self, share):
        """The step Optuna's pruner counts a rung at: multiples of the lowest rung's share of the rows."""
        return int(round(share / self.rungs[0]))

    def optuna_objective(self, trial):
        import optuna

        p = {"learning_rate": trial.suggest_float("learning_rate", 0.01, 0.5, log=True),
             "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 4, 128, log=True),
             "min_samples_leaf": trial.suggest_int("min_samples_leaf", 2, 200, log=True),
             "l2_regularization": trial.suggest_float("l2_regularization", 1e-6, 10.0, log=True),
             "max_features": trial.suggest_float("max_features", 0.2, 1.0)}
        spent, score = 0.0, None
        for share in self.rungs:
            score = self.fit_score(p, share)
            spent += share
            trial.set_user_attr("spent", spent)
            trial.report(score, self.step(share))
            if trial.should_prune():
                raise optuna.TrialPruned()
        return score


TASKS = {"mlp": MLPTask, "gbm": GBMTask}


def _rungs(fidelity, eta):
    """The rungs' budgets, as mlestar-nb sets them (HIGH / eta^s, at least LOW): every tool uses the same."""
    from mlestar_nb.search.fidelity import Fidelity

    return Fidelity(*fidelity, eta=eta).budgets


# -- the tools ------------------------------------------------------------------------------------------------
def full_random(task, n, seed, jobs):
    import mlestar_nb

    name, _, high = task.fidelity
    clock = time.perf_counter()
    result = mlestar_nb.tune(lambda p: _score(task.objective({**p, name: high})), task.space, trials=n,
                             strategy="random", seed=seed, jobs=jobs, journal=False, progress=False)
    return {"best": result.best_score, "budget": n * high, "configurations": n, "wall_s": time.perf_counter() - clock}


def _score(value):
    return value["score"] if isinstance(value, dict) else value


def mlestar(task, n, seed, jobs, capped=False):
    """About n configurations; or, `capped`, as many as 40 % of the full-budget search's budget pays for."""
    import mlestar_nb

    name, low, high = task.fidelity
    clock = time.perf_counter()
    per_configuration = sum(task.eta ** -r for r in range(len(task.rungs)))   # ASHA's trials per configuration
    extra = {"trials": 4 * n, "budget_total": 0.4 * n * high} if capped else \
        {"trials": int(round(per_configuration * n))}
    result = mlestar_nb.tune(task.objective, task.space, fidelity={name: (low, high)}, eta=task.eta, seed=seed,
                             jobs=jobs, journal=False, progress=False, **extra)
    rows = result.rungs
    return {"best": result.best_score, "budget": result.budget_spent, "configurations": rows[0]["trials"],
            "wall_s": time.perf_counter() - clock, "full_budget_trials": rows[-1]["trials"],
            "spearman": [r["spearman"] for r in rows[:-1]],
            "continued": sum(t.continued_from is not None for t in result.trials)}


def halving(task, n, seed, jobs):
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV, PredefinedSplit

    estimator, distributions, resource, low, high = task.halving_search(n, seed)
    X = np.vstack([task.X_train, task.X_val])
    y = np.concatenate([task.y_train, task.y_val])
    split = PredefinedSplit(np.r_[np.full(len(task.y_train), -1), np.zeros(len(task.y_val), dtype=int)])
    clock = time.perf_counter()
    search = HalvingRandomSearchCV(estimator, distributions, n_candidates=n, factor=task.eta, resource=resource,
                                   min_resources=low, max_resources=high, cv=split, refit=False, n_jobs=jobs,
                                   random_state=seed, error_score=0.0)
    search.fit(X, y)
    results = search.cv_results_
    top = max(results["n_resources"])
    at_top = [s for s, r in zip(results["mean_test_score"], results["n_resources"]) if r == top]
    full = high if resource != "n_samples" else len(task.y_train)
    budget = float(sum(results["n_resources"])) / full * task.fidelity[2]
    return {"best": float(max(at_top)), "budget": budget, "configurations": n, "wall_s": time.perf_counter() - clock}


def optuna_hyperband(task, n, seed, jobs):
    import optuna
    from threadpoolctl import threadpool_limits

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name, low, high = task.fidelity
    steps = (task.step(task.rungs[0]), task.step(task.rungs[-1]))
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed),
                                pruner=optuna.pruners.HyperbandPruner(min_resource=steps[0], max_resource=steps[1],
                                                                      reduction_factor=task.eta))
    clock = time.perf_counter()
    with threadpool_limits(1):
        study.optimize(task.optuna_objective, n_trials=n, n_jobs=jobs)
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    return {"best": max((t.value for t in complete), default=None),
            "budget": float(sum(t.user_attrs.get("spent", 0) for t in study.trials)),
            "configurations": len(study.trials), "wall_s": time.perf_counter() - clock}


def mlestar_capped(task, n, seed, jobs):
    return mlestar(task, n, seed, jobs, capped=True)


TOOLS = {"full-budget random (mlestar-nb random)": full_random, "mlestar-nb --fidelity (ASHA)": mlestar,
         "mlestar-nb --fidelity --budget-total 40 %": mlestar_capped,
         "HalvingRandomSearchCV": halving, "Optuna HyperbandPruner (TPE)": optuna_hyperband}


def run_fidelity(args):
    rows = []
    for key in args.tasks:
        task = TASKS[key](args.eta)
        for seed in range(args.seeds):
            for tool, run in TOOLS.items():
                out = run(task, args.configurations, seed, args.jobs)
                out.update(task=key, tool=tool, seed=seed)
                rows.append(out)
                print(json.dumps(out), flush=True)
    return rows


def summarize(rows, configurations):
    table = []
    for key in dict.fromkeys(r["task"] for r in rows):
        task = TASKS[key]
        full = configurations * task.fidelity[2]
        reference = statistics.median(r["best"] for r in rows if r["task"] == key and r["tool"].startswith("full"))
        for tool in TOOLS:
            mine = [r for r in rows if r["task"] == key and r["tool"] == tool]
            bests = [r["best"] for r in mine if r["best"] is not None]
            budget = statistics.median(r["budget"] for r in mine) / full
            best = statistics.median(bests) if bests else None
            table.append({"task": task.title, "tool": tool, "best": best, "best_min": min(bests, default=None),
                          "best_max": max(bests, default=None), "budget_share": budget,
                          "configurations": statistics.median(r["configurations"] for r in mine),
                          "wall_s": statistics.median(r["wall_s"] for r in mine),
                          "reaches_random": best is not None and best >= reference,
                          "seeds": len(mine)})
    return table


def markdown(table):
    lines = ["| task | tool | best full-budget score, median [min, max] | budget spent / N x full | configurations "
             "| wall s | reaches random's best |", "|---|---|---|---|---|---|---|"]
    for r in table:
        best = "n/a" if r["best"] is None else f"{r['best']:.4f} [{r['best_min']:.4f}, {r['best_max']:.4f}]"
        lines.append(f"| {r['task']} | {r['tool']} | {best} | {r['budget_share']:.0%} | {r['configurations']:g} | "
                     f"{r['wall_s']:.1f} | {'yes' if r['reaches_random'] else 'no'} |")
    return "\n".join(lines)


# -- conditional against flattened --------------------------------------------------------------------------
def two_families(p):
    if p["family"] == "a":
        return sum((p[f"x{i}"] - 0.2) ** 2 for i in range(3))
    return 0.05 + sum((p[f"y{i}"] - 0.7) ** 2 for i in range(3)) / 2


def architecture(p):
    """Depth 1..4 with per-layer widths and sgd's momentum: best at 3 layers of 40, 20, 10 with sgd, momentum 0.9."""
    loss = abs(p["depth"] - 3) * 0.6
    for i, width in enumerate(p["units"]):
        loss += (np.log2(width) - np.log2((40, 20, 10, 5)[i])) ** 2 / 4
    return float(loss + (0.0 if p["solver"] == "adam" else (p["momentum"] - 0.9) ** 2 * 8 - 0.15))


CONDITIONAL_TASKS = {
    "two model families, 3 settings each": (
        two_families,
        {"family": ["a", "b"], **{f"x{i}": {"when": "family == 'a'", "space": (0.0, 1.0)} for i in range(3)},
         **{f"y{i}": {"when": "family == 'b'", "space": (0.0, 1.0)} for i in range(3)}},
        {"family": ["a", "b"], **{f"{v}{i}": (0.0, 1.0) for v in "xy" for i in range(3)}},
        lambda p: p),
    "depth 1-4, per-layer widths, momentum for sgd": (
        architecture,
        {"depth": [1, 2, 3, 4], "units": {"per": "depth", "space": (4, 64, "log-uniform")},
         "solver": ["adam", "sgd"], "momentum": {"when": "solver == 'sgd'", "space": (0.5, 0.99)}},
        {"depth": [1, 2, 3, 4], **{f"u{i}": (4, 64, "log-uniform") for i in range(4)}, "solver": ["adam", "sgd"],
         "momentum": (0.5, 0.99)},
        lambda p: {"depth": p["depth"], "units": [p[f"u{i}"] for i in range(p["depth"])], "solver": p["solver"],
                   "momentum": p["momentum"]}),
}


def run_conditional(args):
    from mlestar_nb.search.space import parse_space
    from mlestar_nb.search.strategies import make_strategy

    def best(space, f, convert, seed):
        strategy = make_strategy("bayes", parse_space(space), budget=args.evaluations, seed=seed, n_initial=8)
        found = []
        for _ in range(args.evaluations):
            point = strategy.ask()
            found.append(f(convert(point)))
            strategy.tell(point, found[-1])
        return min(found)

    rows = []
    for title, (f, structured, flat, convert) in CONDITIONAL_TASKS.items():
        conditional = [best(structured, f, lambda p: {"momentum": None, **p}, s) for s in range(args.seeds)]
        flattened = [best(flat, f, convert, s) for s in range(args.seeds)]
        rows.append({"task": title, "evaluations": args.evaluations, "conditional": conditional,
                     "flattened": flattened, "conditional_median": statistics.median(conditional),
                     "flattened_median": statistics.median(flattened),
                     "seeds_conditional_not_worse": sum(c <= f for c, f in zip(conditional, flattened))})
        print(json.dumps(rows[-1]), flush=True)
    return rows


class LoadSampler:
    """The 1-minute load average, sampled every 10 s while the benchmark runs."""

    def __init__(self):
        self.samples = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.wait(10):
            self.samples.append(os.getloadavg()[0])

    def close(self):
        self._stop.set()
        return {"load_min": min(self.samples), "load_median": statistics.median(self.samples),
                "load_max": max(self.samples)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--configurations", type=int, default=27, help="N, per tool and seed (27)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--eta", type=int, default=3, help="the reduction factor, for every tool (3)")
    parser.add_argument("--quick", action="store_true", help="2 seeds, 9 configurations, the MLP task only")
    parser.add_argument("--conditional", action="store_true", help="measure conditional against flattened instead")
    parser.add_argument("--evaluations", type=int, default=30, help="with --conditional: evaluations per search")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "fidelity.json"))
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.configurations, args.tasks = 2, 9, ["mlp"]
    import optuna
    import sklearn

    load = LoadSampler()
    started = time.strftime("%Y-%m-%d %H:%M")
    if args.conditional:
        rows = run_conditional(args)
        report = {"conditional": rows}
    else:
        rows = run_fidelity(args)
        table = summarize(rows, args.configurations)
        report = {"runs": rows, "table": table}
        print(markdown(table))
    report.update(started=started, machine=f"{platform.machine()}, {os.cpu_count()} cores", python=platform.python_version(),
                  sklearn=sklearn.__version__, optuna=optuna.__version__, seeds=args.seeds,
                  configurations=args.configurations, jobs=args.jobs, eta=args.eta, **load.close())
    out = args.out if not args.conditional else args.out.replace(".json", "_conditional.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as handle:
        json.dump(report, handle, indent=1)
    print(json.dumps({k: v for k, v in report.items() if k not in ("runs", "table", "conditional")}))


if __name__ == "__main__":
    main()
