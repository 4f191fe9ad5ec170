"""A notebook cell as an objective: checked once in the kernel, run in workers.

`analyse_cell` compiles the cell and finds the names it reads from the user's
namespace, so that workers receive those names and nothing else. `CellObjective`
is the picklable callable a worker runs: it binds a trial's parameters to
variables, executes the cell in a fresh namespace, and returns the value of the
last expression (or of ``--objective VAR``).
"""
import ast
import collections
import builtins
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

    ``provided`` are names bound per trial (the space's keys, ``params``).
    Raises ConfigError on a syntax error.
    """
    try:
        tree = ast.parse(source, CELL_FILENAME)
        compile(tree, CELL_FILENAME, "exec")
    except SyntaxError as err:
        line = f" on line {err.lineno}" if err.lineno else ""
        raise ConfigError(f"the cell has a syntax error{line}: {err.msg}; fix it and run again") from None
    provided = set(provided)
    definite = set()
    maybe = set()
    required = []
    reads = []
    for stmt in tree.body:
        for name in _loads(stmt):
            if name in definite or name in provided:
                continue
            if name not in reads:
                reads.append(name)
            if name not in maybe and name not in required:
                required.append(name)
        stores = _stores(stmt)
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Import, ast.ImportFrom,
                             ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Expr)):
            definite |= stores
        else:
            maybe |= stores
    for name in _nested_globals(source):
        if name not in definite and name not in provided and name not in reads:
            reads.append(name)
            if name not in maybe:
                required.append(name)
    builtin_names = set(dir(builtins))
    required = tuple(n for n in required if n not in builtin_names)
    reads = tuple(n for n in reads if n not in builtin_names or n in required)
    has_result = bool(tree.body) and isinstance(tree.body[-1], ast.Expr)
    return CellAnalysis(source=source, reads=reads, required=required, has_result=has_result)


def _loads(stmt):
    """Names read at module level by one statement, not counting nested scopes."""
    names = []
    for node in _walk_module_scope(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.append(node.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            names.append(node.target.id)
    return names


def _stores(stmt):
    names = set()
    for node in _walk_module_scope(stmt):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
           ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _walk_module_scope(stmt):
    """Like ast.walk, but does not enter function, class, lambda or comprehension bodies
    (their decorators, defaults and first iterable still run at module level)."""
    todo = collections.deque([stmt])
    while todo:
        node = todo.popleft()
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            todo.extend(node.decorator_list)
            todo.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
        elif isinstance(node, ast.ClassDef):
            todo.extend(node.decorator_list + node.bases + [k.value for k in node.keywords])
        elif isinstance(node, ast.Lambda):
            todo.extend(d for d in node.args.defaults + node.args.kw_defaults if d is not None)
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            todo.append(node.generators[0].iter)
        else:
            todo.extend(ast.iter_child_nodes(node))


def _nested_globals(source):
    """Global names read inside functions, lambdas, classes and comprehensions of the cell."""
    found = []

    def visit(table):
        for child in table.get_children():
            for symbol in child.get_symbols():
                if symbol.is_referenced() and symbol.is_global() and not symbol.is_assigned():
                    if symbol.get_name() not in found:
                        found.append(symbol.get_name())
            visit(child)

    visit(symtable.symtable(source, CELL_FILENAME, "exec"))
    return found


class CellObjective:
    """Runs the cell with one trial's parameters bound; picklable, compiled once per process."""

    def __init__(self, source, namespace, objective_name=None):
        self.source = source
        self.namespace = dict(namespace)
        self.objective_name = objective_name
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

    def __call__(self, params):
        body, final = self._code or self._compile()
        scope = dict(self.namespace)
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


def check_cell(analysis, user_ns, *, provided=(), objective_name=None):
    """Raise ConfigError naming the first undefined name; return the names to ship."""
    provided = set(provided)
    missing = [n for n in analysis.required if n not in user_ns and n not in provided]
    if missing:
        raise ConfigError(
            f"name '{missing[0]}' is not defined: the cell reads it but the notebook has no such variable; "
            "define it in an earlier cell or add it to the space"
        )
    if objective_name is None and not analysis.has_result:
        raise ConfigError(
            "the cell does not end with an expression, so it has no score; end it with the score "
            "(e.g. cross_val_score(...).mean()) or name a variable with --objective VAR"
        )
    return {n: user_ns[n] for n in analysis.reads if n in user_ns}
