"""How numbers read, everywhere: scores, differences, p-values, durations and parameter values."""

MISSING = "n/a"


def score(value, digits=5):
    """A score to `digits` significant digits; n/a when there is none."""
    return MISSING if value is None else f"{value:.{digits}g}"


def signed(value, digits=4):
    """A difference with its sign (+0.0312)."""
    return MISSING if value is None else f"{value:+.{digits}g}"


def p_value(value):
    """A p-value to 3 significant digits, or <1e-4."""
    if value is None:
        return MISSING
    return "<1e-4" if value < 1e-4 else f"{value:.3g}"


def seconds(value):
    """A duration: 0.35 s, 12.4 s, 3 min 05 s."""
    if value is None:
        return MISSING
    if value < 60:
        return f"{value:.3g} s"
    minutes, rest = divmod(int(round(value)), 60)
    return f"{minutes} min {rest:02d} s"


def value(v):
    """A parameter value: floats to 4 significant digits, anything else as its repr."""
    return f"{v:.4g}" if isinstance(v, float) else repr(v)


def params(point):
    """A point of the space in one line: name=value, ..."""
    return ", ".join(f"{k}={value(v)}" for k, v in point.items())
