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


# -- cell analysis: generated cells of ordinary Python -----------------------------------------------------
# The notebook holds `data` and `base`; the space provides `a`. The cell's own names are LOCAL; every value the
# generated code makes is a number, so a generated cell that fails does so for a reason the test can read.
NOTEBOOK = {"data": [1, 2, 3], "base": 2}
PROVIDED = ("a", "params")
LOCAL = ["s", "k", "t", "u"]
names = st.sampled_from(LOCAL)
atoms = st.one_of(st.sampled_from(LOCAL + ["a", "base", "len(data)"]), st.integers(0, 3).map(str))
expressions = st.one_of(atoms, st.builds("({} + {})".format, atoms, atoms),
                        names.map(lambda n: f"sum({n} * 2 for {n} in data)"),
                        st.builds("(lambda {0}={1}: {0} + {2})()".format, names, atoms, atoms),
                        st.builds("({} := {})".format, names, atoms))


def _indent(lines):
    return ["    " + line for line in lines]


def _statements(children):
    """One statement (as lines) built from smaller statement lists `children`."""
    return st.one_of(
        st.builds(lambda n, e: [f"{n} = {e}"], names, expressions),
        st.builds(lambda n, e: [f"{n} += {e}"], names, expressions),
        st.builds(lambda n, body: [f"for {n} in data:"] + _indent(body), names, children),
        st.builds(lambda n, body: [f"for {n} in range(2):"] + _indent(body) + ["else:", f"    {n} = 0"],
                  names, children),
        st.builds(lambda body: ["while True:"] + _indent(body + ["break"]), children),
        st.builds(lambda e, yes, no: [f"if {e}:"] + _indent(yes) + ["else:"] + _indent(no),
                  expressions, children, children),
        st.builds(lambda n, e, body: [f"with nullcontext({e}) as {n}:"] + _indent(body), names, expressions,
                  children),
        st.builds(lambda body, n, m, handler: ["try:"] + _indent(body + ["1 / 0"]) +
                  [f"except ZeroDivisionError as {n}:", f"    {m} = len(str({n}))"] + _indent(handler),
                  children, names, names, children),
        st.builds(lambda body, final: ["try:"] + _indent(body) + ["finally:"] + _indent(final), children, children),
        st.builds(lambda n, m, e: [f"{n} = [{m} * {e} for {m} in data][-1]"], names, names, atoms),
        st.builds(lambda n, m: [f"{n} = {{{m}: {m} + 1 for {m} in range(3)}}[1]"], names, names),
        st.builds(lambda n, e: [f"def make_{n}():", f"    global {n}", f"    {n} = {e}", f"make_{n}()"],
                  names, atoms),
        st.builds(lambda n, e: ["def read():", f"    return {e}", f"{n} = read()"], names, atoms),
        st.builds(lambda nm, e: [f"match [{e}, {e}, {e}]:", f"    case [{nm[0]}, *{nm[1]}]:",
                                 f"        {nm[1]} = len({nm[1]})", "    case _:", f"        {nm[0]} = 0"],
                  st.lists(names, min_size=2, max_size=2, unique=True), atoms),
        st.builds(lambda n, e: ["class Holder:", f"    value = {e}", f"{n} = Holder.value"], names, atoms),
        st.builds(lambda n: [f"import math as {n}", f"{n} = {n}.floor(2.5)"], names),
        st.builds(lambda n: [f"{n} = 1", f"del {n}"], names),
    )


def _block(statements):
    """Several statements, as one list of lines."""
    return st.lists(statements, min_size=1, max_size=3).map(lambda parts: sum(parts, []))


blocks = st.recursive(st.just(["pass"]), lambda inner: _block(_statements(inner)), max_leaves=10)
cells = st.builds(lambda body, last: "\n".join(["from contextlib import nullcontext"] + body + [last]),
                  _block(_statements(blocks)), expressions)


def _runs(source, namespace):
    """None when the cell runs in `namespace`, else the exception it raised."""
    try:
        exec(compile(source, "<cell>", "exec"), dict(namespace))
    except Exception as err:  # noqa: BLE001 - any failure is data here
        return err
    return None


@settings(max_examples=400, deadline=None)
@given(cells)
def test_cell_analysis_never_calls_a_name_the_cell_binds_undefined(source):
    from mlestar_nb.search.cell import analyse_cell, check_cell

    analysis = analyse_cell(source, provided=PROVIDED)
    if _runs(source, {**NOTEBOOK, "a": 1.0, "params": {"a": 1.0}}) is not None:
        return   # the cell fails by itself (maybe before it reaches a name nobody binds): nothing to hold it to
    shipped = check_cell(analysis, NOTEBOOK, provided=PROVIDED)   # no false "name is not defined"
    assert set(shipped) <= set(NOTEBOOK)
    # and what is shipped is enough: the worker's namespace runs the cell as the notebook does
    assert _runs(source, {**shipped, "a": 1.0, "params": {"a": 1.0}}) is None, source
    # a name nobody defines is still caught, wherever the cell reads it at its top level
    with pytest.raises(ConfigError, match="name 'undefined_zz' is not defined"):
        check_cell(analyse_cell(source + "\nundefined_zz", provided=PROVIDED), NOTEBOOK, provided=PROVIDED)
