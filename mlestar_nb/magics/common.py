"""What every magic shares: the common options, line parsing, cells, inline dicts, --out, one-line errors.

Each option that several magics take is one `argument` object here, decorating
each of them (IPython's `magic_arguments` allows it), so its name, type and
help are written once. Every user error is raised as IPython's plain
`UsageError`, which prints as a single line (a subclass would print a full
traceback).
"""
import ast
import contextlib

from IPython.core.error import UsageError
from IPython.core.magic_arguments import argument, argument_group, parse_argstring

from ..errors import ConfigError
from ..executors import BACKENDS
from ..search.cell import analyse_cell

INLINE_PLACEHOLDER = "__mlestar_inline__"
IN_KERNEL = ("sequential", "threads")   # backends that run the cell in the kernel, on the notebook's own objects

# -- the options several magics take, one object each -------------------------------------------
DATA_GROUP = argument_group("data and scoring")
DATA = argument("--data", nargs=2, metavar=("X", "y"),
                help="the variables holding the features and the target, to cross-validate on (X and y are read "
                     "from the notebook when the magic starts)")
CV = argument("--cv", type=int, default=5, metavar="K", help="cross-validation folds (5)")
SCORING = argument("--scoring", metavar="S",
                   help="scikit-learn scorer name, e.g. roc_auc or neg_mean_squared_error (default: the "
                        "estimator's own: accuracy or r2)")
SEED = argument("--seed", type=int, metavar="N", help="random seed: folds, shuffles and searches; each task also "
                "seeds random and numpy.random from it")

RUN_GROUP = argument_group("where it runs")
JOBS = argument("--jobs", type=int, metavar="N",
                help="parallel workers (default: all cores; with dask, every worker thread of the cluster)")
BACKEND = argument("--backend", default="loky", choices=BACKENDS,
                   help="loky worker processes (default), threads, sequential in the kernel, or dask (a Dask "
                        "cluster, see --scheduler; needs pip install \"mlestar-nb[dask]\")")
SCHEDULER = argument("--scheduler", metavar="ADDRESS",
                     help="with --backend dask: the scheduler, e.g. tcp://10.0.0.5:8786 (waits up to "
                          "distributed.comm.timeouts.connect). Default: the kernel's active distributed.Client, "
                          "else a LocalCluster on 127.0.0.1 with one process worker per core (or --jobs), for "
                          "this run only")

RESULT_GROUP = argument_group("result and display")
OUT = argument("--out", metavar="VAR", help="also store the result in variable VAR")
QUIET = argument("--quiet", action="store_true", help="show nothing until the result")
BACKGROUND = argument("--background", action="store_true",
                      help="run beside the notebook: the cell returns a run handle at once (store it with --out) "
                           "and you keep working; the panel's Stop, Pause and +N buttons, or run.stop(), "
                           "run.pause(), run.extend(n), steer it; run.result() waits for the result; "
                           "%%mlestar_runs lists runs and %%mlestar_stop stops them")




def options(*decorators):
    """Several shared options as one decorator, in the order written (a group first: it takes what follows)."""
    def decorate(func):
        for decorator in reversed(decorators):
            func = decorator(func)
        return func
    return decorate


data_options = options(DATA_GROUP, DATA, CV, SCORING, SEED)
run_options = options(RUN_GROUP, JOBS, BACKEND, SCHEDULER)
result_options = options(RESULT_GROUP, OUT, QUIET, BACKGROUND)


# -- errors and parsing ---------------------------------------------------------------------------
@contextlib.contextmanager
def usage_errors():
    """Turn the library's ConfigError into a plain UsageError."""
    try:
        yield
    except ConfigError as err:
        raise UsageError(str(err)) from None


def parse_line(magic, line):
    """The magic's options; a value written in quotes (--name 'my run') loses them, as in a shell."""
    try:
        args = parse_argstring(magic, line)
    except ValueError as err:  # shlex: "No closing quotation", "No escaped character"
        raise ConfigError(f"cannot read the options ({err}); close every quote in the magic's line") from None
    for option, value in vars(args).items():
        setattr(args, option, [_unquote(v) for v in value] if isinstance(value, list) else _unquote(value))
    return args


def _unquote(value):
    """IPython's argument splitter keeps quotes around a value; take one matching pair off."""
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def resolve_names(user_ns, names, option, example="X y"):
    """The values of variables named on the magic's line, or a ConfigError naming the missing one."""
    missing = [n for n in names if n not in user_ns]
    if missing:
        raise ConfigError(f"{option} names '{missing[0]}', which is not defined; pass variables defined in the "
                          f"notebook, e.g. {option} {example}")
    return [user_ns[n] for n in names]


def check_identifiers(**options):
    """Options that name a variable (--out, --objective) must be names a cell could use."""
    for option, value in options.items():
        if value is not None and (not value.isidentifier() or __import__("keyword").iskeyword(value)):
            raise ConfigError(f"--{option} {value!r} is not a valid variable name")


def store(user_ns, name, result):
    """--out VAR: the result goes into the notebook under that name, and nowhere else."""
    if name:
        user_ns[name] = result
    return result


# -- dicts given inline or by name ---------------------------------------------------------------------
def extract_inline_dict(line, marker):
    """Cut an inline ``MARKER {...}`` dict out of the line before shell-style splitting mangles its quotes.

    Returns the line with a placeholder in its place, and the dict's text (or None).
    """
    at = line.find(marker)
    if at < 0:
        return line, None
    start = at + len(marker)
    while start < len(line) and line[start] in " =\t":
        start += 1
    if start >= len(line) or line[start] != "{":
        return line, None
    depth, quote, i = 0, None, start
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
            if depth == 0:
                break
        i += 1
    if depth != 0 or i >= len(line):
        raise ConfigError(f"the inline {marker} has unbalanced brackets or quotes; close every {{, [, ( and quote")
    return line[:at] + f"{marker} {INLINE_PLACEHOLDER}" + line[i + 1:], line[start:i + 1]


def dict_option(user_ns, option, spec, inline, what, example):
    """The value of an option that takes a dict: written inline (read with ast.literal_eval) or a variable's name.

    `what` says what the dict maps, e.g. "name -> range"; `example` is an inline example.
    """
    if inline is not None:
        try:
            return ast.literal_eval(inline)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise ConfigError(f"the inline {option} {inline} is not a literal dict of {what} (only numbers, "
                              f"strings, tuples, lists and dicts are allowed); define it in a variable and pass "
                              f"{option} NAME") from None
    if spec is None:
        return None
    if not spec.isidentifier():
        raise ConfigError(f"{option} {spec!r} is neither a variable name nor an inline dict {{...}}")
    if spec not in user_ns:
        raise ConfigError(f"{option} names '{spec}', which is not defined; define the dict of {what} in an "
                          f"earlier cell, or write it inline, e.g. {option} {example}")
    return user_ns[spec]


# -- cells ---------------------------------------------------------------------------------------------------
def prepare_cell(shell, cell, provided):
    """The cell as Python the workers can run, and its analysis (names it reads, whether it ends with a value).

    IPython's transformations are applied; a cell that needs IPython itself (% magics, ! commands) is refused,
    since workers have no shell.
    """
    source = keep_line_numbers(cell, shell.transform_cell(cell))
    if "get_ipython()" in source and "get_ipython()" not in cell:
        raise ConfigError("the cell uses IPython syntax (% magics or ! commands), which workers cannot run; "
                          "move it to another cell")
    return source, analyse_cell(source, provided=provided)


def keep_line_numbers(cell, source):
    """IPython drops a cell's leading blank lines; put them back so errors cite the lines the user sees."""
    dropped = (len(cell.splitlines()) - len(cell.lstrip().splitlines())) if cell.strip() else 0
    if dropped and not source.startswith("\n"):
        return "\n" * dropped + source
    return source


def unquoted(value):
    """An option's text without the quotes around it: IPython splits a magic's line keeping them
    (``--objectives "score:max,predict_ms:min"`` gives the quotes too)."""
    if isinstance(value, list):
        return [unquoted(v) for v in value]
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
