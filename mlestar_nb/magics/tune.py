"""%%mlestar_tune: parse the line, check the cell once, call `tune()`."""
import ast
import hashlib
import json

from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..cell import CellObjective, analyse_cell, check_cell
from ..errors import ConfigError
from ..executors import BACKENDS
from ..space import parse_space, space_to_json
from ..strategies import STRATEGIES, SURROGATES
from .common import extract_inline_dict, parse_line, resolve_names, usage_errors


@magics_class
class TuneMagics(Magics):
    @magic_arguments()
    @argument("--space", metavar="SPACE", help="the search space: a dict variable's name, or a dict written "
              "inline, e.g. {'alpha': (1e-4, 1.0, 'log-uniform'), 'depth': [2, 4, 8]}. (low, high) of ints is "
              "an integer range, of floats a real range, a third item the prior ('uniform', 'log-uniform'); "
              "a list is categorical; skopt Dimensions are taken as they are.")
    @argument("--trials", type=int, default=30, metavar="N", help="trial budget, resumed trials included (30)")
    @argument("--minimize", action="store_true", help="lower scores are better (default: maximize)")
    @argument("--strategy", default="auto", choices=STRATEGIES,
              help="auto (grid when the space is all discrete and its grid fits the budget, else bayes), "
              "bayes, random or grid")
    @argument("--surrogate", default="GP", type=str.upper, choices=SURROGATES,
              help="surrogate model of the bayes strategy (GP)")
    @argument("--initial", type=int, metavar="N", help="random points before the surrogate takes over")
    @argument("--start", metavar="VAR", help="evaluate these parameters first: a variable holding a dict (or a "
              "list of dicts) with one value per name of the space, e.g. the settings you use today")
    @argument("--jobs", type=int, metavar="N",
              help="parallel workers (default: all cores; with dask, every worker thread of the cluster)")
    @argument("--backend", default="loky", choices=BACKENDS,
              help="loky worker processes (default), threads, sequential in the kernel, or dask (a Dask "
              "cluster; see --scheduler; needs pip install \"mlestar-nb[dask]\")")
    @argument("--scheduler", metavar="ADDRESS",
              help="with --backend dask: the scheduler to run trials on, e.g. tcp://10.0.0.5:8786 (waits up to "
              "distributed.comm.timeouts.connect). Default: the kernel's active distributed.Client, else a "
              "LocalCluster on 127.0.0.1 with one process worker per core (or --jobs), for this run only")
    @argument("--timeout", type=float, metavar="S", help="start no trial after S seconds")
    @argument("--trial-timeout", type=float, metavar="S",
              help="stop a single trial after S seconds (state 'timeout'); the search goes on")
    @argument("--trial-memory", metavar="SIZE",
              help="stop a single trial that grows its worker by more than SIZE (e.g. 500MB, 2GB)")
    @argument("--patience", type=int, metavar="N", help="stop after N completed trials without improvement")
    @argument("--target", type=float, metavar="V", help="stop once the best score reaches V")
    @argument("--seed", type=int, metavar="N", help="random seed; makes a one-worker run reproducible")
    @argument("--name", metavar="NAME", help="journal name: trials go to .mlestar/NAME.jsonl "
              "(default: derived from the cell and space)")
    @argument("--resume", action="store_true", help="continue the journal of --name up to --trials")
    @argument("--out", metavar="VAR", help="also store the result in variable VAR")
    @argument("--apply", action="store_true",
              help="afterwards run the cell once in the notebook with the best parameters")
    @argument("--quiet", action="store_true", help="show nothing until the final result")
    @argument("--view", default="auto", choices=("auto", "widget", "text"),
              help="live view: auto (the widget panel in a notebook, a text line in a terminal), widget or text")
    @argument("--data", nargs=2, metavar=("X", "y"),
              help="when the cell ends with an unfitted estimator: cross-validate it on these variables")
    @argument("--cv", type=int, default=5, metavar="K", help="folds for --data (5)")
    @argument("--scoring", metavar="S", help="scikit-learn scorer name for --data (default: the estimator's)")
    @argument("--objective", metavar="VAR", help="take the score from variable VAR instead of the last line")
    @cell_magic
    def mlestar_tune(self, line, cell):
        """Turn a cell that computes a score into a hyperparameter search.

        Each trial binds the sampled values to variables named like the space's
        keys (and the whole dict to `params`), runs the cell in a worker, and
        scores the value of its last expression: a number, a dict with 'score'
        and further metrics, or an unfitted scikit-learn estimator (with --data).
        The notebook's variables are left as they were, unless --apply is given.
        Returns a TuneResult (best_params, best_score, trials, to_frame(),
        plot_convergence()).

        Example::

            %%mlestar_tune --space {'C': (1e-3, 1e3, 'log-uniform')} --trials 40
            cross_val_score(SVC(C=C), X, y, cv=5).mean()
        """
        with usage_errors():
            line, inline_space = extract_inline_dict(line, "--space")
            args = parse_line(self.mlestar_tune, line)
            return self._tune(args, cell, inline_space)

    def _tune(self, args, cell, inline_space):
        from ..tuner import tune

        user_ns = self.shell.user_ns
        space = self._space(args.space, inline_space)
        dims = parse_space(space)
        source = _keep_line_numbers(cell, self.shell.transform_cell(cell))
        if "get_ipython()" in source and "get_ipython()" not in cell:
            raise ConfigError("the cell uses IPython syntax (% magics or ! commands), which workers cannot run; "
                              "move it to another cell")
        provided = list(dims) + ["params"]
        analysis = analyse_cell(source, provided=provided)
        shipped = check_cell(analysis, user_ns, provided=provided, objective_name=args.objective)
        data = None if args.data is None else tuple(resolve_names(user_ns, args.data, "--data"))
        start = None if args.start is None else resolve_names(user_ns, [args.start], "--start", "best_so_far")[0]
        for option, value in (("--out", args.out), ("--objective", args.objective)):
            if value is not None and not value.isidentifier():
                raise ConfigError(f"{option} {value!r} is not a valid variable name")
        objective = CellObjective(source, shipped, objective_name=args.objective)
        name = args.name or _cell_name(source, dims)
        result = tune(
            objective, space, trials=args.trials, minimize=args.minimize, strategy=args.strategy,
            surrogate=args.surrogate, initial=args.initial, start=start, jobs=args.jobs, backend=args.backend,
            scheduler=args.scheduler,
            timeout=args.timeout, patience=args.patience, target=args.target, seed=args.seed, name=name,
            resume=args.resume, data=data, cv=args.cv, scoring=args.scoring, trial_timeout=args.trial_timeout,
            trial_memory=args.trial_memory, progress=False if args.quiet else args.view,
        )
        if args.out:
            user_ns[args.out] = result
        if args.apply:
            self._apply(source, result)
        return result

    def _space(self, spec, inline_space):
        if inline_space is not None:
            try:
                return ast.literal_eval(inline_space)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                raise ConfigError(
                    f"the inline space {inline_space} is not a literal dict (only numbers, strings, tuples and "
                    "lists are allowed); define it in a variable and pass --space NAME"
                ) from None
        if spec is None:
            raise ConfigError("missing --space: name a dict variable or write one inline, "
                              "e.g. --space {'alpha': (0.01, 1.0)}")
        if not spec.isidentifier():
            raise ConfigError(f"--space {spec!r} is neither a variable name nor an inline dict {{...}}")
        if spec not in self.shell.user_ns:
            raise ConfigError(f"--space names '{spec}', which is not defined; define the dict in an earlier cell")
        return self.shell.user_ns[spec]

    def _apply(self, source, result):
        if result.best_params is None:
            print("--apply: no trial completed, so the notebook was left as it was")
            return
        user_ns = self.shell.user_ns
        user_ns.update(result.best_params)
        user_ns["params"] = dict(result.best_params)
        try:
            exec(compile(source, "<mlestar-apply>", "exec"), user_ns)
        except Exception as err:
            print(f"--apply: the cell raised {type(err).__name__}: {err} with the best parameters "
                  f"{result.best_params}")


def _keep_line_numbers(cell, source):
    """IPython drops a cell's leading blank lines; put them back so errors cite the lines the user sees."""
    dropped = (len(cell.splitlines()) - len(cell.lstrip().splitlines())) if cell.strip() else 0
    if dropped and not source.startswith("\n"):
        return "\n" * dropped + source
    return source


def _cell_name(source, dims):
    digest = hashlib.sha1((source + json.dumps(space_to_json(dims), sort_keys=True)).encode()).hexdigest()
    return f"tune-{digest[:8]}"
