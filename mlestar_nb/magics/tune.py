"""%%mlestar_tune: parse the line, check the cell once, call `tune()`."""
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..errors import ConfigError
from ..search.cell import CellObjective, check_cell
from ..search.conditional import optional_names
from ..search.fidelity import parse_fidelity_text
from ..search.space import parse_space
from ..search.strategies import STRATEGIES, SURROGATES
from .common import (IN_KERNEL, check_identifiers, data_options, dict_option, extract_inline_dict, parse_line,
                     prepare_cell, resolve_names, result_options, run_options, store, unquoted, usage_errors)


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
    @argument("--timeout", type=float, metavar="S", help="start no trial after S seconds")
    @argument("--trial-timeout", type=float, metavar="S",
              help="stop a single trial after S seconds (state 'timeout'); the search goes on")
    @argument("--trial-memory", metavar="SIZE",
              help="stop a single trial that grows its worker by more than SIZE (e.g. 500MB, 2GB)")
    @argument("--patience", type=int, metavar="N", help="stop after N completed trials without improvement")
    @argument("--target", type=float, metavar="V", help="stop once the best score reaches V")
    @argument("--name", metavar="NAME", help="journal name: trials go to .mlestar/NAME.jsonl "
              "(default: derived from the cell and space)")
    @argument("--resume", action="store_true", help="continue the journal of --name up to --trials (refused when "
              "the cell or its data's shapes changed since the journal began)")
    @argument("--force", action="store_true", help="with --resume: continue even though the cell or its data "
              "changed (the journal then mixes both objectives' scores)")
    @argument("--fidelity", metavar="NAME=LOW..HIGH", help="a progressive budget (asynchronous successive halving): "
              "each trial binds NAME to its rung's budget (e.g. epochs=3..81, n_samples=0.1..1.0); configurations "
              "in the top 1/eta of a rung go on to the next; only full-budget trials can be the best; a cell that "
              "reads `previous` continues from its configuration's last rung (docs/architecture_search.md)")
    @argument("--eta", type=float, metavar="ETA", help="with --fidelity: the reduction factor between rungs (3)")
    @argument("--budget-total", type=float, metavar="B",
              help="with --fidelity: start no trial that would take the budget spent past B")
    @argument("--journal-dir", metavar="DIR",
              help="folder of the journals (default: .mlestar, in the working directory)")
    @argument("--no-journal", action="store_true",
              help="keep no journal (nothing to --resume; for a read-only folder, or a throwaway run)")
    @data_options
    @argument("--objective", metavar="VAR", help="take the score from variable VAR instead of the last line")
    @argument("--objectives", metavar="NAME:max|min,...", help="several objectives, e.g. \"score:max,predict_ms:min\": "
              "the cell returns a dict holding each, or an unfitted estimator (with --data), for which the worker "
              "also measures fit_s, predict_ms and size_kb. The result has pareto, hypervolume, select(rule), "
              "plot_pareto()")
    @argument("--constraint", action="append", metavar="EXPR", help="NAME<=V or NAME>=V (repeatable): trials "
              "that break it are kept, marked infeasible, never on the front; alone, it constrains the score")
    @argument("--select", metavar="RULE", help="with --objectives, the trial best_params, --apply and save() take "
              "from the front: knee (default), cheapest_within=0.01 (the cheapest within 0.01 of the best score), "
              "weights=score:2,predict_ms:1")
    @run_options
    @result_options
    @argument("--apply", action="store_true",
              help="afterwards run the cell once in the notebook with the best parameters")
    @argument("--view", default="auto", choices=("auto", "widget", "text"),
              help="live view: auto (the widget panel in a notebook, a text line in a terminal), widget or text")
    @argument("--show-output", action="store_true", help="show what each trial prints as it ends (its last "
              "lines); without it, printed output is only kept on the trial (trial.output)")
    @cell_magic
    def mlestar_tune(self, line, cell):
        """Turn a cell that computes a score into a hyperparameter search.

        Each trial binds the sampled values to variables named like the space's
        keys (and the whole dict to `params`), runs the cell in a worker, and
        scores the value of its last expression: a number, a dict with 'score'
        and further metrics, or an unfitted scikit-learn estimator (with --data).
        The notebook's variables are left as they were, unless --apply is given.
        Returns a TuneResult (best_params, best_score, trials, to_frame(),
        plot_convergence()); with --objectives also pareto, hypervolume,
        select(rule) and plot_pareto() (docs/multiobjective.md).

        Example::

            %%mlestar_tune --space {'C': (1e-3, 1e3, 'log-uniform')} --trials 40
            cross_val_score(SVC(C=C), X, y, cv=5).mean()
        """
        with usage_errors():
            line, inline_space = extract_inline_dict(line, "--space")
            args = parse_line(self.mlestar_tune, line)
            return self._tune(args, cell, inline_space)

    def _tune(self, args, cell, inline_space):
        from ..search.tuner import default_name, tune

        user_ns = self.shell.user_ns
        check_identifiers(out=args.out, objective=args.objective)
        if args.background and args.apply:
            raise ConfigError("--apply runs the cell in the notebook when the search ends, which a background run "
                              "cannot do behind your back; drop --apply, and when run.result() is ready, set the "
                              "variables from its best_params yourself")
        space = dict_option(user_ns, "--space", args.space, inline_space, "name -> range",
                            "{'alpha': (0.01, 1.0)}")
        if space is None:
            raise ConfigError("missing --space: name a dict variable or write one inline, "
                              "e.g. --space {'alpha': (0.01, 1.0)}")
        dims = parse_space(space)
        fidelity = None if args.fidelity is None else parse_fidelity_text(args.fidelity)
        defaults = optional_names(dims, fidelity)
        provided = list(dims) + ["params"] + list(fidelity or ()) + list(defaults)
        source, analysis = prepare_cell(self.shell, cell, provided)
        shipped = check_cell(analysis, user_ns, provided=provided, objective_name=args.objective,
                             shell_names=self.shell.user_ns_hidden,
                             fix="define it in an earlier cell or add it to the space")
        data = None if args.data is None else tuple(resolve_names(user_ns, args.data, "--data"))
        start = None if args.start is None else resolve_names(user_ns, [args.start], "--start", "best_so_far")[0]
        objective = CellObjective(source, shipped, objective_name=args.objective, isolate=args.backend in IN_KERNEL,
                                  defaults=defaults)
        result = tune(
            objective, space, trials=args.trials, minimize=args.minimize, strategy=args.strategy,
            surrogate=args.surrogate, initial=args.initial, start=start, jobs=args.jobs, backend=args.backend,
            scheduler=args.scheduler, timeout=args.timeout, patience=args.patience, target=args.target,
            seed=args.seed, name=args.name or default_name(objective, dims), resume=args.resume, force=args.force,
            journal=not args.no_journal, journal_dir=args.journal_dir, data=data, cv=args.cv, scoring=args.scoring,
            trial_timeout=args.trial_timeout, trial_memory=args.trial_memory,
            progress=False if args.quiet else args.view, show_output=args.show_output, background=args.background,
            objectives=unquoted(args.objectives), constraints=unquoted(args.constraint or []),
            select=unquoted(args.select), fidelity=fidelity, eta=args.eta, budget_total=args.budget_total,
        )
        store(user_ns, args.out, result)
        if args.apply:
            self._apply(source, result, {k: v for k, v in defaults.items()
                                         if not k.startswith("previous") or objective.reads_previous})
        return result

    def _apply(self, source, result, defaults):
        if result.best_params is None:
            print("--apply: no trial completed" + (" with every constraint met" if result.objectives else "")
                  + ", so the notebook was left as it was")
            return
        user_ns = self.shell.user_ns
        user_ns.update(defaults)        # a conditional parameter the best trial lacks is None, as in the trials
        user_ns.update(result.best_params)
        user_ns["params"] = dict(result.best_params)
        try:
            exec(compile(source, "<mlestar-apply>", "exec"), user_ns)
        except Exception as err:
            print(f"--apply: the cell raised {type(err).__name__}: {err} with the best parameters "
                  f"{result.best_params}")
