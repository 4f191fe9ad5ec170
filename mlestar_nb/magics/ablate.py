"""%ablate (a pipeline) and %%ablate (a cell's component blocks): parse, check once, call `ablate()`."""
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..errors import ConfigError
from .common import (IN_KERNEL, check_identifiers, data_options, dict_option, extract_inline_dict, parse_line,
                     prepare_cell, resolve_names, result_options, run_options, store, usage_errors)


@magics_class
class AblateMagics(Magics):
    @magic_arguments()
    @argument("pipeline", nargs="?", metavar="PIPE", help="line form: the name of a scikit-learn Pipeline variable "
              "(nested Pipelines, ColumnTransformers and FeatureUnions included)")
    @argument("--repeats", type=int, default=3, metavar="N",
              help="repeat the cross-validation N times with a new shuffle (3); the cell form reruns the cell")
    @argument("--params", action="store_true",
              help="also reset, one at a time, each hyperparameter set away from its default")
    @argument("--features", metavar="GROUPS", help="also drop, one group at a time, the columns of a dict "
              "group -> columns (a variable's name, or written inline, e.g. {'noise': [5, 6, 7]})")
    @argument("--minimize", action="store_true",
              help="cell form: the cell's number is a loss (lower is better)")
    @data_options
    @run_options
    @result_options
    @line_cell_magic
    def ablate(self, line, cell=None):
        """Rank the components of a pipeline, or the blocks of a cell, by what removing each one costs.

        Line form, on a scikit-learn Pipeline: every step is knocked out in
        turn ('passthrough'; 'drop' in a FeatureUnion; the final estimator is
        replaced by a Dummy of the same task)::

            %ablate pipe --data X y --cv 5 --scoring roc_auc --repeats 3 [--params] [--features groups]

        Cell form: each ``if component("name"):`` block is switched off in
        turn. The last expression is the score: per-fold scores (they pair
        best; a KFold that shuffles gets a new shuffle per repeat), a number,
        or an unfitted estimator with --data X y (mlestar-nb then draws the
        paired folds itself)::

            %%ablate --repeats 3
            if component("scaling"):
                X = StandardScaler().fit_transform(X)
            cross_val_score(LogisticRegression(max_iter=500), X, y, cv=KFold(5, shuffle=True))

        All variants are scored on the same folds (paired), --repeats times
        with a new shuffle, every fit spread over the workers. The notebook's
        variables are left as they were (except --out). Returns an
        AblationResult: baseline, ranking (component, kind, score without it,
        delta, its 95 % interval, se, p-value, label high|medium|low|unclear|none|harmful),
        most_impactful, to_frame(), plot().
        """
        with usage_errors():
            line, inline_features = extract_inline_dict(line, "--features")
            args = parse_line(self.ablate, line)
            return self._ablate(args, cell, inline_features)

    def _ablate(self, args, cell, inline_features):
        from ..ablation.api import ablate

        user_ns = self.shell.user_ns
        check_identifiers(out=args.out)
        data = (None, None) if args.data is None else tuple(resolve_names(user_ns, args.data, "--data"))
        options = dict(cv=args.cv, scoring=args.scoring, repeats=args.repeats, seed=args.seed or 0, jobs=args.jobs,
                       backend=args.backend, scheduler=args.scheduler, progress=not args.quiet,
                       background=args.background)
        if cell is None:
            target = self._pipeline(args)
            features = dict_option(user_ns, "--features", args.features, inline_features, "group -> columns",
                                   "{'noise': [5, 6, 7]}")
            result = ablate(target, *data, params=args.params, features=features, minimize=args.minimize,
                            **options)
        else:
            if args.pipeline is not None:
                raise ConfigError(f"%%ablate ablates the cell's component() blocks and takes no pipeline "
                                  f"({args.pipeline!r}); for a pipeline use the line form: %ablate "
                                  f"{args.pipeline} --data X y")
            if args.params or args.features is not None or inline_features is not None:
                raise ConfigError("--params and --features ablate a pipeline (line form: %ablate pipe --data X y); "
                                  "in a cell, wrap each optional block in `if component('name'):`")
            blocks, names = self._cell(cell, args.data, isolate=args.backend in IN_KERNEL)
            result = ablate(blocks, *data, components=names, minimize=args.minimize, **options)
        return store(user_ns, args.out, result)

    def _pipeline(self, args):
        from sklearn.pipeline import Pipeline

        if args.pipeline is None:
            raise ConfigError("name the pipeline to ablate: %ablate pipe --data X y (or use %%ablate on a cell "
                              "with component('name') blocks)")
        name = args.pipeline
        if not name.isidentifier():
            raise ConfigError(f"{name!r} is not a variable name; name a Pipeline variable: %ablate pipe --data X y")
        if name not in self.shell.user_ns:
            raise ConfigError(f"name '{name}' is not defined; define the pipeline in an earlier cell")
        value = self.shell.user_ns[name]
        if not isinstance(value, Pipeline):
            raise ConfigError(f"'{name}' is a {type(value).__name__}, not a scikit-learn Pipeline; wrap it, e.g. "
                              f"make_pipeline(StandardScaler(), {name}), or ablate code with %%ablate")
        if args.data is None:
            raise ConfigError(f"missing --data: a pipeline is cross-validated, e.g. %ablate {name} --data X y")
        return value

    def _cell(self, cell, data_names, isolate):
        from ..ablation.blocks import CellBlocks, find_components
        from ..search.cell import check_cell

        source, analysis = prepare_cell(self.shell, cell, provided=("component",))
        names = find_components(source)
        if not analysis.has_result:
            raise ConfigError("the cell does not end with an expression, so it has no score; end it with the "
                              "score (e.g. cross_val_score(...).mean()), or with an unfitted estimator and --data X y")
        shipped = check_cell(analysis, self.shell.user_ns, provided=("component",),
                             shell_names=self.shell.user_ns_hidden)
        for name in data_names or ():
            shipped.setdefault(name, self.shell.user_ns[name])
        return CellBlocks(source, shipped, data_names=data_names, isolate=isolate), names
