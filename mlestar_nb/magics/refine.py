"""%mlestar_refine: the MLE-STAR loop on a pipeline, from one line."""
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..errors import ConfigError
from .common import (check_identifiers, data_options, parse_line, resolve_names, result_options, run_options, store,
                     usage_errors)


@magics_class
class RefineMagics(Magics):
    @magic_arguments()
    @argument("pipe", nargs="?", help="the scikit-learn Pipeline to refine (optional with --candidates)")
    @argument("--rounds", type=int, default=4, metavar="T", help="outer rounds: ablate, refine, judge (4)")
    @argument("--trials", type=int, default=20, metavar="K", help="tuning trials per round (20)")
    @argument("--spaces", metavar="VAR", help="dict of step name -> search space, over the built-in defaults")
    @argument("--candidates", metavar="VAR", help="list of estimators or pipelines; the best by CV is the start")
    @argument("--ensemble", default="vote", choices=("none", "vote", "stack", "weights"),
              help="combine the best solutions of the rounds; kept only if it beats the best single one (vote)")
    @argument("--holdout", type=float, default=0.2, metavar="F",
              help="share of rows set aside, never seen by ablation or search, scored at the end (0.2)")
    @argument("--subsample", type=int, metavar="N", help="run the rounds on N rows; refit the final pipeline on all")
    @data_options
    @run_options
    @result_options
    @line_magic
    def mlestar_refine(self, line):
        """Refine a pipeline the MLE-STAR way: ablate it, tune its most impactful component, keep only
        improvements (paired folds), repeat, polish every step jointly in the last round, then ensemble;
        check the result on a holdout. Each search starts from the trials of the rounds before it.

        Returns a RefineResult (best_pipeline refit on all development rows, best_score, history, ensemble,
        holdout, plot()). The notebook's variables are left as they were, except --out.

        Example::

            %mlestar_refine pipe --data X y --rounds 3 --trials 15 --out refined
        """
        with usage_errors():
            args = parse_line(self.mlestar_refine, line)
            return self._refine(args)

    def _refine(self, args):
        from ..refinement import refine

        user_ns = self.shell.user_ns
        check_identifiers(out=args.out)
        if args.data is None:
            raise ConfigError("missing --data: name the features and the target, e.g. %mlestar_refine pipe "
                              "--data X y")
        X, y = resolve_names(user_ns, args.data, "--data")
        pipe = resolve_names(user_ns, [args.pipe], "the pipeline argument")[0] if args.pipe else None
        spaces = resolve_names(user_ns, [args.spaces], "--spaces")[0] if args.spaces else None
        candidates = resolve_names(user_ns, [args.candidates], "--candidates")[0] if args.candidates else None
        inputs = list(user_ns.get("In", []))
        result = refine(pipe, X, y, cv=args.cv, scoring=args.scoring, rounds=args.rounds, trials=args.trials,
                        spaces=spaces, candidates=candidates, ensemble=args.ensemble, holdout=args.holdout,
                        subsample=args.subsample, jobs=args.jobs, backend=args.backend, scheduler=args.scheduler,
                        seed=args.seed or 0,
                        progress=not args.quiet, history_inputs=inputs, x_name=args.data[0],
                        background=args.background)
        return store(user_ns, args.out, result)
