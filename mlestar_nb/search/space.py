"""Search spaces: scikit-optimize's shorthand, validated, and round-tripped to JSON.

A space is a dict of name -> dimension. The shorthand is skopt's: a tuple of two
ints is an integer range, of two floats a real range, an optional third item is
the prior; a list is categorical; skopt `Dimension` objects are taken as given.
The JSON form goes into journals so that a resume can prove it searches the same
space. Categorical choices that skopt cannot take as labels (dicts and lists,
which are unhashable; None mixed with strings; 1 beside True, which hash alike;
objects such as estimators) become a `Choices` dimension: skopt sees their
indices, and `decode_point`/`encode_point` translate at the strategy's edge.
A dict value is a conditional (``{"when": ..., "space": ...}``) or per-layer
(``{"per": ..., "space": ...}``) dimension: conditional.py parses it and lays the
space out flat for the strategies.
"""
import copy
import itertools
import json
import keyword
import math
import numbers

from skopt.space import Categorical, Dimension, Integer, Real, Space

from ..errors import ConfigError
from .conditional import STRUCTURED, Structure, base_of, check_structure, conditions_of, is_structured, \
    parse_structured, per_layer_of

PRIORS = {"uniform", "log-uniform"}


def parse_space(spec):
    """Return an ordered ``{name: skopt Dimension}`` from the user's dict."""
    if not isinstance(spec, dict):
        raise ConfigError(
            f"the space must be a dict of name -> range, got {type(spec).__name__}; "
            "write e.g. {'alpha': (1e-4, 1.0, 'log-uniform'), 'depth': [2, 4, 8]}"
        )
    if not spec:
        raise ConfigError("the space is empty; give at least one name -> range, e.g. {'alpha': (0.01, 1.0)}")
    dims = {}
    for name, value in spec.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(
                f"space key {name!r} is not a valid Python name; each key becomes a variable in the cell"
            )
        if keyword.iskeyword(name):
            raise ConfigError(f"space key {name!r} is a Python keyword, so the cell cannot use it as a variable; "
                              f"name it e.g. '{name}_' and pass it on where it goes (e.g. reg_{name}={name}_)")
        if name == "params":
            raise ConfigError("'params' is reserved (it holds the whole dict of a trial); rename that key")
        dims[name] = parse_structured(name, value, _dimension) if isinstance(value, dict) else _dimension(name, value)
    if is_structured(dims):
        check_structure(dims)
    return dims


class Choices(Categorical):
    """A categorical dimension over any objects: skopt sees the indices 0..n-1, `choices` holds the objects."""

    def __init__(self, choices, name=None, prior=None):
        self.choices = tuple(choices)
        super().__init__(list(range(len(self.choices))), prior=prior, name=name)


def choices_of(dim):
    """The user's choices of a categorical dimension, whatever skopt sees."""
    return dim.choices if isinstance(dim, Choices) else tuple(dim.categories)


def _plain_labels(values):
    """True when skopt can use these choices as they are: all str, all int, all float (finite) or all bool."""
    kinds = {type(plain(v)) for v in values}
    if len(kinds) != 1 or not kinds <= {str, int, float, bool}:
        return False
    return all(math.isfinite(plain(v)) for v in values) if kinds == {float} else True


def _dimension(name, value):
    if isinstance(value, Choices):
        value = copy.deepcopy(value)
        value.name = name
        return value
    if isinstance(value, Categorical):
        value = _categorical(name, list(value.categories), prior=value.prior)
    if isinstance(value, Dimension):
        value = copy.deepcopy(value)  # never change the user's object
        value.name = name
        return value
    if isinstance(value, range) or (type(value).__name__ == "ndarray" and getattr(value, "ndim", None) == 1):
        value = list(value.tolist() if hasattr(value, "tolist") else value)   # range(...), np.logspace(...)
    if isinstance(value, list):
        return _categorical(name, value)
    if isinstance(value, tuple):
        return _range(name, value)
    if hasattr(value, "dist") and hasattr(value, "support"):
        return _range(name, _scipy_range(name, value))
    raise ConfigError(
        f"space '{name}': expected (low, high[, prior]) or a list of choices, got {value!r}; "
        "e.g. (0.01, 1.0, 'log-uniform') or [16, 32, 64]"
    )


def _categorical(name, values, prior=None):
    if not values:
        raise ConfigError(f"space '{name}': the categorical list is empty; list at least one choice")
    if len(set(map(repr, values))) != len(values):
        raise ConfigError(f"space '{name}': the categorical list {values!r} repeats a choice; list each once")
    if len({json.dumps(jsonable(v)) for v in values}) != len(values):
        raise ConfigError(f"space '{name}': the choices {values!r} would read the same in the journal (a string "
                          "that spells another choice); rename one")
    if _plain_labels(values):
        return Categorical(values, prior=prior, name=name)
    return Choices(values, name=name, prior=prior)


def _scipy_range(name, frozen):
    """A scipy.stats distribution of RandomizedSearchCV's kind, as the range it spans."""
    kind = getattr(frozen.dist, "name", type(frozen.dist).__name__)
    low, high = (float(b) for b in frozen.support())
    if kind == "randint":
        return int(low), int(high)
    if kind == "uniform":
        return low, high
    if kind in ("loguniform", "reciprocal") and frozen.kwds.get("loc", 0) == 0 and frozen.kwds.get("scale", 1) == 1:
        return low, high, "log-uniform"
    raise ConfigError(f"space '{name}': a scipy.stats {kind} distribution has no range mlestar-nb can search; "
                      "use uniform, loguniform or randint, or write (low, high[, prior])")


def _range(name, value):
    if len(value) not in (2, 3) or any(isinstance(v, str) for v in value[:2]):
        raise ConfigError(f"space '{name}': a tuple is a range, (low, high) or (low, high, prior), got {value!r}; "
                          "for choices write a list, e.g. ['a', 'b', 'c']")
    low, high = value[0], value[1]
    prior = value[2] if len(value) == 3 else "uniform"
    for bound in (low, high):
        if isinstance(bound, bool) or not isinstance(bound, numbers.Real) or not math.isfinite(bound):
            raise ConfigError(f"space '{name}': range bounds must be finite numbers, got {value!r}")
    if prior not in PRIORS:
        raise ConfigError(
            f"space '{name}': unknown prior {prior!r}; use 'uniform' or 'log-uniform'"
        )
    if low >= high:
        raise ConfigError(f"space '{name}': low must be below high, got low={low!r}, high={high!r}; swap or widen them")
    if prior == "log-uniform" and low <= 0:
        raise ConfigError(f"space '{name}': a log-uniform range needs low > 0, got low={low!r}")
    if isinstance(low, numbers.Integral) and isinstance(high, numbers.Integral):
        return Integer(int(low), int(high), prior=prior, name=name)
    return Real(float(low), float(high), prior=prior, name=name)


def to_skopt(dims):
    """A private skopt Space: skopt's optimizers set transforms on dimensions in place."""
    return Space(copy.deepcopy(list(dims.values())))


def is_discrete(dims):
    return all(isinstance(base_of(d), (Integer, Categorical)) for d in dims.values())


def continuous_names(dims):
    return [name for name, d in dims.items() if not isinstance(base_of(d), (Integer, Categorical))]


def grid_size(dims, limit=None):
    """Number of points of the full grid, or None when a dimension is continuous. A structured space's grid
    holds each configuration once (inactive values absent); it is counted up to `limit` + 1."""
    if not is_discrete(dims):
        return None
    if is_structured(dims):
        return sum(1 for _ in itertools.islice(Structure(dims).grid_points(), None if limit is None else limit + 1))
    return math.prod(_grid_values_count(d) for d in dims.values())


def _grid_values_count(dim):
    if isinstance(dim, Integer):
        return dim.high - dim.low + 1
    return len(dim.categories)


def grid_points(dims):
    """Every point of an all-discrete space, as plain-Python dicts, in a fixed order."""
    if is_structured(dims):
        return Structure(dims).grid_points()
    axes = []
    for dim in dims.values():
        if isinstance(dim, Integer):
            axes.append(range(dim.low, dim.high + 1))
        else:
            axes.append([plain(c) for c in choices_of(dim)])
    names = list(dims)
    return (dict(zip(names, combo)) for combo in itertools.product(*axes))


def plain(value):
    """Numpy scalars (skopt returns them) become the Python type they stand for."""
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "shape", None) == ():
        return item()
    return value


def decode_point(dims, values):
    """A strategy's point (skopt's values, in the order of `dims`) as the dict of plain values a trial gets."""
    point = {}
    for (name, dim), value in zip(dims.items(), values):
        point[name] = dim.choices[int(value)] if isinstance(dim, Choices) else plain(value)
    return point


def encode_point(dims, point):
    """Undo `decode_point`: the values skopt is told, in the order of `dims`."""
    return [_choice_index(dim, point[name]) if isinstance(dim, Choices) else point[name]
            for name, dim in dims.items()]


def _choice_index(dim, value):
    for i, choice in enumerate(dim.choices):
        if choice is value:
            return i
    matches = [i for i, choice in enumerate(dim.choices) if _same_choice(choice, value)]
    if not matches:
        raise ValueError(f"{value!r} is not one of the choices of '{dim.name}'")
    return matches[0]


def _same_choice(choice, value):
    choice = plain(choice)
    return type(choice) is type(value) and (choice is value or choice == value or repr(choice) == repr(value))


def space_to_json(dims):
    """A JSON-able description; equal spaces give equal descriptions (`space_from_json` undoes it)."""
    return {name: _dimension_json(dim) for name, dim in dims.items()}


def _dimension_json(dim):
    if isinstance(dim, STRUCTURED):
        layers = per_layer_of(dim)
        inner = _dimension_json(base_of(dim))
        if layers is not None:
            inner = {"type": "per_layer", "per": layers.depth, "space": inner}
        if conditions_of(dim):
            inner = {"type": "conditional", "when": [c.text for c in conditions_of(dim)], "space": inner}
        return inner
    if isinstance(dim, Categorical):
        return {"type": "categorical", "categories": [jsonable(c) for c in choices_of(dim)]}
    if isinstance(dim, Integer):
        return {"type": "integer", "low": int(dim.low), "high": int(dim.high), "prior": dim.prior}
    return {"type": "real", "low": float(dim.low), "high": float(dim.high), "prior": dim.prior}


def space_from_json(described):
    """The space dict a user would write for a `space_to_json` description (objects among the choices come back
    as their repr)."""
    return {name: _spec_from_json(info) for name, info in described.items()}


def _spec_from_json(info):
    kind = info["type"]
    if kind == "conditional":
        spec = _spec_from_json(info["space"])
        for condition in reversed(info["when"]):
            spec = {"when": condition, "space": spec}
        return spec
    if kind == "per_layer":
        return {"per": info["per"], "space": _spec_from_json(info["space"])}
    if kind == "categorical":
        return list(info["categories"])
    return (info["low"], info["high"], info["prior"])


def jsonable(value):
    """A value as JSON can hold it; objects (an estimator as a choice) by their repr."""
    value = plain(value)
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return repr(value)


def _same_json(a, b):
    return type(a) is type(b) and a == b   # True is not 1 here, though Python says they are equal


def point_to_json(point):
    """A trial's parameters as JSON holds them; a per-layer list (of plain values) stays a list."""
    return {name: [jsonable(item) for item in v] if _plain_list(v) else jsonable(v) for name, v in point.items()}


def _plain_list(value):
    return isinstance(value, list) and all(plain(v) is None or isinstance(plain(v), (str, bool, int, float))
                                            for v in value)


def point_from_json(dims, stored):
    """Undo `point_to_json`: categorical choices come back as the objects themselves; a parameter absent from a
    conditional space's point was inactive, and stays absent."""
    point = {}
    for name, dim in dims.items():
        if name not in stored and conditions_of(dim):
            continue
        value = stored[name]
        if per_layer_of(dim) is not None:
            point[name] = [_value_from_json(name, base_of(dim), item) for item in value]
        else:
            point[name] = _value_from_json(name, base_of(dim), value)
    return point


def _value_from_json(name, dim, value):
    if isinstance(dim, Categorical):
        matches = [c for c in choices_of(dim) if _same_json(jsonable(c), value)
                   or (_plain_list(c) and _same_json(point_to_json({"c": c})["c"], value))]
        if not matches:
            raise ConfigError(f"journal value {value!r} for '{name}' is not one of the space's choices")
        return plain(matches[0])
    if isinstance(dim, Integer):
        return int(value)
    return float(value)


def check_point(dims, point, what="start point"):
    """A point given from outside (a start point, a known trial), checked against the space and made plain.

    Every name of the space must be present and inside its dimension; a value
    outside would be a trial the optimizer cannot place. In a conditional space
    exactly the parameters active at the point's own values are (an inactive
    one may be left out or given as None); a per-layer one is a list as long as
    its depth.
    """
    if not isinstance(point, dict):
        raise ConfigError(f"a {what} must be a dict of name -> value, got {type(point).__name__}; "
                          f"e.g. {{{', '.join(repr(n) + ': ...' for n in dims)}}}")
    active = _active_names(dims, point, what) if is_structured(dims) else list(dims)
    missing = [n for n in active if n not in point]
    extra = [n for n in point if n not in dims]
    if missing or extra:
        problem = "; ".join(part for part in (f"missing {', '.join(missing)}" if missing else "",
                                              f"not in the space: {', '.join(map(str, extra))}" if extra else "")
                            if part)
        raise ConfigError(f"{what} {point!r} does not match the space ({problem}); give one value per name of "
                          f"the space: {', '.join(active)}")
    checked = {}
    for name in active:
        dim = dims[name]
        layers = per_layer_of(dim)
        if layers is None:
            checked[name] = _checked_value(name, base_of(dim), plain(point[name]), what)
            continue
        value, depth = point[name], checked[layers.depth]
        if not isinstance(value, (list, tuple)) or len(value) != depth:
            raise ConfigError(f"{what}: {name}={value!r} must be a list of {depth} values, one per layer "
                              f"({layers.depth}={depth})")
        checked[name] = [_checked_value(f"{name}[{i}]", base_of(dim), plain(v), what) for i, v in enumerate(value)]
    return {name: checked[name] for name in dims if name in checked}


def _active_names(dims, point, what):
    """The names a conditional space's point must hold, in dependency order, from the point's own values; a value
    given for an inactive parameter is refused."""
    structure, active, values = Structure(dims), [], {}
    for name in structure.order:
        dim = dims[name]
        if structure.exists(dim, values):
            active.append(name)
            if per_layer_of(dim) is None and name in point:
                values[name] = plain(point[name])
        elif point.get(name) is not None:
            layers = per_layer_of(dim)
            why = " and ".join(c.text for c in conditions_of(dim)) or f"{layers.depth} is active"
            raise ConfigError(f"{what}: {name}={point[name]!r} is given, but {name} exists only when {why}, which "
                              f"does not hold for this point; leave {name} out")
    return active


def _checked_value(name, dim, value, what):
    if isinstance(dim, Categorical):
        matches = [c for c in choices_of(dim) if c is value or _same_choice(c, value)]
        if not matches:
            raise ConfigError(f"{what}: {name}={value!r} is not one of the choices {list(choices_of(dim))!r}")
        return plain(matches[0])
    numeric = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if isinstance(dim, Integer) and not (numeric and float(value).is_integer()):
        raise ConfigError(f"{what}: {name}={value!r} must be an integer in [{dim.low}, {dim.high}]")
    if not numeric or not dim.low <= value <= dim.high:
        raise ConfigError(f"{what}: {name}={value!r} is outside [{dim.low:g}, {dim.high:g}]; widen the "
                          "range or change the point")
    return int(value) if isinstance(dim, Integer) else float(value)


def describe(dims):
    """One short line per dimension, for reprs."""
    return [f"{name} {_describe(info)}" for name, info in space_to_json(dims).items()]


def _describe(info):
    if info["type"] == "conditional":
        return f"{_describe(info['space'])} when {' and '.join(info['when'])}"
    if info["type"] == "per_layer":
        return f"per layer of {info['per']}: each {_describe(info['space'])}"
    if info["type"] == "categorical":
        return f"in {info['categories']}"
    log = ", log" if info["prior"] == "log-uniform" else ""
    return f"in [{info['low']:g}, {info['high']:g}{log}]"
