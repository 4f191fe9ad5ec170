"""Adapters that run the same minimization with each tool a user might pick instead of mlestar_nb.

Every adapter takes a loss function `f(params) -> float`, a space in mlestar_nb's
shorthand (real ranges with an optional prior, integer ranges, lists), a trial
budget, a number of parallel jobs and a seed, and returns a list of
(finished_at_seconds, loss) in finishing order, so that every tool is measured
the same way: best-so-far curves, time to target, wall time.
"""
import math
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator


# -- the space, translated for each tool -------------------------------------
def _dims(space):
    from mlestar_nb.search.space import parse_space

    return parse_space(space)


def optuna_suggest(trial, space):
    params = {}
    for name, spec in space.items():
        if isinstance(spec, list):
            params[name] = trial.suggest_categorical(name, spec)
        elif isinstance(spec[0], int) and isinstance(spec[1], int):
            params[name] = trial.suggest_int(name, spec[0], spec[1], log=len(spec) > 2 and spec[2] == "log-uniform")
        else:
            params[name] = trial.suggest_float(name, spec[0], spec[1], log=len(spec) > 2 and spec[2] == "log-uniform")
    return params


def scipy_distributions(space):
    from scipy import stats

    out = {}
    for name, spec in space.items():
        if isinstance(spec, list):
            out[name] = spec
        elif isinstance(spec[0], int) and isinstance(spec[1], int):
            out[name] = stats.randint(spec[0], spec[1] + 1)
        elif len(spec) > 2 and spec[2] == "log-uniform":
            out[name] = stats.loguniform(spec[0], spec[1])
        else:
            out[name] = stats.uniform(spec[0], spec[1] - spec[0])
    return out


# -- the runs --------------------------------------------------------------------
def run_mlestar(f, space, trials, jobs, seed, strategy="bayes"):
    import mlestar_nb

    clock = time.time()
    backend = "sequential" if jobs == 1 else "loky"
    result = mlestar_nb.tune(f, space, trials=trials, jobs=jobs, backend=backend, strategy=strategy, seed=seed,
                             minimize=True, journal=False, progress=False)
    done = sorted((t for t in result.trials if t.state == "complete"), key=lambda t: t.end)
    return [(t.end - clock, t.value) for t in done]


def run_optuna(f, space, trials, jobs, seed):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.TPESampler(seed=seed))
    clock = time.time()
    study.optimize(lambda trial: f(optuna_suggest(trial, space)), n_trials=trials, n_jobs=jobs)
    done = sorted((t for t in study.trials if t.value is not None), key=lambda t: t.datetime_complete)
    return [(t.datetime_complete.timestamp() - clock, t.value) for t in done]


def run_skopt_gp(f, space, trials, jobs, seed):
    """scikit-optimize's Optimizer, ask/tell; with several jobs, batches of ask(n_points=jobs) on joblib."""
    from joblib import Parallel, delayed
    from skopt import Optimizer

    dims = list(_dims(space).values())
    names = list(space)
    optimizer = Optimizer(dims, base_estimator="GP", random_state=seed, n_initial_points=10)
    clock = time.time()
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        while len(out) < trials:
            batch = min(jobs, trials - len(out))
            points = optimizer.ask(n_points=batch) if batch > 1 else [optimizer.ask()]
            params = [dict(zip(names, [v.item() if hasattr(v, "item") else v for v in p])) for p in points]
            if jobs == 1:
                losses = [f(params[0])]
            else:
                losses = Parallel(n_jobs=jobs)(delayed(f)(p) for p in params)
            optimizer.tell(points, losses)
            now = time.time() - clock
            out.extend((now, loss) for loss in losses)
    return out


class FunctionEstimator(BaseEstimator):
    """Wraps a loss function as a scikit-learn estimator, so that the sklearn-style searches can run it.

    One CV split over two dummy rows: each candidate costs exactly one evaluation of the function.
    """

    def __init__(self, f=None, names=(), **params):
        self.f = f
        self.names = tuple(names)
        self.params = params

    def get_params(self, deep=True):
        return {"f": self.f, "names": self.names, **self.params}

    def set_params(self, **params):
        for key in ("f", "names"):
            if key in params:
                setattr(self, key, params.pop(key))
        self.params.update(params)
        return self

    def fit(self, X, y=None):
        self.loss_ = self.f({n: self.params[n] for n in self.names})
        return self

    def score(self, X, y=None):
        return -self.loss_


def _sklearn_search_cv(kind, f, space, trials, jobs, seed):
    from sklearn.model_selection import RandomizedSearchCV

    X = np.zeros((2, 1))
    estimator = FunctionEstimator(f=f, names=list(space), **{n: None for n in space})
    split = [(np.array([0, 1]), np.array([0, 1]))]
    clock = time.time()
    ends = []
    if kind == "bayes":
        from skopt import BayesSearchCV

        search = BayesSearchCV(estimator, dict(_dims(space)), n_iter=trials, cv=split, n_jobs=jobs,
                               n_points=jobs, random_state=seed, refit=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search.fit(X, callback=lambda result: ends.append(time.time() - clock) or False)
        losses = [-s for s in search.cv_results_["mean_test_score"]]
        # BayesSearchCV reports after each batch of n_points candidates
        times = [ends[min(i // jobs, len(ends) - 1)] for i in range(len(losses))]
    else:
        search = RandomizedSearchCV(estimator, scipy_distributions(space), n_iter=trials, cv=split, n_jobs=jobs,
                                    random_state=seed, refit=False)
        search.fit(X)
        losses = [-s for s in search.cv_results_["mean_test_score"]]
        times = [time.time() - clock] * len(losses)  # results exist only when the whole search returns
    return list(zip(times, losses))


def run_bayes_search_cv(f, space, trials, jobs, seed):
    return _sklearn_search_cv("bayes", f, space, trials, jobs, seed)


def run_randomized_search_cv(f, space, trials, jobs, seed):
    return _sklearn_search_cv("random", f, space, trials, jobs, seed)


TOOLS = {
    "mlestar bayes": lambda *a: run_mlestar(*a, strategy="bayes"),
    "mlestar random": lambda *a: run_mlestar(*a, strategy="random"),
    "Optuna TPE": run_optuna,
    "skopt GP (ask/tell)": run_skopt_gp,
    "skopt BayesSearchCV": run_bayes_search_cv,
    "RandomizedSearchCV": run_randomized_search_cv,
}


def best_so_far(curve):
    best, out = math.inf, []
    for _, loss in curve:
        best = min(best, loss)
        out.append(best)
    return out
