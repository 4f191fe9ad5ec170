"""Choosing one trial from a front: the knee, weights, the cheapest within a tolerance of the best, or a function.

Every rule but `cheapest_within` works on the front scaled to [0, 1] per objective (0: the front's best value,
1: its worst), so that milliseconds and accuracy weigh alike:
- knee: the trial with the smallest sum of scaled losses; with two objectives, the one farthest from the line
  through the two ends of the front (where trading one objective for the other stops paying);
- weights: the smallest weighted sum of scaled losses (an objective left out weighs 0);
- cheapest_within: among every feasible trial whose score is within the tolerance of the best score (in the
  score's own units), the one with the lowest cost (the other objectives, scaled and summed when several);
- a function: called with the front (a list of Trial) and returns one of them.
"""
import numbers

from ..errors import ConfigError, expected

RULES = ("knee", "weights", "cheapest_within")


def parse_rule(rule, spec):
    """A selection rule, checked against the spec: "knee", {"weights": {...}}, {"cheapest_within": tol}, a callable.

    The magic's text forms ("cheapest_within=0.01", "weights=score:2,predict_ms:1") are read here too.
    """
    if rule is None or callable(rule):
        return rule
    if isinstance(rule, str):
        text = rule.strip()
        if text == "knee":
            return "knee"
        if "=" in text:
            key, _, value = text.partition("=")
            key = key.strip()
            if key == "cheapest_within":
                rule = {key: _number(value, "cheapest_within")}
            elif key == "weights":
                rule = {key: _weights_text(value)}
            else:
                rule = {key: value}
        else:
            rule = {text: None}
    if not isinstance(rule, dict) or len([k for k in rule if k != "cost"]) != 1:
        raise ConfigError(f"unknown selection rule {rule!r}; use 'knee', {{'weights': {{name: w}}}}, "
                          "{'cheapest_within': 0.01} or a function of the front")
    key = next(k for k in rule if k != "cost")
    if key not in RULES[1:]:
        raise ConfigError(f"unknown selection rule {key!r}; use knee, weights or cheapest_within")
    if key == "weights":
        weights = rule["weights"]
        if not isinstance(weights, dict) or not weights:
            raise ConfigError("the weights rule needs a dict {objective: weight}, e.g. {'weights': {'score': 2, "
                              "'predict_ms': 1}}")
        for name, weight in weights.items():
            if name not in spec.names:
                raise ConfigError(f"the weights name '{name}', which is not an objective ({', '.join(spec.names)})")
            if isinstance(weight, bool) or not isinstance(weight, numbers.Real) or weight < 0:
                raise ConfigError(f"the weight of '{name}' must be a number >= 0, got {weight!r}")
        if not any(weights.values()):
            raise ConfigError("every weight is 0; give at least one objective a positive weight")
        return {"weights": {k: float(v) for k, v in weights.items()}}
    tolerance = rule["cheapest_within"]
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real) or not tolerance >= 0:
        raise ConfigError(f"cheapest_within takes how far below the best score a trial may be, a number >= 0, "
                          f"{expected('e.g. 0.01', tolerance)}")
    primary = _primary(spec)
    costs = rule.get("cost") or [n for n in spec.names if n != primary]
    costs = [costs] if isinstance(costs, str) else list(costs)
    unknown = [c for c in costs if c not in spec.names or c == primary]
    if unknown or not costs:
        raise ConfigError(f"cheapest_within needs a cost among the other objectives ({', '.join(spec.names)}) "
                          f"besides the score '{primary}'" + (f"; '{unknown[0]}' is not one" if unknown else ""))
    return {"cheapest_within": float(tolerance), "cost": costs}


def _number(text, what):
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"{what}={text.strip()} is not a number, e.g. {what}=0.01") from None


def _weights_text(text):
    weights = {}
    for part in text.split(","):
        name, sep, value = part.partition(":")
        if not sep:
            raise ConfigError(f"weights: {part.strip()!r} is not NAME:WEIGHT, e.g. weights=score:2,predict_ms:1")
        weights[name.strip()] = _number(value, f"weights {name.strip()}")
    return weights


def _primary(spec):
    """The objective a tolerance is measured on: 'score' when it is one, else the first."""
    return "score" if "score" in spec.names else spec.first


def describe_rule(rule):
    if rule is None:
        return "knee, the default"
    if callable(rule):
        return f"the function {getattr(rule, '__name__', repr(rule))}"
    if isinstance(rule, str):
        return rule
    if "weights" in rule:
        return "weights " + ", ".join(f"{k}={v:g}" for k, v in rule["weights"].items())
    return f"cheapest ({', '.join(rule['cost'])}) within {rule['cheapest_within']:g} of the best"


def choose(rule, front, feasible, spec):
    """The one trial `rule` picks: from `front` (the feasible non-dominated trials), or for cheapest_within from
    every feasible trial. None when there is no feasible trial."""
    from .pareto import normalized

    if not front:
        return None
    if callable(rule):
        picked = rule(list(front))
        picked = next((t for t in front if t is picked or t.number == getattr(picked, "number", picked)), None)
        if picked is None:
            raise ConfigError("the selection function must return one of the trials it was given (the front)")
        return picked
    if isinstance(rule, dict) and "cheapest_within" in rule:
        return _cheapest_within(rule, feasible, spec)
    losses = [spec.losses(t) for t in front]
    scaled = normalized(losses)
    if rule is None or rule == "knee":
        weights = [1.0] * len(spec.names)
    else:
        weights = [rule["weights"].get(name, 0.0) for name in spec.names]
    totals = scaled @ weights
    index = min(range(len(front)), key=lambda i: (round(float(totals[i]), 12), tuple(losses[i]), front[i].number))
    return front[index]


def _cheapest_within(rule, feasible, spec):
    from .pareto import normalized

    primary = _primary(spec)
    objective = next(o for o in spec.objectives if o.name == primary)
    values = {t.number: spec.values(t) for t in feasible}
    best = min(objective.loss(v[primary]) for v in values.values())
    near = [t for t in feasible if objective.loss(values[t.number][primary]) <= best + rule["cheapest_within"]
            + 1e-12]
    costs = [[next(o for o in spec.objectives if o.name == c).loss(values[t.number][c]) for c in rule["cost"]]
             for t in near]
    totals = normalized(costs).sum(axis=1)
    return min(zip(near, totals), key=lambda pair: (round(float(pair[1]), 12),
                                                     objective.loss(values[pair[0].number][primary]),
                                                     pair[0].number))[0]
