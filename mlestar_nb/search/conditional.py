"""Conditional and per-layer dimensions: an architecture written inside the space dict.

Two forms of value, besides skopt's shorthand (space.py), and they nest:

- ``{"when": "solver == 'sgd'", "space": (0.5, 0.99)}``: the parameter exists
  only when the condition holds; otherwise the cell sees it as None and it is
  absent from `params`. A condition compares parameters with literals (``==``,
  ``!=``, ``<``, ``<=``, ``>``, ``>=``, ``in``, ``not in``, ``and``, ``or``,
  ``not``). It is parsed with `ast` and interpreted by walking that tree, never
  with `eval`. A condition that names a parameter which is itself inactive is
  false (the parameters form a tree, as in ConfigSpace).
- ``{"per": "network_depth", "space": (16, 256, "log-uniform")}``: a list with
  one value per layer, as long as the integer parameter it names.

Strategies never see this structure. `Structure` lays the space out flat
(a conditional parameter is one ordinary dimension, a per-layer one is one
dimension per possible layer: ``units[0]`` ... ``units[5]``), and
`StructuredStrategy` translates at the edge: a flat point becomes the trial's
parameters (inactive values dropped, lists cut to the depth), and a trial's
parameters go back flat with every inactive value set to one fixed value (the
dimension's low end, or its first choice). So a model learns nothing from the
values an inactive dimension happened to be drawn at: every point where it is
inactive looks the same along it, and the parameter the condition names
(``solver``, ``network_depth``) already tells the model whether it was active.
The Gaussian process also scores its candidates in that form
(`Structure.canonical`, through `Encoding.canonical`), so that its acquisition
never credits a candidate for an inactive value it has never seen.
"""
import ast
import itertools
import numbers

import numpy as np
from skopt.space import Categorical, Integer

from ..errors import ConfigError

KEYS = {"when", "per", "space"}
MAX_LAYERS = 32
_COMPARE = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
            ast.In: "in", ast.NotIn: "not in"}
_HOW = "compare parameters with literals (==, !=, <, <=, >, >=, in, not in, and, or, not)"


# -- the two kinds of structured dimension ------------------------------------------------------------------
class PerLayer:
    """A list with one value of `base` per layer; its length is the value of the parameter `depth`."""

    def __init__(self, name, depth, base):
        self.name, self.depth, self.base = name, depth, base
        self.max_layers = None          # set once the depth's dimension is known (`check_structure`)

    def flat_names(self):
        return [f"{self.name}[{i}]" for i in range(self.max_layers)]


class Conditional:
    """`inner` (a skopt Dimension or a PerLayer) exists only while every condition holds."""

    def __init__(self, name, conditions, inner):
        self.name, self.conditions, self.inner = name, tuple(conditions), inner

    @property
    def base(self):
        return self.inner.base if isinstance(self.inner, PerLayer) else self.inner


STRUCTURED = (Conditional, PerLayer)


def is_structured(dims):
    return any(isinstance(d, STRUCTURED) for d in dims.values())


def base_of(dim):
    """The skopt Dimension a (possibly structured) dimension draws its values from."""
    return dim.base if isinstance(dim, STRUCTURED) else dim


def per_layer_of(dim):
    inner = dim.inner if isinstance(dim, Conditional) else dim
    return inner if isinstance(inner, PerLayer) else None


def conditions_of(dim):
    return dim.conditions if isinstance(dim, Conditional) else ()


# -- parsing ---------------------------------------------------------------------------------------------
def parse_structured(name, value, dimension):
    """A ``{"when": ..., "space": ...}`` or ``{"per": ..., "space": ...}`` value; `dimension` parses a plain one."""
    extra = set(value) - KEYS
    if extra or "space" not in value or not ({"when", "per"} & set(value)):
        raise ConfigError(f"space '{name}': a dict value is {{'when': CONDITION, 'space': DIM}} (the parameter "
                          f"exists only when CONDITION holds) or {{'per': DEPTH, 'space': DIM}} (one value per "
                          f"layer); got the keys {sorted(map(str, value))}")
    inner = value["space"]
    inner = parse_structured(name, inner, dimension) if isinstance(inner, dict) else dimension(name, inner)
    if "per" in value:
        depth = value["per"]
        if not isinstance(depth, str) or not depth.isidentifier():
            raise ConfigError(f"space '{name}': 'per' names the parameter that holds the number of layers, "
                              f"e.g. {{'per': 'network_depth', 'space': (16, 256)}}; got {depth!r}")
        if isinstance(inner, PerLayer) or per_layer_of(inner) is not None:
            raise ConfigError(f"space '{name}': a per-layer value inside another per-layer value is not "
                              "supported; give each per-layer parameter its own name")
        if isinstance(inner, Conditional):     # one value per layer of a conditional value: the list is conditional
            inner = Conditional(name, inner.conditions, PerLayer(name, depth, inner.inner))
        else:
            inner = PerLayer(name, depth, inner)
    if "when" in value:
        condition = Condition(value["when"], name)
        if isinstance(inner, Conditional):
            inner = Conditional(name, (condition,) + inner.conditions, inner.inner)
        else:
            inner = Conditional(name, (condition,), inner)
    return inner


class Condition:
    """A condition's syntax tree, checked to hold only comparisons of names and literals."""

    def __init__(self, text, owner):
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"space '{owner}': 'when' takes a condition written as a string, e.g. "
                              f"\"solver == 'sgd'\"; got {text!r}")
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError as err:
            raise ConfigError(f"space '{owner}': the condition {text!r} is not valid Python ({err.msg}); "
                              f"{_HOW}, e.g. \"solver == 'sgd'\"") from None
        self.owner = owner
        self.tree = tree.body
        self.names = []
        self.comparisons = []     # (name, operator, literal) pairs, checked against the space later
        self._check(self.tree, text)
        self.text = ast.unparse(self.tree)    # one spelling for journals: spaces and quotes normalized

    def _check(self, node, text):
        if isinstance(node, ast.BoolOp):
            for value in node.values:
                self._check(value, text)
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            self._check(node.operand, text)
        elif isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for op in node.ops:
                if type(op) not in _COMPARE:
                    raise ConfigError(f"space '{self.owner}': the condition {text!r} uses "
                                      f"{type(op).__name__}; {_HOW}")
            for node_ in operands:
                self._operand(node_, text)
            for left, op, right in zip(operands, node.ops, operands[1:]):
                for a, b in ((left, right), (right, left)):
                    if isinstance(a, ast.Name) and not isinstance(b, ast.Name):
                        self.comparisons.append((a.id, _COMPARE[type(op)], literal(b)))
        else:
            self._operand(node, text)

    def _operand(self, node, text):
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                self.names.append(node.id)
            return
        try:
            literal(node)
        except ValueError:
            raise ConfigError(f"space '{self.owner}': the condition {text!r} may only {_HOW}; "
                              f"{ast.unparse(node)!r} is neither a parameter nor a literal") from None

    def evaluate(self, values, rows):
        """A bool array over `rows` points; `values` maps each name to an array of its values."""
        return _truth(_evaluate(self.tree, values), rows)


def literal(node):
    """The value of a literal node (numbers, strings, True/False/None, and tuples, lists or sets of them)."""
    value = ast.literal_eval(node)
    items = value if isinstance(value, (tuple, list, set, frozenset)) else (value,)
    if not all(v is None or isinstance(v, (str, numbers.Number)) for v in items):
        raise ValueError(node)
    return value


def _evaluate(node, values):
    if isinstance(node, ast.BoolOp):
        parts = [_truth(_evaluate(v, values), None) for v in node.values]
        return np.logical_and.reduce(parts) if isinstance(node.op, ast.And) else np.logical_or.reduce(parts)
    if isinstance(node, ast.UnaryOp):
        return np.logical_not(_truth(_evaluate(node.operand, values), None))
    if isinstance(node, ast.Compare):
        operands = [_evaluate(n, values) for n in (node.left, *node.comparators)]
        result = True
        for left, op, right in zip(operands, node.ops, operands[1:]):
            result = np.logical_and(result, _compare(left, _COMPARE[type(op)], right))
        return result
    if isinstance(node, ast.Name):
        return values[node.id]
    return literal(node)


def _compare(left, op, right):
    """Element by element (values are object arrays): a comparison Python cannot make (str < int) is False."""
    lefts, rights = np.broadcast_arrays(_objects(left), _objects(right)) if not op.endswith("in") else \
        (_objects(left), None)
    out = np.empty(lefts.shape, dtype=bool)
    for index, a in np.ndenumerate(lefts):
        b = right if rights is None else rights[index]
        try:
            out[index] = {"==": lambda: a == b, "!=": lambda: a != b, "<": lambda: a < b, "<=": lambda: a <= b,
                          ">": lambda: a > b, ">=": lambda: a >= b, "in": lambda: a in b,
                          "not in": lambda: a not in b}[op]()
        except TypeError:
            out[index] = False
    return out


def _objects(value):
    if isinstance(value, np.ndarray):
        return value
    array = np.empty((), dtype=object)
    array[()] = value
    return array


def _truth(value, rows):
    array = np.asarray(value)
    if array.dtype == object:
        array = np.array([bool(v) for v in array.ravel()], dtype=bool).reshape(array.shape)
    array = array.astype(bool)
    return array if rows is None else np.broadcast_to(array, (rows,)).copy()


# -- the space as a whole: names, depths, order -----------------------------------------------------------
def check_structure(dims):
    """Check what only the whole space can tell (names, depths, literals, cycles); return the names in an order
    where everything a dimension depends on comes first."""
    names = list(dims)
    for name, dim in dims.items():
        for condition in conditions_of(dim):
            for other in condition.names:
                _must_exist(dims, name, other, f"its condition {condition.text!r} names")
                if other == name:
                    raise ConfigError(f"space '{name}': its condition {condition.text!r} names '{name}' itself; "
                                      "a condition can only name other parameters")
                if per_layer_of(dims[other]) is not None:
                    raise ConfigError(f"space '{name}': its condition {condition.text!r} names the per-layer "
                                      f"'{other}' (a list); compare its depth '{per_layer_of(dims[other]).depth}' "
                                      "instead")
            for other, op, value in condition.comparisons:
                _check_literal(name, condition, base_of(dims[other]), other, op, value)
        layers = per_layer_of(dim)
        if layers is not None:
            _must_exist(dims, name, layers.depth, "'per' names")
            layers.max_layers = _max_depth(name, layers.depth, dims[layers.depth])
    return _ordered(dims, names)


def _must_exist(dims, name, other, what):
    if other not in dims:
        import difflib

        close = difflib.get_close_matches(other, list(dims), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"space '{name}': {what} '{other}', which is not in the space{hint}; the space has "
                          f"{', '.join(dims)}")


def _max_depth(name, depth, dim):
    if isinstance(dim, STRUCTURED) and per_layer_of(dim) is not None:
        raise ConfigError(f"space '{name}': 'per' names '{depth}', which is itself per-layer; name an integer "
                          "parameter such as network_depth")
    base = base_of(dim)
    if isinstance(base, Integer):
        values = [base.low, base.high]
    elif isinstance(base, Categorical):
        values = [_choice_value(c) for c in _choices(base)]
    else:
        values = [None]
    if not all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0 for v in values):
        raise ConfigError(f"space '{name}': 'per' names '{depth}', which is not an integer dimension (a number "
                          f"of layers); give '{depth}' an integer range such as (1, 6) or a list such as [2, 3, 4]")
    most = max(int(v) for v in values)
    if most > MAX_LAYERS:
        raise ConfigError(f"space '{name}': '{depth}' allows {most} layers; a per-layer parameter takes at most "
                          f"{MAX_LAYERS} (each layer is one more dimension to search)")
    return most


def _choices(dim):
    return getattr(dim, "choices", None) or tuple(dim.categories)


def _choice_value(choice):
    item = getattr(choice, "item", None)
    return item() if item is not None and getattr(choice, "shape", None) == () else choice


def _check_literal(name, condition, base, other, op, value):
    items = list(value) if op.endswith("in") and isinstance(value, (tuple, list, set, frozenset)) else [value]
    if op.endswith("in") and not isinstance(value, (tuple, list, set, frozenset)):
        raise ConfigError(f"space '{name}': in the condition {condition.text!r}, '{op}' needs a tuple or list "
                          f"of values, e.g. {other} in ('a', 'b')")
    if isinstance(base, Categorical):
        choices = [_choice_value(c) for c in _choices(base)]
        if op in ("==", "!=", "in", "not in"):
            for item in items:
                if not any(type(item) is type(c) and item == c or (isinstance(item, numbers.Number) and
                                                                   isinstance(c, numbers.Number) and item == c)
                           for c in choices):
                    raise ConfigError(f"space '{name}': the condition {condition.text!r} compares '{other}' with "
                                      f"{item!r}, which is not one of its choices {choices!r}")
        return
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Real):
            raise ConfigError(f"space '{name}': the condition {condition.text!r} compares the number '{other}' "
                              f"with {item!r}; compare it with a number")


def _ordered(dims, names):
    """Topological order: what a dimension's conditions and depth name comes before it; a cycle is an error."""
    needs = {name: [*dict.fromkeys(n for c in conditions_of(dim) for n in c.names)]
             + ([per_layer_of(dim).depth] if per_layer_of(dim) is not None else []) for name, dim in dims.items()}
    order, state = [], {}

    def visit(name, path):
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            loop = path[path.index(name):] + [name]
            raise ConfigError(f"the conditions of the space form a cycle: {' -> '.join(loop)}; a parameter's "
                              "condition cannot depend, directly or not, on that parameter")
        state[name] = "visiting"
        for other in needs[name]:
            visit(other, path + [name])
        state[name] = "done"
        order.append(name)

    for name in names:
        visit(name, [])
    return order


# -- the flat layout strategies search -----------------------------------------------------------------
class Structure:
    """The flat space of a structured one, and the translations between its points and a trial's parameters."""

    def __init__(self, dims):
        import copy

        self.dims = dims
        self.order = check_structure(dims)
        self.flat = {}            # flat name -> skopt Dimension
        self.imputed = {}         # flat name -> the value an inactive dimension is held at
        self.slots = {}           # name -> its flat names (one, or one per layer)
        for name, dim in dims.items():
            layers = per_layer_of(dim)
            flat_names = layers.flat_names() if layers is not None else [name]
            self.slots[name] = flat_names
            for flat_name in flat_names:
                base = copy.deepcopy(base_of(dim))
                base.name = flat_name
                self.flat[flat_name] = base
                self.imputed[flat_name] = _imputed(base)

    # -- activity ------------------------------------------------------------------------------------------
    def activity(self, values, rows):
        """name -> bool array over `rows` points: does the parameter exist there; `values` maps every name a
        condition or a depth names to an array of its values."""
        active = {}
        for name in self.order:
            dim = self.dims[name]
            on = np.ones(rows, dtype=bool)
            for condition in conditions_of(dim):
                for other in condition.names:
                    on &= active[other]
                on &= condition.evaluate(values, rows)
            layers = per_layer_of(dim)
            if layers is not None:
                on &= active[layers.depth]
            active[name] = on
        return active

    @property
    def needed(self):
        """The names whose values decide what exists: those conditions compare, and depths."""
        names = {n for dim in self.dims.values() for c in conditions_of(dim) for n in c.names}
        return names | {per_layer_of(d).depth for d in self.dims.values() if per_layer_of(d) is not None}

    def _slot_activity(self, active, values, rows):
        """flat name -> bool array over rows: a per-layer slot exists when its list does and it is within the
        depth."""
        out = {}
        for name, flat_names in self.slots.items():
            layers = per_layer_of(self.dims[name])
            if layers is None:
                out[name] = active[name]
                continue
            depth = np.array([int(v) for v in values[layers.depth]])
            for j, flat_name in enumerate(flat_names):
                out[flat_name] = active[name] & (depth > j)
        return out

    # -- translations ---------------------------------------------------------------------------------------
    def params(self, flat_point):
        """A strategy's flat point as the trial's parameters: active values only, per-layer values as lists."""
        values = {name: _column([flat_point[name]]) for name in self.needed}
        active = self.activity(values, 1)
        out = {}
        for name, dim in self.dims.items():
            if not active[name][0]:
                continue
            layers = per_layer_of(dim)
            if layers is None:
                out[name] = flat_point[name]
            else:
                out[name] = [flat_point[flat] for flat in self.slots[name][:int(flat_point[layers.depth])]]
        return out

    def flat_point(self, params):
        """Undo `params`: every inactive value (and every layer past the depth) held at its fixed value."""
        out = dict(self.imputed)
        for name, value in params.items():
            if name not in self.slots:
                continue
            if per_layer_of(self.dims[name]) is not None:
                for flat_name, item in zip(self.slots[name], value):
                    out[flat_name] = item
            else:
                out[name] = value
        return out

    def canonical(self, encoding):
        """A function from rows of the unit cube (`encoding`'s columns) to the same rows with every inactive
        dimension's columns set to its fixed value, computed for all rows at once."""
        columns, start = {}, 0
        for flat_name, dim in zip(encoding.names, encoding.unit.dimensions):
            columns[flat_name] = (start, start + dim.transformed_size, dim)
            start += dim.transformed_size
        fixed = np.asarray(encoding.to_unit([self.imputed])[0], dtype=float)
        needed = sorted(self.needed)

        def settle(U):
            U = np.array(U, dtype=float)
            rows = len(U)
            if not rows:
                return U
            values = {}
            for name in needed:
                lo, hi, dim = columns[name]
                decoded = dim.inverse_transform(U[:, lo:hi] if hi - lo > 1 else U[:, lo])
                choices = getattr(base_of(self.dims[name]), "choices", None)
                values[name] = _column([choices[int(v)] if choices is not None else _choice_value(v)
                                        for v in decoded])
            slots = self._slot_activity(self.activity(values, rows), values, rows)
            for flat_name, on in slots.items():
                if (~on).any():
                    lo, hi, _ = columns[flat_name]
                    U[np.ix_(~on, np.arange(lo, hi))] = fixed[lo:hi]
            return U

        return settle

    # -- the grid of an all-discrete structured space ------------------------------------------------------
    def grid_points(self):
        """Every distinct configuration (inactive values absent, so none repeats), in a fixed order."""
        def extend(position, point):
            if position == len(self.order):
                yield dict(point)
                return
            name = self.order[position]
            dim = self.dims[name]
            if not self.exists(dim, point):
                yield from extend(position + 1, point)
                return
            axis = _axis(base_of(dim))
            layers = per_layer_of(dim)
            options = itertools.product(axis, repeat=int(point[layers.depth])) if layers is not None else axis
            for value in options:
                point[name] = list(value) if layers is not None else value
                yield from extend(position + 1, point)
            del point[name]

        for point in extend(0, {}):
            yield {name: point[name] for name in self.dims if name in point}

    def exists(self, dim, point):
        """Whether `dim` is active at a point given as a dict of the active parameters decided so far."""
        for condition in conditions_of(dim):
            if not all(n in point for n in condition.names):
                return False
            if not condition.evaluate({n: _column([point[n]]) for n in condition.names}, 1)[0]:
                return False
        layers = per_layer_of(dim)
        return layers is None or layers.depth in point


def _axis(dim):
    if isinstance(dim, Integer):
        return list(range(dim.low, dim.high + 1))
    return [_choice_value(c) for c in _choices(dim)]


def _imputed(dim):
    if isinstance(dim, Categorical):
        return _choice_value(_choices(dim)[0])
    return dim.low


def _column(values):
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def optional_names(dims, fidelity=None):
    """Names a cell may read that a trial does not always set, with the value they then have: a conditional
    parameter (None when inactive), and with a progressive budget `previous` and `previous_budget` (None and 0
    on a configuration's first rung; search/continuation.py)."""
    names = {name: None for name, dim in dims.items() if conditions_of(dim)}
    if fidelity:
        names.update(previous=None, previous_budget=0)
    return names


def chart_view(dims):
    """(flat dims, params -> {flat name: value or None}) for charts and tables over one column per dimension: a
    per-layer parameter one column per layer, an inactive value None. A plain space is its own view."""
    if not is_structured(dims):
        return dims, lambda params: {name: params.get(name) for name in dims}
    structure = Structure(dims)

    def values(params):
        out = {}
        for name, flat_names in structure.slots.items():
            value = params.get(name)
            if per_layer_of(dims[name]) is None:
                out[name] = value
            else:
                for i, flat_name in enumerate(flat_names):
                    out[flat_name] = value[i] if value is not None and i < len(value) else None
        return out

    return structure.flat, values


# -- what a result shows -------------------------------------------------------------------------------------
def architecture(dims, params, data=None):
    """The depth and per-layer values of `params`, and `parameters`: the weight count of a dense network with those
    widths (the first per-layer integer parameter) between the data's inputs and outputs, counted as
    scikit-learn's MLPs count them (one output for a binary or single-target task). None without per-layer
    parameters or params."""
    layered = [(name, per_layer_of(dim)) for name, dim in dims.items() if per_layer_of(dim) is not None]
    if not layered or params is None:
        return None
    shape = {}
    for name, layers in layered:
        shape[layers.depth] = params.get(layers.depth)
        shape[name] = params.get(name)
    widths = next((params[name] for name, _ in layered
                   if isinstance(base_of(dims[name]), Integer) and params.get(name) is not None), None)
    shape["parameters"] = _dense_weights(widths, data) if widths is not None and data is not None else None
    return shape


def _dense_weights(widths, data):
    X, y = data
    shape = getattr(X, "shape", None)
    if not shape or len(shape) != 2:
        return None
    y = np.asarray(y)
    if y.dtype.kind in "fc":
        outputs = 1 if y.ndim == 1 else int(y.shape[1])
    else:
        classes = len(np.unique(y))
        outputs = 1 if classes <= 2 else classes
    sizes = [int(shape[1])] + [int(w) for w in widths] + [outputs]
    return int(sum((a + 1) * b for a, b in zip(sizes, sizes[1:])))
