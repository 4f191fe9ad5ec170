"""Conformance suite: every strategy honours the same ask/tell contract."""
import math

import pytest

from mlestar_nb.search.space import parse_space
from mlestar_nb.search.strategies import BayesSearch, GridSearch, RandomSearch, make_strategy
from mlestar_nb.search.strategies import EvolutionSearch, ScalarizedSearch
from mlestar_nb.search.objectives import Losses
from mlestar_nb.errors import ConfigError

SPACE = {"x": (-5.0, 10.0), "n": (1, 4), "kind": ["a", "b"]}


def branin_like(p):
    return (p["x"] - 2.0) ** 2 + p["n"] + (0 if p["kind"] == "a" else 1)


GRID_SPACE = {"x": [-5.0, 0.0, 2.5, 10.0], "n": (1, 4), "kind": ["a", "b"]}


# strategies added after the first ones, each built from (dims, seed); they run through every test below
MORE_STRATEGIES = [
    lambda dims, seed: EvolutionSearch(dims, seed=seed, population=4),
    lambda dims, seed: ScalarizedSearch(dims, lambda s: BayesSearch(dims, seed=s, n_initial=4), seed=seed,
                                        surrogate="GP"),
]


def _strategies(seed=1):
    dims = parse_space(SPACE)
    return ([RandomSearch(dims, seed=seed)]
            + [BayesSearch(dims, seed=seed, surrogate=s, n_initial=4) for s in ("GP", "RF", "ET", "GBRT")]
            + [make(dims, seed) for make in MORE_STRATEGIES]
            + [GridSearch(parse_space(GRID_SPACE), seed=seed, budget=10)])


def _name(strategy):
    return f"{strategy.name}-{getattr(strategy, 'surrogate', '')}"


@pytest.mark.parametrize("strategy", _strategies(), ids=_name)
def test_strategy_contract(strategy):
    dims = strategy.dims
    seen = []
    for _ in range(8):
        point = strategy.ask(pending=seen[-2:])
        assert set(point) == set(dims)
        assert type(point["x"]) is float and -5.0 <= point["x"] <= 10.0
        assert type(point["n"]) is int and 1 <= point["n"] <= 4
        assert type(point["kind"]) is str and point["kind"] in ("a", "b")
        strategy.tell(point, branin_like(point))
        seen.append(point)
    assert len(strategy.observations()) == 8


@pytest.mark.parametrize("index", range(1, len(_strategies())), ids=lambda i: _name(_strategies()[i]))
def test_a_running_point_is_not_proposed_again(index):
    """`pending` changes the proposal: two twins with the same history, one told that the point the other
    proposes is running, propose different points (random search ignores pending by design)."""
    twin, other = _strategies(seed=7)[index], _strategies(seed=7)[index]
    for strategy in (twin, other):
        for _ in range(6):
            point = strategy.ask()
            strategy.tell(point, branin_like(point))
    free = twin.ask()
    assert other.ask(pending=[free]) != free


@pytest.mark.parametrize("strategy", _strategies(), ids=_name)
def test_tell_from_another_thread_while_asking(strategy):
    """The engine's proposer asks in its own thread while the loop tells finished trials (strategies/base.py)."""
    import queue
    import threading

    finished, errors = queue.Queue(), []

    def tell_as_they_finish():
        try:
            while (point := finished.get()) is not None:
                strategy.tell(point, branin_like(point))
        except Exception as err:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(err)

    teller = threading.Thread(target=tell_as_they_finish)
    teller.start()
    asked = []
    for _ in range(10):
        point = strategy.ask(pending=asked[-2:])
        if point is None:
            break
        asked.append(point)
        finished.put(point)
    finished.put(None)
    teller.join()
    assert not errors and len(strategy.observations()) == len(asked) >= 8


@pytest.mark.parametrize("strategy", _strategies()[:-1] + [GridSearch(parse_space({"x": [0.5, 2.0], "n": (1, 4),
                                                                                   "kind": ["a", "b"]}), seed=1)],
                         ids=_name)
def test_enqueued_points_come_first_then_the_strategy_goes_on(strategy):
    queued = [{"x": 2.0, "n": 3, "kind": "b"}, {"x": 0.5, "n": 1, "kind": "a"}]
    strategy.enqueue(queued)
    asked = [strategy.ask() for _ in range(2)]
    assert asked == queued
    for point in asked:
        strategy.tell(point, branin_like(point))
    following = [strategy.ask() for _ in range(3)]
    assert all(set(p) == {"x", "n", "kind"} for p in following)
    if strategy.name == "grid":  # the grid does not visit a queued point again
        assert not any(p in queued for p in following)


def test_bayes_is_reproducible_with_a_seed_and_improves_on_random():
    dims = parse_space({"x": (-5.0, 10.0), "y": (0.0, 15.0)})

    def branin(p):
        x, y = p["x"], p["y"]
        return (y - 5.1 / (4 * math.pi ** 2) * x ** 2 + 5 / math.pi * x - 6) ** 2 \
            + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10

    def run(strategy):
        best = math.inf
        points = []
        for _ in range(25):
            p = strategy.ask()
            points.append(p)
            best = min(best, branin(p))
            strategy.tell(p, branin(p))
        return best, points

    best_a, points_a = run(BayesSearch(dims, seed=3))
    best_b, points_b = run(BayesSearch(dims, seed=3))
    assert points_a == points_b
    best_random = min(run(RandomSearch(dims, seed=s))[0] for s in range(3))
    assert best_a < 1.0 and best_a <= best_random


def test_grid_visits_every_point_once_then_stops():
    dims = parse_space({"a": (1, 3), "b": ["x", "y"]})
    grid = GridSearch(dims)
    points = []
    while (p := grid.ask()) is not None:
        points.append(p)
    assert len(points) == 6 and len({(p["a"], p["b"]) for p in points}) == 6
    assert grid.exhausted


def test_auto_picks_grid_only_when_it_fits_the_budget():
    discrete = parse_space({"a": (1, 3), "b": ["x", "y"]})
    assert make_strategy("auto", discrete, budget=6).name == "grid"
    assert make_strategy("auto", discrete, budget=5).name == "bayes"
    assert make_strategy("auto", parse_space({"x": (0.0, 1.0)}), budget=100).name == "bayes"


def test_grid_on_a_continuous_space_is_refused():
    with pytest.raises(ConfigError, match="x is continuous"):
        make_strategy("grid", parse_space({"x": (0.0, 1.0), "n": (1, 3)}), budget=10)


@pytest.mark.parametrize("make", MORE_STRATEGIES, ids=["evolution", "bayes-scalarized"])
def test_strategies_for_several_objectives_take_loss_vectors(make):
    """With objectives the engine tells `Losses` (a loss per objective and the constraints' violation)."""
    strategy = make(parse_space(SPACE), 3)
    for _ in range(8):
        point = strategy.ask()
        losses = Losses((branin_like(point), -point["x"]), violation=max(0.0, point["x"] - 8.0))
        strategy.tell(point, losses)
    assert all(isinstance(loss, Losses) for _, loss in strategy.observations())
    assert set(strategy.ask()) == {"x", "n", "kind"}
