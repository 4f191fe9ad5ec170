import pytest
from skopt.space import Categorical, Integer, Real

from mlestar_nb.errors import ConfigError
from mlestar_nb.search.space import grid_size, parse_space, point_from_json, point_to_json, space_to_json

BRIEF_SPACE = {
    "learning_rate": (0.001, 0.3, "log-uniform"),
    "batch_size": [16, 32, 64, 128, 256],
    "regularization": (1e-6, 1e-2, "log-uniform"),
    "network_depth": [2, 3, 4, 5, 6],
    "dropout_rate": (0.1, 0.5, "uniform"),
}


def test_brief_space_parses_as_written():
    dims = parse_space(BRIEF_SPACE)
    assert list(dims) == list(BRIEF_SPACE)
    assert isinstance(dims["learning_rate"], Real) and dims["learning_rate"].prior == "log-uniform"
    assert isinstance(dims["batch_size"], Categorical) and list(dims["batch_size"].categories) == [16, 32, 64, 128, 256]
    assert isinstance(dims["dropout_rate"], Real) and dims["dropout_rate"].prior == "uniform"
    assert (dims["learning_rate"].low, dims["learning_rate"].high) == (0.001, 0.3)


def test_int_tuple_is_integer_range_and_dimensions_pass_through():
    dims = parse_space({"depth": (2, 8), "alpha": Real(0.1, 1.0), "k": (1, 5, "uniform")})
    assert isinstance(dims["depth"], Integer) and (dims["depth"].low, dims["depth"].high) == (2, 8)
    assert isinstance(dims["alpha"], Real) and dims["alpha"].name == "alpha"
    assert isinstance(dims["k"], Integer)
    assert grid_size(parse_space({"a": (1, 3), "b": ["x", "y"]})) == 6
    assert grid_size(dims) is None


@pytest.mark.parametrize("spec, words", [
    ([("a", 1)], "must be a dict"),
    ({}, "empty"),
    ({"a": (2, 1)}, "low must be below high"),
    ({"a": (1.0, 1.0)}, "low must be below high"),
    ({"a": (0.0, 1.0, "cubic")}, "unknown prior"),
    ({"a": []}, "categorical list is empty"),
    ({"a": (0.0, 1.0, "log-uniform")}, "log-uniform range needs low > 0"),
    ({"a": "wide"}, "expected (low, high[, prior])"),
    ({"a": (1, 2, 3, 4)}, "(low, high) or (low, high, prior)"),
    ({"params": (1, 2)}, "reserved"),
    ({"not valid": (1, 2)}, "not a valid Python name"),
    ({"a": (float("nan"), 1.0)}, "finite numbers"),
])
def test_bad_spaces_say_what_to_fix(spec, words):
    with pytest.raises(ConfigError) as info:
        parse_space(spec)
    assert words in str(info.value)


def test_points_round_trip_through_json_with_object_choices():
    class Choice:
        def __repr__(self):
            return "Choice()"

    obj = Choice()
    dims = parse_space({"a": (1, 5), "b": [obj, "plain"], "c": (0.5, 1.5)})
    point = {"a": 3, "b": obj, "c": 0.75}
    stored = point_to_json(point)
    assert stored == {"a": 3, "b": "Choice()", "c": 0.75}
    assert point_from_json(dims, stored)["b"] is obj
    assert space_to_json(dims)["b"]["categories"] == ["Choice()", "plain"]
