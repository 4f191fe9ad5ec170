"""Several objectives and constraints: what the user asked for, checked before any trial starts.

``--objectives "score:max,predict_ms:min"`` names the values a trial returns and which way each is better;
``--constraint "predict_ms<=1.5"`` keeps a trial on the record but off the front when it breaks the bound. An
`ObjectiveSpec` holds both; it travels to the workers (a trial's dict must hold every name it lists), to the
strategies (as a `Losses` vector: every objective turned into a loss, and how far the constraints are broken), to
the journal's header and to the result, whose rules (`select`) pick one trial from the front.
"""
import ast
import math
import numbers
import re
from dataclasses import dataclass

from ..errors import ConfigError, expected

DIRECTIONS = ("max", "min")
BUILT_IN = ("score", "fit_s", "predict_ms", "size_kb")   # what the worker measures for an estimator and --data
POSITIVE = ("fit_s", "predict_ms", "size_kb")             # measures that are never 0 or below
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


@dataclass(frozen=True)
class Objective:
    name: str
    direction: str      # "max" or "min"

    def loss(self, value):
        return -value if self.direction == "max" else value

    def __str__(self):
        return f"{self.name}:{self.direction}"


@dataclass(frozen=True)
class Constraint:
    name: str
    op: str             # "<=" or ">="
    bound: float

    def violation(self, value):
        """How far `value` breaks the bound, relative to the bound's size (0 when it holds)."""
        over = value - self.bound if self.op == "<=" else self.bound - value
        return max(0.0, over) / (abs(self.bound) or 1.0)

    def __str__(self):
        return f"{self.name}{self.op}{self.bound:g}"


class Losses(tuple):
    """A trial's objectives as losses (lower is better), with `violation`: 0 when every constraint holds.

    What the engine tells a strategy for a search with `ObjectiveSpec`; single-objective strategies get a float.
    """

    def __new__(cls, values, violation=0.0):
        made = super().__new__(cls, (float(v) for v in values))
        made.violation = float(violation)
        return made

    def __reduce__(self):
        return (Losses, (tuple(self), self.violation))

    def __repr__(self):
        return f"Losses({tuple(self)!r}, violation={self.violation:g})"


def as_losses(loss):
    """A strategy's observation as `Losses`: a plain number is one objective, always feasible."""
    return loss if isinstance(loss, Losses) else Losses((float(loss),))


@dataclass(frozen=True)
class ObjectiveSpec:
    objectives: tuple               # Objective, in the user's order: the first is a trial's `value`
    constraints: tuple = ()         # Constraint
    reference: tuple = None         # a hypervolume reference, one value per objective (its own direction)

    @property
    def names(self):
        return [o.name for o in self.objectives]

    @property
    def needed(self):
        """Every name a trial must return: the objectives, then what the constraints read."""
        return self.names + [c.name for c in self.constraints if c.name not in self.names]

    @property
    def first(self):
        return self.objectives[0].name

    @property
    def maximize(self):
        """Whether the first objective (a trial's `value`) is maximized."""
        return self.objectives[0].direction == "max"

    @property
    def multi(self):
        return len(self.objectives) > 1

    def to_json(self):
        return {"objectives": [[o.name, o.direction] for o in self.objectives],
                "constraints": [str(c) for c in self.constraints]}

    def describe(self):
        text = ", ".join(map(str, self.objectives))
        if self.constraints:
            text += "; subject to " + ", ".join(map(str, self.constraints))
        return text

    # -- one trial -------------------------------------------------------------------------------
    def values(self, trial):
        """{name: value} of a finished trial's objectives, or None when it lacks one (failed, or not scored)."""
        metrics = trial.metrics or {}
        try:
            return {name: float(metrics[name]) for name in self.names}
        except (KeyError, TypeError, ValueError):
            return None

    def violation(self, trial):
        metrics = trial.metrics or {}
        total = 0.0
        for constraint in self.constraints:
            value = metrics.get(constraint.name)
            if not isinstance(value, numbers.Real) or not math.isfinite(value):
                return math.inf
            total += constraint.violation(float(value))
        return total

    def feasible(self, trial):
        return self.violation(trial) == 0.0

    def losses(self, trial):
        values = self.values(trial)
        if values is None:
            return None
        return Losses((o.loss(values[o.name]) for o in self.objectives), self.violation(trial))

    def returned(self, value):
        """Worker side: the trial's dict, checked to hold every needed name as a finite number.

        A trial that lacks one fails alone, with a message naming it.
        """
        if not isinstance(value, dict):
            raise TypeError(f"the objective returned a {type(value).__name__}, but --objectives needs a dict with "
                            f"{', '.join(self.needed)} (or an unfitted estimator with --data)")
        for name in self.needed:
            if name not in value:
                keys = ", ".join(map(str, value)) or "none"
                raise ValueError(f"the objective returned no '{name}' (its keys: {keys}); every name of "
                                 "--objectives and --constraint must be in the dict it returns")
            number = value[name]
            if hasattr(number, "item") and getattr(number, "shape", None) == ():
                number = number.item()
            if isinstance(number, bool) or not isinstance(number, numbers.Real) or not math.isfinite(number):
                raise ValueError(f"the objective's '{name}' is {number!r}, not a finite number")
        return value


def parse_spec(objectives=None, constraints=(), reference=None, *, minimize=False):
    """The `ObjectiveSpec` for tune()'s options, or None for a plain single-objective search.

    `objectives` is "NAME:max|min,..." (the magic's text), a dict {name: "max"|"min"} or a list of pairs;
    `constraints` is a list of "NAME<=V" / "NAME>=V". Constraints without objectives constrain the score.
    """
    if isinstance(constraints, str):
        constraints = [constraints]
    constraints = tuple(_constraint(text) for text in (constraints or ()))
    if objectives is None or (isinstance(objectives, str) and not objectives.strip()):
        if not constraints:
            return None
        parsed = (Objective("score", "min" if minimize else "max"),)
    else:
        if minimize:
            raise ConfigError("--minimize sets the direction of one score; with --objectives each objective has "
                              "its own (e.g. loss:min): drop --minimize")
        parsed = _objectives(objectives)
        if len(parsed) == 1 and not constraints:
            raise ConfigError(f"--objectives names one objective ({parsed[0]}) and no constraint, which is a plain "
                              "search: drop --objectives (with --minimize for a lower-is-better score), or name a "
                              "second objective (e.g. score:max,predict_ms:min) or add a --constraint")
    _check_satisfiable(constraints)
    spec = ObjectiveSpec(parsed, constraints)
    if reference is not None:
        spec = ObjectiveSpec(parsed, constraints, reference_values(reference, spec))
    return spec


def _objectives(spec):
    if isinstance(spec, str):
        pairs = []
        for part in spec.split(","):
            if not part.strip():
                continue
            if ":" not in part:
                raise ConfigError(f"--objectives: {part.strip()!r} has no direction; write NAME:max or NAME:min, "
                                  "e.g. \"score:max,predict_ms:min\"")
            name, direction = part.rsplit(":", 1)
            pairs.append((name.strip(), direction.strip()))
    elif isinstance(spec, dict):
        pairs = list(spec.items())
    elif isinstance(spec, (list, tuple)) and all(isinstance(p, (list, tuple)) and len(p) == 2 for p in spec):
        pairs = [tuple(p) for p in spec]
    else:
        example = "e.g. {'score': 'max', 'predict_ms': 'min'}"
        raise ConfigError(f"objectives must be \"NAME:max|min,...\" or a dict {{name: 'max' or 'min'}}, "
                          f"{expected(example, spec)}")
    if not pairs:
        raise ConfigError("--objectives is empty; name each objective with its direction, e.g. "
                          "\"score:max,predict_ms:min\"")
    seen, parsed = set(), []
    for name, direction in pairs:
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"--objectives: {name!r} is not a plain name (letters, digits and _); name the keys "
                              "of the cell's dict that way, e.g. predict_ms")
        direction = str(direction).strip().lower()
        if direction not in DIRECTIONS:
            raise ConfigError(f"--objectives: the direction of '{name}' is {direction!r}; use max or min "
                              f"(e.g. {name}:max)")
        if name in seen:
            raise ConfigError(f"--objectives names '{name}' twice; name each objective once")
        seen.add(name)
        parsed.append(Objective(name, direction))
    return tuple(parsed)


def _constraint(text):
    if isinstance(text, Constraint):
        return text
    match = _CONSTRAINT.match(str(text))
    if not match:
        raise ConfigError(f"--constraint {text!r} is not NAME<=V or NAME>=V with a number V, "
                          "e.g. \"predict_ms<=1.5\"")
    name, op, bound = match.groups()
    return Constraint(name, op, float(bound))


def _check_satisfiable(constraints):
    """Refuse constraints no trial can meet: bounds that contradict each other, a measure bounded at or below 0."""
    for constraint in constraints:
        if constraint.name in POSITIVE and constraint.op == "<=" and constraint.bound <= 0:
            raise ConfigError(f"--constraint {constraint} can never hold: {constraint.name} is a measured time or "
                              "size, always above 0; give a positive bound")
    for low in constraints:
        for high in constraints:
            if low.name == high.name and low.op == ">=" and high.op == "<=" and low.bound > high.bound:
                raise ConfigError(f"--constraint {low} and {high} can never both hold; widen one of them")


def reference_values(reference, spec):
    if not isinstance(reference, dict) or set(reference) != set(spec.names):
        raise ConfigError(f"reference must be a dict with one number per objective ({', '.join(spec.names)}), "
                          f"{expected('e.g. ' + repr({n: 0.0 for n in spec.names}), reference)}")
    values = []
    for name in spec.names:
        value = reference[name]
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ConfigError(f"reference['{name}'] must be a finite number, got {value!r}")
        values.append(float(value))
    return tuple(values)


# -- what the cell returns, known before any trial ------------------------------------------------------
def check_returns(spec, objective, data):
    """Raise ConfigError when the objective visibly cannot return a name the spec needs.

    Known for a cell (`search.cell.CellObjective`) that ends with a dict display, ``dict(...)``, a name assigned
    one of those in the cell, or an estimator built from a class of the notebook (which, with `data`, gives
    score, fit_s, predict_ms and size_kb). Anything else is checked trial by trial.
    """
    returned = returned_names(objective, data)
    if returned is None:
        return
    kind, names = returned
    what = ("an unfitted estimator, which mlestar-nb measures as " if kind == "estimator"
            else "a dict with ") + ", ".join(names)
    for name in spec.names:
        if name not in names:
            raise ConfigError(f"--objectives names '{name}', which the cell does not return (it returns {what}); "
                              f"return '{name}' too, or name only what it returns")
    for constraint in spec.constraints:
        if constraint.name not in names:
            raise ConfigError(f"--constraint {constraint} names '{constraint.name}', which is neither an objective "
                              f"nor returned by the cell (it returns {what})")


def returned_names(objective, data):
    """("dict" | "estimator", [names]) the objective's cell visibly returns, or None when that is not visible."""
    source = getattr(objective, "source", None)
    namespace = getattr(objective, "namespace", None)
    if not isinstance(source, str) or not isinstance(namespace, dict):
        return None
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return None
    target = getattr(objective, "objective_name", None)
    if target is not None:
        expression = _assigned(body, target)
    else:
        expression = body[-1].value if body and isinstance(body[-1], ast.Expr) else None
    found = _shape(expression, body, namespace, depth=0)
    if found == "estimator":
        return ("estimator", list(BUILT_IN)) if data is not None else None
    return ("dict", found) if found is not None else None


def _shape(node, body, namespace, depth):
    if node is None or depth > 5:
        return None
    if isinstance(node, ast.Dict):
        keys = [k.value if isinstance(k, ast.Constant) and isinstance(k.value, str) else None for k in node.keys]
        return None if None in keys else keys
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" \
            and "dict" not in namespace and not node.args and all(k.arg for k in node.keywords):
        return [k.arg for k in node.keywords]
    if isinstance(node, ast.Name):
        assigned = _assigned(body, node.id)
        if assigned is not None:
            return _shape(assigned, body, namespace, depth + 1)
        value = namespace.get(node.id)
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return list(value)
        return "estimator" if _is_estimator_object(value) else None
    if isinstance(node, ast.Call):
        built = _resolve(node.func, namespace)
        if isinstance(built, type) and hasattr(built, "fit") and hasattr(built, "get_params"):
            return "estimator"
        if callable(built) and getattr(built, "__module__", "") == "sklearn.pipeline" \
                and getattr(built, "__name__", "") in ("make_pipeline", "Pipeline"):
            return "estimator"
    return None


def _assigned(body, name):
    """The value last assigned to `name` by a plain module-level ``name = ...`` of the cell, when it is the only
    way the cell binds it."""
    found = None
    for statement in body:
        if isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name
                                                     for t in statement.targets):
            if len(statement.targets) != 1:
                return None
            found = statement.value
        elif any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)
                 for n in ast.walk(statement)):
            return None   # bound some other way (a loop, a with, an augmented assignment): not visible
    return found


def _resolve(node, namespace):
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, namespace)
        return getattr(owner, node.attr, None) if owner is not None else None
    return None


def _is_estimator_object(value):
    return value is not None and not isinstance(value, type) and hasattr(value, "fit") \
        and hasattr(value, "get_params")


def trial_loss(trial, maximize, spec=None):
    """What a strategy is told of a finished trial: its loss (the score, negated when maximized), or with
    objectives its `Losses` (None when the trial lacks a value, which no strategy is told)."""
    if spec is None:
        return -trial.value if maximize else trial.value
    return spec.losses(trial)


def objective_options(objectives, constraints, reference, select, *, minimize, patience, target, known, objective,
                      data):
    """tune()'s checks for several objectives, before any trial starts: (ObjectiveSpec or None, selection rule)."""
    from .selection import parse_rule

    spec = parse_spec(objectives, constraints, reference, minimize=minimize)
    if spec is None:
        if select is not None or reference is not None:
            raise ConfigError("select and reference apply to a search with several objectives; add objectives= "
                              "(--objectives), or drop them")
        return None, None
    if patience is not None or target is not None:
        raise ConfigError("patience and target follow one best score, which a search with objectives or "
                          "constraints does not have; drop them and bound the search with --trials or --timeout")
    if known:
        raise ConfigError("known takes (params, score) pairs, which a search with objectives cannot place; "
                          "pass them as start points instead (start=)")
    check_returns(spec, objective, data)
    return spec, parse_rule(select, spec)


def check_resumed(name, stored, header):
    """A journal resumes only with the objectives it was written for (constraints may change: they are applied
    again to the recorded values)."""
    if stored.get("objectives") != header.get("objectives"):
        def words(found):
            return ", ".join(f"{n}:{d}" for n, d in found) if found else "one score"
        raise ConfigError(f"journal '{name}' was written for {words(stored.get('objectives'))}, not "
                          f"{words(header.get('objectives'))}; resume with the same --objectives, or start a new "
                          "search with another --name")
