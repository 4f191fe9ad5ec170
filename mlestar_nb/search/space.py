"""Search spaces: scikit-optimize's shorthand, validated, and round-tripped to JSON.

A space is a dict of name -> dimension. The shorthand is skopt's: a tuple of two
ints is an integer range, of two floats a real range, an optional third item is
the prior; a list is categorical; skopt `Dimension` objects are taken as given.
The JSON form goes into journals so that a resume can prove it searches the same
space.
"""
import copy
import itertools
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
        if name == "params":
            raise ConfigError("'params' is reserved (it holds the whole dict of a trial); rename that key")
        dims[name] = _dimension(name, value)
    return dims


def _dimension(name, value):
    if isinstance(value, Dimension):
        value = copy.deepcopy(value)  # never change the user's object
        value.name = name
        return value
    if isinstance(value, list):
        if not value:
            raise ConfigError(f"space '{name}': the categorical list is empty; list at least one choice")
        if len(set(map(repr, value))) != len(value):
            raise ConfigError(f"space '{name}': the categorical list {value!r} repeats a choice; list each once")
        return Categorical(value, name=name)
    if isinstance(value, tuple):
        return _range(name, value)
    raise ConfigError(
        f"space '{name}': expected (low, high[, prior]) or a list of choices, got {value!r}; "
        "e.g. (0.01, 1.0, 'log-uniform') or [16, 32, 64]"
    )


def _range(name, value):
    if len(value) not in (2, 3):
        raise ConfigError(f"space '{name}': a range is (low, high) or (low, high, prior), got {value!r}")
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
            axes.append([plain(c) for c in dim.categories])
    names = list(dims)
    return (dict(zip(names, combo)) for combo in itertools.product(*axes))


def plain(value):
    """Numpy scalars (skopt returns them) become the Python type they stand for."""
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "shape", None) == ():
        return item()
    return value


def plain_point(names, values):
    return {name: plain(v) for name, v in zip(names, values)}


def space_to_json(dims):
    """A JSON-able description; equal spaces give equal descriptions."""
    out = {}
    for name, dim in dims.items():
        if isinstance(dim, Categorical):
            out[name] = {"type": "categorical", "categories": [jsonable(c) for c in dim.categories]}
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


def point_to_json(point):
    return {name: jsonable(v) for name, v in point.items()}


def point_from_json(dims, stored):
    """Undo `point_to_json`: categorical choices come back as the objects themselves."""
    point = {}
    for name, dim in dims.items():
        value = stored[name]
        if isinstance(dim, Categorical):
            matches = [c for c in dim.categories if jsonable(c) == value]
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
            matches = [c for c in dim.categories if plain(c) == value and type(plain(c)) is type(value)]
            if not matches:
                raise ConfigError(f"{what}: {name}={value!r} is not one of the choices {list(dim.categories)!r}")
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
