"""A notebook cell as an objective: checked once in the kernel, run in workers.

`analyse_cell` compiles the cell and finds the names it reads from the user's
namespace, so that workers receive those names and nothing else. `CellObjective`
is the picklable callable a worker runs: it binds a trial's parameters to
variables, executes the cell in a fresh namespace, and returns the value of the
last expression (or of ``--objective VAR``).
"""
import ast
import builtins
import contextlib
import copy
import symtable
from dataclasses import dataclass

from ..errors import ConfigError
from ..runs.envelope import CELL_FILENAME


@dataclass(frozen=True)
class CellAnalysis:
    source: str
    reads: tuple        # names the cell may read from outside (definitely or maybe)
    required: tuple     # names that must exist before the cell runs
    has_result: bool    # the cell ends with an expression


def analyse_cell(source, *, provided=()):
    """Compile the cell and list the outside names it reads.

    Scopes come from the compiler's own symbol table (`symtable`): which names
    the cell binds at its top level, which nested functions, lambdas, classes
    and comprehensions read from it, which they bind with ``global`` or ``:=``.
    Where in the cell each top-level read and binding happens comes from the
    syntax tree, in the order Python evaluates it, so that a name bound before
    it is read (an assignment, ``for``, ``with ... as``, ``except ... as``,
    ``:=``, an import, a ``match`` capture) is the cell's own, while
    ``X = X[:, :3]`` reads X from the notebook. A read is only *required* (an
    error when the notebook lacks the name) when nothing in the cell can have
    bound it first: reads in a loop that binds the name on an earlier pass, in
    a ``try`` that catches the error, or of a name a nested ``global`` binds,
    are shipped when the notebook has them and left to run otherwise.

    ``provided`` are names bound per trial (the space's keys, ``params``).
    Raises ConfigError on a syntax error.
    """
    try:
        tree = ast.parse(source, CELL_FILENAME)
        compile(tree, CELL_FILENAME, "exec")
    except SyntaxError as err:
        line = f" on line {err.lineno}" if err.lineno else ""
        if "await" in err.msg and "outside" in err.msg:
            raise ConfigError(f"the cell uses await at its top level{line}, which only IPython itself can run; "
                              "put the async code in a function and call asyncio.run(...) on it") from None
        raise ConfigError(f"the cell has a syntax error{line}: {err.msg}; fix it and run again") from None
    scopes = _Scopes(symtable.symtable(source, CELL_FILENAME, "exec"))
    events = _TopLevel()
    events.visit_body(tree.body)
    provided = set(provided)
    reads, required = [], []

    def note(name, must):
        if name in provided:
            return
        if name not in reads:
            reads.append(name)
        if must and name not in required and not events.star_import:
            required.append(name)

    for name, position, loops, protected in events.reads:
        if not scopes.read_at_top(name):
            continue  # the walk and the compiler disagree: trust the compiler
        bindings = events.bindings.get(name) or ([(0, -1)] if scopes.bound_at_top(name) and
                                                 name not in events.deleted_only else [])
        if any(bound < position for bound in bindings):
            continue  # the cell's own value by now
        carried = any(name in events.bound_in[loop] for loop in loops)
        note(name, not (carried or protected or name in scopes.bound_inside))
    for name in scopes.read_inside:
        # a function, class or comprehension reads it whenever it runs: required only if nothing binds it
        if not (name in events.bindings or scopes.bound_at_top(name) or name in scopes.bound_inside):
            note(name, True)
    builtin_names = set(dir(builtins))
    has_result = bool(tree.body) and isinstance(tree.body[-1], ast.Expr)
    return CellAnalysis(source=source, reads=tuple(reads),
                        required=tuple(n for n in required if n not in builtin_names), has_result=has_result)


class _Scopes:
    """What the compiler's symbol table says about the cell's top-level names."""

    def __init__(self, table):
        self.top = {symbol.get_name(): symbol for symbol in table.get_symbols()}
        self.read_inside = []       # globals read by nested scopes, in order of appearance
        self.bound_inside = set()   # globals bound by nested scopes (``global x; x = ...``, ``[y := ... ]``)
        self._visit(table)

    def _visit(self, table):
        for child in table.get_children():
            for symbol in child.get_symbols():
                if not symbol.is_global():
                    continue
                name = symbol.get_name()
                if symbol.is_assigned():
                    self.bound_inside.add(name)
                if symbol.is_referenced() and name not in self.read_inside:
                    self.read_inside.append(name)
            self._visit(child)

    def read_at_top(self, name):
        symbol = self.top.get(name)
        return symbol is not None and (symbol.is_referenced() or symbol.is_assigned())

    def bound_at_top(self, name):
        symbol = self.top.get(name)
        return symbol is not None and (symbol.is_assigned() or symbol.is_imported() or symbol.is_namespace())


class _TopLevel(ast.NodeVisitor):
    """The cell's top-level reads and bindings, each at the position where Python performs it.

    A binding's position is where the name gets its value: after the right-hand
    side of an assignment, after the iterable of a ``for``, after the context
    expression of a ``with``, at the end of a ``:=``. Bodies of functions,
    lambdas, classes and comprehensions are not entered (the symbol table
    covers them), except for what runs at definition time (decorators,
    defaults, annotations, bases, the first iterable) and for ``:=``, which
    binds in the cell even inside a comprehension.
    """

    def __init__(self):
        self.reads = []            # (name, position, enclosing top-level loops, inside a try with handlers)
        self.bindings = {}         # name -> positions
        self.bound_in = {}         # loop node -> names bound anywhere in it
        self.deleted_only = set()
        self.star_import = False
        self._loops = ()
        self._protected = False
        self._bind_at = None       # position of the binding a target gets, while visiting targets

    # -- events ------------------------------------------------------------------
    def _read(self, name, node):
        self.reads.append((name, (node.lineno, node.col_offset), self._loops, self._protected))

    def _bind(self, name, position):
        self.bindings.setdefault(name, []).append(position)
        for loop in self._loops:
            self.bound_in[loop].add(name)

    def visit_body(self, statements):
        for statement in statements:
            self.visit(statement)

    def _targets(self, targets, position):
        outer, self._bind_at = self._bind_at, position
        for target in targets:
            self.visit(target)
        self._bind_at = outer

    # -- names -----------------------------------------------------------------------
    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self._read(node.id, node)
        elif isinstance(node.ctx, ast.Del):
            self._read(node.id, node)   # del needs the name to exist
        else:
            self._bind(node.id, self._bind_at or _end(node))

    def visit_Attribute(self, node):   # ``obj.attr = ...`` reads obj
        self._reading(node.value)

    def visit_Subscript(self, node):   # ``X[0] = ...`` reads X and the index
        self._reading(node.value, node.slice)

    def _reading(self, *nodes):
        outer, self._bind_at = self._bind_at, None
        self._visit_all(nodes)
        self._bind_at = outer

    # -- statements that bind ------------------------------------------------------
    def visit_Assign(self, node):
        self.visit(node.value)
        self._targets(node.targets, _end(node))

    def visit_AnnAssign(self, node):
        self.visit(node.annotation)
        if node.value is not None:
            self.visit(node.value)
            self._targets([node.target], _end(node))
        elif not isinstance(node.target, ast.Name):
            self.visit(node.target)

    def visit_AugAssign(self, node):
        if isinstance(node.target, ast.Name):
            self._read(node.target.id, node.target)
        self.visit(node.value)
        self._targets([node.target], _end(node))

    def visit_NamedExpr(self, node):
        self.visit(node.value)
        self._bind(node.target.id, _end(node))

    def visit_Import(self, node):
        for alias in node.names:
            self._bind((alias.asname or alias.name).split(".")[0], _end(node))

    def visit_ImportFrom(self, node):
        for alias in node.names:
            if alias.name == "*":
                self.star_import = True
            else:
                self._bind(alias.asname or alias.name, _end(node))

    def visit_Delete(self, node):
        for target in node.targets:
            self.visit(target)
            if isinstance(target, ast.Name) and target.id not in self.bindings:
                self.deleted_only.add(target.id)

    def visit_For(self, node):
        self.visit(node.iter)
        with self._loop(node):
            self._targets([node.target], _end(node.iter))
            self.visit_body(node.body)
            self.visit_body(node.orelse)

    visit_AsyncFor = visit_For

    def visit_While(self, node):
        with self._loop(node):
            self.visit(node.test)
            self.visit_body(node.body)
            self.visit_body(node.orelse)

    def visit_With(self, node):
        for item in node.items:
            self.visit(item.context_expr)
            if item.optional_vars is not None:
                self._targets([item.optional_vars], _end(item.context_expr))
        self.visit_body(node.body)

    visit_AsyncWith = visit_With

    def visit_Try(self, node):
        outer = self._protected
        self._protected = outer or bool(node.handlers)
        self.visit_body(node.body)
        self._protected = outer
        for handler in node.handlers:
            if handler.type is not None:
                self.visit(handler.type)
            if handler.name:
                self._bind(handler.name, _end(handler.type) if handler.type is not None else _start(handler))
            self.visit_body(handler.body)
        self.visit_body(node.orelse)
        self.visit_body(node.finalbody)

    visit_TryStar = visit_Try

    def visit_Match(self, node):
        self.visit(node.subject)
        for case in node.cases:
            self.visit(case.pattern)
            if case.guard is not None:
                self.visit(case.guard)
            self.visit_body(case.body)

    def visit_MatchAs(self, node):
        if node.pattern is not None:
            self.visit(node.pattern)
        if node.name:
            self._bind(node.name, _start(node))

    def visit_MatchStar(self, node):
        if node.name:
            self._bind(node.name, _start(node))

    def visit_MatchMapping(self, node):
        self.generic_visit(node)
        if node.rest:
            self._bind(node.rest, _start(node))

    # -- scopes of their own: only what runs at definition time ---------------------
    def visit_FunctionDef(self, node):
        self._visit_all(node.decorator_list)
        self._arguments(node.args)
        self._visit_all([a.annotation for a in _all_args(node.args)] + [node.returns])
        self._bind(node.name, _end(node))

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self._visit_all(node.decorator_list + node.bases + [k.value for k in node.keywords])
        self._bind(node.name, _end(node))

    def visit_Lambda(self, node):
        self._arguments(node.args)

    def visit_ListComp(self, node):
        self.visit(node.generators[0].iter)
        for inner in ast.walk(node):   # ``:=`` in a comprehension binds in the cell
            if isinstance(inner, ast.NamedExpr):
                self._bind(inner.target.id, _end(inner))

    visit_SetComp = visit_DictComp = visit_GeneratorExp = visit_ListComp

    def _arguments(self, args):
        self._visit_all(args.defaults + args.kw_defaults)

    def _visit_all(self, nodes):
        for node in nodes:
            if node is not None:
                self.visit(node)

    @contextlib.contextmanager
    def _loop(self, node):
        outer = self._loops
        self.bound_in[node] = set()
        self._loops = outer + (node,)
        try:
            yield
        finally:
            self._loops = outer


def _all_args(args):
    return args.posonlyargs + args.args + args.kwonlyargs + [a for a in (args.vararg, args.kwarg) if a]


def _start(node):
    return node.lineno, node.col_offset


def _end(node):
    return node.end_lineno, node.end_col_offset


class CellObjective:
    """Runs the cell with one trial's parameters bound; picklable, compiled once per process.

    `isolate` is for backends that run the cell in the kernel itself
    (sequential, threads): each run then gets private stand-ins for the
    notebook's mutable objects (`private_copy`), so that a cell that edits its
    data or refits a model in place cannot change the notebook's, nor, on
    threads, another trial's. Worker processes get their own copies anyway.
    """

    def __init__(self, source, namespace, objective_name=None, isolate=False):
        self.source = source
        self.namespace = dict(namespace)
        self.objective_name = objective_name
        self.isolate = isolate
        self._code = None

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_code"] = None
        return state

    def _compile(self):
        tree = ast.parse(self.source, CELL_FILENAME)
        last = None
        if self.objective_name is None and tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        body = compile(tree, CELL_FILENAME, "exec")
        final = compile(last, CELL_FILENAME, "eval") if last is not None else None
        self._code = (body, final)
        return self._code

    def _scope(self):
        """A fresh namespace for one run of the cell."""
        scope = {name: private_copy(value) for name, value in self.namespace.items()} if self.isolate \
            else dict(self.namespace)
        if not hasattr(builtins, "display"):   # a worker has no IPython shell: display() prints, and is kept
            from IPython.display import display

            scope.setdefault("display", display)
        return scope

    def __call__(self, params):
        body, final = self._code or self._compile()
        scope = self._scope()
        scope.update(params)
        scope["params"] = dict(params)
        exec(body, scope)
        if self.objective_name is not None:
            if self.objective_name not in scope:
                raise NameError(f"the cell did not set the objective variable '{self.objective_name}'")
            return scope[self.objective_name]
        if final is None:
            return None
        return eval(final, scope)


def private_copy(value):
    """A stand-in for one of the notebook's objects that a cell run in the kernel can change freely.

    Arrays become read-only views (free; an in-place edit raises, as it does on
    a worker's memory-mapped copy); pandas objects shallow copies (free with
    copy-on-write); lists, dicts and sets shallow copies; estimators deep
    copies (a cell may refit them). Anything else is shared as it is.
    """
    import numpy as np

    if isinstance(value, np.ndarray):
        view = value.view()
        view.flags.writeable = False
        return view
    if type(value).__module__.split(".")[0] == "pandas" and hasattr(value, "copy"):
        return value.copy(deep=False)
    if isinstance(value, (list, dict, set, bytearray)):
        return copy.copy(value)
    if hasattr(value, "fit") and hasattr(value, "get_params"):
        return copy.deepcopy(value)
    return value


def check_cell(analysis, user_ns, *, provided=(), objective_name=None, shell_names=None,
               fix="define it in an earlier cell"):
    """Raise ConfigError naming the first undefined name; return the names to ship.

    A read of a builtin's name ships the notebook's value only when the user
    rebound it (``filter = SelectKBest(k=5)``); `shell_names` are the values
    IPython itself put in the namespace (``user_ns_hidden``: its ``open``,
    ``exit``), which stay home. `fix` ends the undefined-name message.
    """
    provided = set(provided)
    missing = [n for n in analysis.required if n not in user_ns and n not in provided]
    if missing:
        raise ConfigError(f"name '{missing[0]}' is not defined: the cell reads it but the notebook has no such "
                          f"variable; {fix}")
    if objective_name is None and not analysis.has_result:
        raise ConfigError(
            "the cell does not end with an expression, so it has no score; end it with the score "
            "(e.g. cross_val_score(...).mean()) or name a variable with --objective VAR"
        )
    shell_names = shell_names or {}
    shipped = {}
    for name in analysis.reads:
        if name not in user_ns:
            continue
        value = user_ns[name]
        if hasattr(builtins, name) and (value is getattr(builtins, name) or
                                        (name in shell_names and shell_names[name] is value)):
            continue
        shipped[name] = value
    return shipped
