"""What the rounds have learned: every trial, as the whole pipeline's settings and its search-fold score.

Every round's search scores its trials on the same search folds, so a trial of
an earlier round is a valid observation for a later round's space whenever
every setting outside that space was what it is now. Telling them to the next
search (`tune(known=...)`) means no round starts from scratch, and the last
round's joint polish starts from all of them.
"""
import numbers

from ..errors import ConfigError
from ..search.space import check_point, parse_space


class TrialMemory:
    def __init__(self):
        self._seen = []          # (plain settings of a pipeline, mean score on the search folds)

    def add(self, pipe, score):
        self._seen.append((plain_params(pipe), float(score)))

    def score_of(self, pipe):
        """The best search-fold score seen for exactly these settings, or None."""
        here = plain_params(pipe)
        scores = [score for point, score in self._seen if _same_point(point, here, ())]
        return max(scores) if scores else None

    def known(self, pipe, space):
        """Earlier trials that are points of `space` (pipeline parameter names) around `pipe`'s settings."""
        here, dims, known = plain_params(pipe), parse_space(space), []
        for point, score in self._seen:
            if not _same_point(point, here, space):
                continue
            try:
                projected = check_point(dims, {name: point[name] for name in space})
            except (ConfigError, KeyError):
                continue
            if projected not in [p for p, _ in known]:
                known.append((projected, score))
        return known


def current_values(pipe, space):
    """The pipeline's present settings as a point of `space`, or None when one lies outside it
    (SVC's gamma='scale' in a numeric range): the search then starts from its own design."""
    params = pipe.get_params()
    try:
        return check_point(parse_space(space), {name: params[name] for name in space})
    except (ConfigError, KeyError):
        return None


def changed(pipe, params):
    """Only the parameters a search moved: an unchanged best (the start point) is no candidate at all."""
    present = pipe.get_params()
    return {k: v for k, v in params.items() if k not in present or not same(present[k], v)}


def plain_params(pipe):
    """Every setting of the pipeline that is a plain value (numbers, strings, None): what makes two trials the
    same point. A step that is present is an object and absent from it; a removed one reads 'passthrough'."""
    return {k: v for k, v in pipe.get_params().items()
            if v is None or isinstance(v, (str, bool, numbers.Number))}


def same(a, b):
    """Equal settings, 1 and 1.0 included, True and 1 not."""
    try:
        return type(a) is type(b) and bool(a == b) or (_number(a) and _number(b) and a == b)
    except (TypeError, ValueError):   # objects that refuse ==, arrays
        return repr(a) == repr(b)


def _same_point(point, here, free):
    return point.keys() == here.keys() and all(same(point[k], here[k]) for k in here if k not in free)


def _number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
