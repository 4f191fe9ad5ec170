"""The cell form: find a cell's ``component("name")`` blocks, and run it with one of them off.

Blocks are found by reading the cell, before anything runs, so that every
variant is known up front and a typo is an error instead of a silent
no-op; hence names must be string literals.
"""
import ast

from ..search.cell import CELL_FILENAME, CellObjective
from ..components import component
from ..errors import ConfigError


def find_components(source):
    """The literal names of every ``component(...)`` call in the cell, in order of appearance."""
    tree = ast.parse(source, CELL_FILENAME)
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _names_component(node.func)):
            continue
        arg = node.args[0] if len(node.args) == 1 and not node.keywords else None
        if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value):
            raise ConfigError(f"component() on line {node.lineno} needs one literal name, e.g. "
                              "component('scaling'), so that the blocks are known before the cell runs")
        found.append((node.lineno, node.col_offset, arg.value))
    names = []
    for _, _, name in sorted(found):
        if name not in names:
            names.append(name)
    if not names:
        raise ConfigError("the cell has no blocks to ablate; wrap each optional block in "
                          "`if component('name'):` (from mlestar_nb import component)")
    return names


def _names_component(func):
    return (isinstance(func, ast.Name) and func.id == "component") or \
        (isinstance(func, ast.Attribute) and func.attr == "component")


class CellBlocks(CellObjective):
    """The cell as a picklable function of no arguments; `component` is bound to mlestar-nb's.

    ``run()`` returns the value of the last expression and, when `data_names`
    are given, the values those names have once the cell has run (the cell may
    have transformed X), else None.
    """

    def __init__(self, source, namespace, data_names=None, isolate=False):
        super().__init__(source, namespace, isolate=isolate)
        self.data_names = tuple(data_names) if data_names else None

    def run(self):
        body, final = self._code or self._compile()
        scope = self._scope()
        scope["component"] = component
        exec(body, scope)
        value = eval(final, scope) if final is not None else None
        data = tuple(scope[n] for n in self.data_names) if self.data_names else None
        return value, data

    def __call__(self):
        return self.run()[0]
