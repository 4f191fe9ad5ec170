"""No option line or space lets anything but a plain UsageError out of the magic's checks."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from mlestar_nb.errors import ConfigError
from mlestar_nb.search.space import parse_space

OPTION_WORDS = ["--space", "space", "--trials", "--jobs", "--strategy", "grid", "bayes", "--surrogate", "gp",
                "--timeout", "--patience", "--target", "--seed", "--name", "--resume", "--data", "X", "y", "--cv",
                "--scoring", "--objective", "--out", "--backend", "-1", "0", "nan", "1e9", "{", "}", "(", ")", "[",
                "]", "'", '"', ",", ":", "'a'", "0.5", "--bogus", "=", "log-uniform"]

scalars = st.one_of(st.integers(-5, 5), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=4),
                    st.none(), st.booleans())
dimension = st.one_of(scalars, st.tuples(scalars, scalars), st.tuples(scalars, scalars, scalars),
                      st.lists(scalars, max_size=4), st.tuples(scalars, scalars, scalars, scalars))
spaces = st.one_of(st.dictionaries(st.text(max_size=6), dimension, max_size=4), scalars, st.lists(scalars))


@settings(max_examples=300, deadline=None)
@given(spaces)
def test_space_parser_only_raises_config_error(spec):
    try:
        dims = parse_space(spec)
    except ConfigError:
        return
    assert dims and set(dims) == set(spec)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(OPTION_WORDS), max_size=8).map(" ".join))
def test_option_parser_only_raises_usage_error(ns, line):
    ns.user_ns["space"] = {"x": (0.0, 1.0)}
    before = set(ns.user_ns)
    try:
        # a cell that fails fast if a search does start: no fuzzed line should leave a trial running long
        ns.run_cell_magic("mlestar_tune", line + " --trials 1 --backend sequential --quiet", "x")
    except UsageError as err:
        assert type(err) is UsageError and "\n" not in str(err)
    assert set(ns.user_ns) - before <= {"X", "y", "space"} | set(line.split())
