"""Search spaces: scikit-optimize's shorthand, validated, and round-tripped to JSON.

A space is a dict of name -> dimension. The shorthand is skopt's: a tuple of two
ints is an integer range, of two floats a real range, an optional third item is
the prior; a list is categorical; skopt `Dimension` objects are taken as given.
The JSON form goes into journals so that a resume can prove it searches the same
space. Categorical choices that skopt cannot take as labels (dicts and lists,
which are unhashable; None mixed with strings; 1 beside True, which hash alike;
objects such as estimators) become a `Choices` dimension: skopt sees their
indices, and `decode_point`/`encode_point` translate at the strategy's edge.
"""
import copy
import itertools
import json
import keyword
import math
import numbers

from skopt.space import Categorical, Dimension, Integer, Real, Space

from ..errors import ConfigError

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
        dims[name] = _dimension(name, value)
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
    return all(isinstance(d, (Integer, Categorical)) for d in dims.values())


def grid_size(dims):
    """Number of points of the full grid, or None when a dimension is continuous."""
    if not is_discrete(dims):
        return None
    return math.prod(_grid_values_count(d) for d in dims.values())


def _grid_values_count(dim):
    if isinstance(dim, Integer):
        return dim.high - dim.low + 1
    return len(dim.categories)


def grid_points(dims):
    """Every point of an all-discrete space, as plain-Python dicts, in a fixed order."""
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
    """A JSON-able description; equal spaces give equal descriptions."""
    out = {}
    for name, dim in dims.items():
        if isinstance(dim, Categorical):
            out[name] = {"type": "categorical", "categories": [jsonable(c) for c in choices_of(dim)]}
        elif isinstance(dim, Integer):
            out[name] = {"type": "integer", "low": int(dim.low), "high": int(dim.high), "prior": dim.prior}
        else:
            out[name] = {"type": "real", "low": float(dim.low), "high": float(dim.high), "prior": dim.prior}
    return out


def jsonable(value):
    """A value as JSON can hold it; objects (an estimator as a choice) by their repr."""
    value = plain(value)
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return repr(value)


def _same_json(a, b):
    return type(a) is type(b) and a == b   # True is not 1 here, though Python says they are equal


def point_to_json(point):
    return {name: jsonable(v) for name, v in point.items()}


def point_from_json(dims, stored):
    """Undo `point_to_json`: categorical choices come back as the objects themselves."""
    point = {}
    for name, dim in dims.items():
        value = stored[name]
        if isinstance(dim, Categorical):
            matches = [c for c in choices_of(dim) if _same_json(jsonable(c), value)]
            if not matches:
                raise ConfigError(f"journal value {value!r} for '{name}' is not one of the space's choices")
            value = plain(matches[0])
        elif isinstance(dim, Integer):
            value = int(value)
        else:
            value = float(value)
        point[name] = value
    return point


def check_point(dims, point, what="start point"):
    """A point given from outside (a start point, a known trial), checked against the space and made plain.

    Every name of the space must be present and inside its dimension; a value
    outside would be a trial the optimizer cannot place.
    """
    if not isinstance(point, dict):
        raise ConfigError(f"a {what} must be a dict of name -> value, got {type(point).__name__}; "
                          f"e.g. {{{', '.join(repr(n) + ': ...' for n in dims)}}}")
    missing = [n for n in dims if n not in point]
    extra = [n for n in point if n not in dims]
    if missing or extra:
        problem = "; ".join(part for part in (f"missing {', '.join(missing)}" if missing else "",
                                              f"not in the space: {', '.join(map(str, extra))}" if extra else "")
                            if part)
        raise ConfigError(f"{what} {point!r} does not match the space ({problem}); give one value per name of "
                          f"the space: {', '.join(dims)}")
    checked = {}
    for name, dim in dims.items():
        value = plain(point[name])
        if isinstance(dim, Categorical):
            matches = [c for c in choices_of(dim) if c is value or _same_choice(c, value)]
            if not matches:
                raise ConfigError(f"{what}: {name}={value!r} is not one of the choices {list(choices_of(dim))!r}")
            value = plain(matches[0])
        else:
            numeric = isinstance(value, numbers.Real) and not isinstance(value, bool)
            if isinstance(dim, Integer) and not (numeric and float(value).is_integer()):
                raise ConfigError(f"{what}: {name}={value!r} must be an integer in [{dim.low}, {dim.high}]")
            if not numeric or not dim.low <= value <= dim.high:
                raise ConfigError(f"{what}: {name}={value!r} is outside [{dim.low:g}, {dim.high:g}]; widen the "
                                  "range or change the point")
            value = int(value) if isinstance(dim, Integer) else float(value)
        checked[name] = value
    return checked


def describe(dims):
    """One short line per dimension, for reprs."""
    parts = []
    for name, info in space_to_json(dims).items():
        if info["type"] == "categorical":
            parts.append(f"{name} in {info['categories']}")
        else:
            log = ", log" if info["prior"] == "log-uniform" else ""
            parts.append(f"{name} in [{info['low']:g}, {info['high']:g}{log}]")
    return parts
