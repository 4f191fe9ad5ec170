"""Conformance suite: every strategy honours the same ask/tell contract."""
import math
import random
import statistics
import time

import numpy as np
import pytest

import mlestar_nb
from slow_strategies import SlowRandomSearch
from mlestar_nb.search.proposer import PROPOSER_NICE, Plan, Proposer
from mlestar_nb.search.space import check_point, parse_space
from mlestar_nb.search.strategies import BayesSearch, GridSearch, RandomSearch, make_strategy
from mlestar_nb.search.strategies import EvolutionSearch, ScalarizedSearch
from mlestar_nb.search.objectives import Losses
from mlestar_nb.search.conditional import Structure, is_structured
from mlestar_nb.search.strategies import StructuredStrategy
from mlestar_nb.search.strategies.bayes import FIT_CAP, FULL_FIT_EVERY
from mlestar_nb.search.strategies.gp import Hyper, Posterior, log_expected_improvement, scale_losses
from mlestar_nb.errors import ConfigError

SPACE = {"x": (-5.0, 10.0), "n": (1, 4), "kind": ["a", "b"]}


def branin(p):
    """Branin's function on x in [-5, 10], y in [0, 15]; minimum 0.397887."""
    x, y = p["x"], p["y"]
    return (y - 5.1 / (4 * math.pi ** 2) * x ** 2 + 5 / math.pi * x - 6) ** 2 \
        + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10


def branin_like(p):
    return (p["x"] - 2.0) ** 2 + p["n"] + (0 if p["kind"] == "a" else 1)


GRID_SPACE = {"x": [-5.0, 0.0, 2.5, 10.0], "n": (1, 4), "kind": ["a", "b"]}
# issue 15: the same, with a per-layer list as long as n and a setting that exists only for kind b with x > 0
CONDITIONAL = {"w": {"per": "n", "space": (1, 8)}, "extra": {"when": "kind == 'b' and x > 0", "space": (0.0, 1.0)}}
CONDITIONAL_GRID = {"w": {"per": "n", "space": [1, 8]}, "extra": {"when": "kind == 'b' and x > 0", "space": [0, 1]}}


# strategies added after the first ones, each built from (dims, seed); they run through every test below
MORE_STRATEGIES = [
    lambda dims, seed: EvolutionSearch(dims, seed=seed, population=4),
    lambda dims, seed: ScalarizedSearch(dims, lambda s: BayesSearch(dims, seed=s, n_initial=4), seed=seed,
                                        surrogate="GP"),
]


def _flat(make, dims, seed):
    """`make` over a conditional space's flat layout, as make_strategy wraps every strategy it builds."""
    if not is_structured(dims):
        return make(dims, seed)
    structure = Structure(dims)
    return StructuredStrategy(make(structure.flat, seed), structure)


def _strategies(seed=1, conditional=False):
    dims = parse_space({**SPACE, **(CONDITIONAL if conditional else {})})
    grid = {**GRID_SPACE, "n": (1, 2), **CONDITIONAL_GRID} if conditional else GRID_SPACE
    return ([make_strategy("random", dims, budget=10, seed=seed)]
            + [make_strategy("bayes", dims, budget=10, seed=seed, surrogate=s, n_initial=4)
               for s in ("GP", "RF", "ET", "GBRT")]
            + [_flat(make, dims, seed) for make in MORE_STRATEGIES]
            + [GridSearch(parse_space(grid), seed=seed, budget=10)])


def _every_strategy(seed=1):
    return _strategies(seed) + _strategies(seed, conditional=True)


def _name(strategy):
    structured = "-conditional" if any(isinstance(v, dict) for v in _spec(strategy).values()) else ""
    return f"{strategy.name}-{getattr(strategy, 'surrogate', '')}{structured}"


def _spec(strategy):
    from mlestar_nb.search.space import space_to_json

    return space_to_json(strategy.dims)


@pytest.mark.parametrize("strategy", _every_strategy(), ids=_name)
def test_strategy_contract(strategy):
    dims = strategy.dims
    seen = []
    for _ in range(8):
        point = strategy.ask(pending=seen[-2:])
        assert check_point(dims, point) == point      # every name of the space, or exactly the active ones
        assert type(point["x"]) is float and -5.0 <= point["x"] <= 10.0
        assert type(point["n"]) is int and 1 <= point["n"] <= 4
        assert type(point["kind"]) is str and point["kind"] in ("a", "b")
        strategy.tell(point, branin_like(point))
        seen.append(point)
    assert len(strategy.observations()) == 8


@pytest.mark.parametrize("index", [i for i, s in enumerate(_every_strategy()) if s.name != "random"],
                         ids=lambda i: _name(_every_strategy()[i]))
def test_a_running_point_is_not_proposed_again(index):
    """`pending` changes the proposal: two twins with the same history, one told that the point the other
    proposes is running, propose different points (random search ignores pending by design)."""
    twin, other = _every_strategy(seed=7)[index], _every_strategy(seed=7)[index]
    for strategy in (twin, other):
        for _ in range(6):
            point = strategy.ask()
            strategy.tell(point, branin_like(point))
    free = twin.ask()
    assert other.ask(pending=[free]) != free


@pytest.mark.parametrize("strategy", _every_strategy(), ids=_name)
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


QUEUED = [{"x": 2.0, "n": 3, "kind": "b"}, {"x": 0.5, "n": 1, "kind": "a"}]
QUEUED_CONDITIONAL = [{"x": 2.0, "n": 2, "kind": "b", "w": [8, 1], "extra": 1}, {"x": 0.5, "n": 1, "kind": "a", "w": [1]}]


@pytest.mark.parametrize("strategy, queued", [(s, QUEUED) for s in _strategies()[:-1]]
                         + [(GridSearch(parse_space({"x": [0.5, 2.0], "n": (1, 4), "kind": ["a", "b"]}), seed=1),
                             QUEUED)]
                         + [(s, QUEUED_CONDITIONAL) for s in _strategies(conditional=True)[:-1]]
                         + [(GridSearch(parse_space({"x": [0.5, 2.0], "n": (1, 2), "kind": ["a", "b"],
                                                     **CONDITIONAL_GRID}), seed=1), QUEUED_CONDITIONAL)],
                         ids=lambda v: _name(v) if not isinstance(v, list) else "")
def test_enqueued_points_come_first_then_the_strategy_goes_on(strategy, queued):
    queued = [check_point(strategy.dims, p) for p in queued]
    strategy.enqueue(queued)
    asked = [strategy.ask() for _ in range(2)]
    assert asked == queued
    for point in asked:
        strategy.tell(point, branin_like(point))
    following = [strategy.ask() for _ in range(3)]
    assert all(check_point(strategy.dims, p) == p for p in following)
    if strategy.name == "grid":  # the grid does not visit a queued point again
        assert not any(p in queued for p in following)


def test_bayes_is_reproducible_with_a_seed_and_improves_on_random():
    dims = parse_space({"x": (-5.0, 10.0), "y": (0.0, 15.0)})

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


# -- batches, scaling, upkeep (issue 13) ------------------------------------------------------------------
def _gp_search(space, seed=0, **kwargs):
    return BayesSearch(parse_space(space), seed=seed, **kwargs)


def _observe(strategy, f, n, seed=0):
    rng = random.Random(seed)
    for _ in range(n):
        point = {name: rng.uniform(dim.low, dim.high) for name, dim in strategy.dims.items()}
        strategy.tell(point, f(point))


def test_ask_many_returns_points_of_the_space_for_every_surrogate():
    for strategy in _every_strategy():
        for point in strategy.ask_many(3):
            strategy.tell(point, branin_like(point))
        running = {"x": 1.0, "n": 2, "kind": "a", **({"w": [1, 2]} if "w" in strategy.dims else {})}
        batch = strategy.ask_many(3, pending=[running])
        assert len(batch) == 3
        assert all(type(p["x"]) is float and type(p["n"]) is int and p["kind"] in ("a", "b") for p in batch)
        assert all(check_point(strategy.dims, p) == p for p in batch)


def test_a_batch_spreads_out_and_is_not_drawn_to_the_running_points():
    """A running point in a mediocre region: the constant liar believes it scored the best loss so far and
    draws the next points to it (herding); the kriging believer leaves its region as the data left it."""
    bowl = lambda p: (p["x"] - 0.3) ** 2 + (p["y"] - 0.6) ** 2  # noqa: E731
    running = [{"x": 0.6, "y": 0.9}]          # mediocre (the optimum is at 0.3, 0.6), at the trust region's edge

    def batch(pending_policy):
        strategy = _gp_search({"x": (0.0, 1.0), "y": (0.0, 1.0)}, pending=pending_policy)
        _observe(strategy, bowl, 20)
        return [(p["x"], p["y"]) for p in strategy.ask_many(8, pending=running)]

    def near_running(points):
        return sum(math.dist(p, (0.6, 0.9)) < 0.15 for p in points)

    believer, liar = batch("believer"), batch("cl_min")
    assert near_running(believer) == 0 < near_running(liar)
    gaps = [math.dist(a, b) for i, a in enumerate(believer) for b in believer[i + 1:]]
    assert min(gaps) > 1e-6       # eight different points, none repeated
    assert statistics.median(math.dist(p, (0.3, 0.6)) for p in believer) < 0.2   # around the optimum


def test_huge_finite_scores_are_scaled_not_fatal(ns):
    """Finding 4 of issue 18: a score of 1e200 made the surrogate see NaN and lost the search."""
    for surrogate in ("GP", "ET"):
        result = ns.run_cell_magic("mlestar_tune", f"--space {{'a': (0.0, 1.0)}} --trials 12 --backend sequential "
                                                   f"--strategy bayes --surrogate {surrogate} --seed 0 --quiet",
                                   "1e200 * a if a > 0.5 else a")
        assert result.status == "completed" and result.error is None
        assert [t.state for t in result.trials] == ["complete"] * 12
        assert result.best_score > 0.9e200
    raw = [1e308, -1e308, 1e200, 3.0, 1.0, -5e-300, 2e-10]
    scaled = scale_losses(raw)
    assert np.isfinite(scaled).all()
    assert np.all(np.diff(scaled[np.argsort(raw)]) >= 0)    # order kept (values 1e-300 of the peak apart tie)
    assert np.argmin(scaled) == 1 and np.argmax(scaled) == 0


def test_warm_refits_keep_one_noise_term():
    """Finding 13 of issue 18: each warm-started GP fit added one more WhiteKernel."""
    from sklearn.gaussian_process.kernels import WhiteKernel

    strategy = _gp_search({"x": (-5.0, 10.0), "y": (0.0, 15.0)}, seed=1)
    for _ in range(30):
        point = strategy.ask()
        strategy.tell(point, branin_like({"x": point["x"], "n": 1, "kind": "a"}) + point["y"])
    assert strategy._refits >= 4
    kernel = strategy.kernel()
    whites = [k for k in [kernel, *kernel.get_params(deep=True).values()] if isinstance(k, WhiteKernel)]
    assert len(whites) == 1


def test_a_fit_on_the_first_few_results_does_not_hold_the_model_flat_once_the_rest_arrive():
    """With 16 workers, a fit on the first 3 results once set the length scales near 6 and the noise near 0.8
    (a flat model: the posterior's other mode), and the cheap warm-started refits that followed kept it."""
    for seed in range(4):
        strategy = _gp_search({"x": (-5.0, 10.0), "y": (0.0, 15.0)}, seed=seed)
        design = strategy.ask_many(16)
        for point in design[:3]:
            strategy.tell(point, branin(point))
        strategy.upkeep()
        for point in design[3:]:
            strategy.tell(point, branin(point))
        strategy.economy = True   # as under a high demand for points: no restarts for a warm start
        strategy.upkeep()
        assert max(strategy._hyper.length_scales) < 2.0 and strategy._hyper.noise < 0.5, seed


def levy(p):
    """The Levy function in as many dimensions as p has inputs (x0, x1, ...) on [-10, 10]; minimum 0 at 1."""
    w = [1 + (p[f"x{i}"] - 1) / 4 for i in range(len(p))]
    middle = sum((v - 1) ** 2 * (1 + 10 * math.sin(math.pi * v + 1) ** 2) for v in w[:-1])
    return math.sin(math.pi * w[0]) ** 2 + middle + (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)


def test_economy_refits_still_restart_now_and_then_so_a_flat_model_is_left():
    """Under a high demand for points (`economy`) refits once never restarted when the last fit could start
    them; a warm start from a flat model (amplitude on its floor, nearly all noise) never leaves it, so the
    search went on at random: 8-dimensional Levy, 16 workers, simulated clock, regret 24.7 against 3.8."""
    space = {f"x{i}": (-10.0, 10.0) for i in range(8)}
    flat = Hyper(0.0101, np.full(8, 11.6), 0.9)
    for seed in range(3):
        strategy = _gp_search(space, seed=seed)
        strategy.economy = True
        _observe(strategy, levy, 24, seed=seed)
        strategy._hyper, strategy._hyper_n = flat, 24
        for round_ in range(FULL_FIT_EVERY):
            _observe(strategy, levy, 12, seed=100 * seed + round_)
            assert strategy.upkeep()
        assert strategy._hyper.amplitude > 0.1 and strategy._hyper.noise < 0.5, seed


def test_the_posterior_gradients_of_many_points_match_finite_differences():
    rng = np.random.RandomState(0)
    X = rng.rand(30, 3)
    posterior = Posterior(X, scale_losses(np.sin(5 * X).sum(1)), Hyper(1.0, np.full(3, 0.4), 0.01))
    Q = rng.rand(5, 3)
    mean, var, dmean, dvar = posterior.gradients(Q)
    assert np.allclose(np.array(posterior.predict(Q)), np.array([mean, var]))
    for i, step in enumerate(1e-6 * np.eye(3)):
        up, down = posterior.predict(Q + step), posterior.predict(Q - step)
        assert np.allclose((up[0] - down[0]) / 2e-6, dmean[:, i], atol=1e-5)
        assert np.allclose((up[1] - down[1]) / 2e-6, dvar[:, i], atol=1e-5)
    single = posterior.gradient(Q[2])
    assert np.allclose(single[2], dmean[2]) and np.allclose(single[3], dvar[2])


def test_a_batch_polished_jointly_moves_its_points_uphill_and_keeps_them_apart():
    """At a high demand for points (effort 2 and 3) a batch is polished in one run instead of none: in 8
    dimensions the unpolished batch cost most of the regret (docs/bayes.md)."""
    strategy = _gp_search({f"x{i}": (-10.0, 10.0) for i in range(8)}, seed=0)
    _observe(strategy, levy, 40, seed=0)
    strategy.upkeep()
    X, y, _ = strategy._training_set(FIT_CAP)
    posterior = Posterior(X, y, strategy._hyper)
    best, centre = float(y.min()), X[int(np.argmin(y))]
    low, high = box = strategy.trust_region.box(centre, strategy._hyper.length_scales)
    rows = strategy._candidates(centre, box, 16)
    polished = strategy._polish_jointly(posterior, rows, best, 10, box, len(X), None)
    before, after = (log_expected_improvement(*posterior.predict(r), best) for r in (rows, polished))
    assert np.all(after >= before) and np.sum(after > before + 1e-3) >= 8
    assert np.all(polished >= low - 1e-12) and np.all(polished <= high + 1e-12)
    gaps = np.max(np.abs(polished[:, None] - polished[None]), axis=2) + np.diag(np.full(16, np.inf))
    start = np.max(np.abs(rows[:, None] - rows[None]), axis=2) + np.diag(np.full(16, np.inf))
    assert np.all(gaps >= (1 - 2 * 0.4) * start - 1e-12)    # each moved at most 0.4 of the way to the nearest


def test_refits_are_rarer_as_data_grows_and_the_model_sees_a_capped_subset():
    strategy = _gp_search({"x": (0.0, 1.0), "y": (0.0, 1.0)})
    bowl = lambda p: (p["x"] - 0.3) ** 2 + (p["y"] - 0.6) ** 2  # noqa: E731
    refits = []
    for n in range(10, 301, 10):
        _observe(strategy, bowl, 10, seed=n)
        if strategy.upkeep_due:
            strategy.upkeep()
            refits.append(n)
    assert len(refits) <= 16 and refits[-1] - refits[-2] >= 30   # geometric: every 15 % more data
    X, y, seen = strategy._training_set(FIT_CAP)
    assert len(X) == FIT_CAP and seen == 300
    assert y.min() == scale_losses([loss for _, loss in strategy.observations()]).min()  # the best is kept


def test_the_plan_makes_bigger_batches_and_cheaper_points_when_demand_grows():
    plan = Plan(n_workers=16, max_effort=3)
    cost, cpu = (0.03, 0.005), 0.005        # seconds per conditioning and per point; CPU seconds per point
    slow_trials = plan.update(demand=2.0, cost=cost, effort=0, cpu_per_point=cpu)
    assert (slow_trials.batch, slow_trials.effort) == (1, 0)
    busy = plan.update(demand=30.0, cost=cost, effort=0, cpu_per_point=cpu)
    assert 1 < busy.batch <= 16 and busy.lead >= 1 and busy.effort == 0
    short_trials = plan.update(demand=160.0, cost=cost, effort=0, burst=16, cpu_per_point=0.001)
    assert short_trials.lead >= 16       # 16 trials of 0.1 s finish at once; a batch for all costs 0.11 s: all ready
    together = plan.update(demand=30.0, cost=cost, effort=0, burst=16, cpu_per_point=cpu)
    assert 1 < together.lead < 16        # 0.53 s trials: a batch for all is a fifth of one; the rest wait for it
    long_trials = plan.update(demand=16 / 5.0, cost=cost, effort=0, burst=16, cpu_per_point=cpu)
    assert long_trials.lead == 2         # a batch for all 16 costs 0.11 s, 2 % of a 5 s trial: they wait for it
    greedy = plan.update(demand=80.0, cost=cost, effort=0, cpu_per_point=0.01)
    assert greedy.effort == 2            # 80 points/s x 10 ms = 0.8 of a core: two halvings to fit 0.25
    flooded = plan.update(demand=2000.0, cost=cost, effort=3, cpu_per_point=0.001)
    assert flooded.batch == 16 and flooded.outrun
    assert not plan.update(demand=30.0, cost=cost, effort=3, cpu_per_point=0.001).outrun


class _CountingModel(RandomSearch):
    """A model-based strategy whose batches cost nothing beside the trials; records each batch's size."""
    is_costly = True

    def __init__(self, dims, seed=None):
        super().__init__(dims, seed)
        self.cost, self.sizes = (0.001, 0.0001), []

    def ask_many(self, n, pending=(), upkeep=True):
        self.sizes.append(n)
        return super().ask_many(n, pending, upkeep)


def _until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the proposer did not get there"
        time.sleep(0.01)


def test_workers_that_finish_together_get_one_batch_made_from_their_results():
    """With trials long beside a batch's cost, the proposer keeps few points ahead (they would be a round
    behind), and the workers of a round that ends together get one batch, one conditioning for all."""
    strategy = _CountingModel(parse_space(SPACE), seed=0)
    running = []
    proposer = Proposer(strategy, lambda: list(running), background=True, n_workers=8)
    try:
        for _ in range(2):                      # two rounds of 2 s trials: demand is known
            running[:] = [proposer.take() for _ in range(8)]
            for _ in range(8):
                proposer.trial_finished(2.0)
        _until(lambda: proposer.plan.lead <= 2 and len(proposer._ready) > proposer.plan.lead)
        ahead = len(proposer._ready)
        assert ahead <= 3
        strategy.sizes.clear()
        running[:] = [proposer.take() for _ in range(ahead)]   # a round ends together: the ready points go,
        _until(lambda: len(proposer._ready) >= 8 - ahead)     # and the other workers wait for one batch
        assert strategy.sizes[0] == 8 - ahead
    finally:
        proposer.close()


class _CountingDesign(BayesSearch):
    """The Gaussian-process search, counting the points of its initial design (Sobol) it hands out."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.design = 0

    def _initial_point(self):
        self.design += 1
        return super()._initial_point()


def _first_rounds(trial_seconds, workers=8):
    """A real proposer and GP search: one round of `workers` trials ends together, the next round is taken,
    and the proposer is given time to make points ahead; returns the strategy."""
    strategy = _CountingDesign(parse_space({"x": (-5.0, 10.0), "y": (0.0, 15.0)}), seed=0)   # 6 design points
    running = []
    proposer = Proposer(strategy, lambda: list(running), background=True, n_workers=workers)
    try:
        running[:] = [proposer.take() for _ in range(workers)]
        time.sleep(0.3)
        assert strategy.design == workers and not proposer._ready   # nothing ahead before a result
        finished, running[:] = list(running), []
        for point in finished:
            strategy.tell(point, branin(point))
            proposer.trial_finished(trial_seconds)
        running[:] = [proposer.take() for _ in range(workers)]
        _until(lambda: strategy.cost is not None and len(proposer._ready) > proposer.plan.lead)
        return strategy
    finally:
        proposer.close()


def test_workers_of_long_trials_wait_for_the_first_model_rather_than_more_design():
    """With 16 workers a round of the initial design's results comes together; every point asked before the
    first fit was more design, a second round of it (32 of the first 40 points). Trials long beside a fit
    wait for the model instead."""
    strategy = _first_rounds(trial_seconds=2.0)
    assert strategy.design == 8


def test_short_trials_get_design_points_only_for_the_workers_that_wait():
    """Short trials do not wait for the first fit, but nothing is made ahead of them from the design while it
    runs: no third round of it."""
    strategy = _first_rounds(trial_seconds=0.05)
    assert 8 <= strategy.design <= 16


class _TellClock(SlowRandomSearch):
    """Slow proposals that note when each result reaches the strategy."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.told_at = {}

    def tell(self, point, loss):
        self.told_at[point["x"]] = time.time()
        super().tell(point, loss)


def test_trials_that_finish_while_the_loop_waits_for_a_point_are_recorded_at_once():
    """The loop waits for the proposer's next point (0.3 s each here); a trial that ends meanwhile reaches
    the model (which that point may be waiting for), the journal and the views then, not after the wait."""
    from mlestar_nb.search.engine import Search, StopRules
    from mlestar_nb.executors import make_executor
    from mlestar_nb.search.trial import SearchPayload

    strategy = _TellClock(parse_space({"x": (0.0, 1.0)}), seed=0, delay=0.3)
    search = Search(payload=SearchPayload(objective=lambda p: time.sleep(0.02) or p["x"]), strategy=strategy,
                    executor=make_executor("threads", 4), rules=StopRules(budget=8))
    search.run()
    lags = [strategy.told_at[t.params["x"]] - t.end for t in search.trials]
    assert len(lags) == 8 and max(lags) < 0.15, lags


class _CheapestModel(RandomSearch):
    """A model-based strategy already at its cheapest that makes 5 points a second: far short of 16 workers."""
    is_costly = True

    def __init__(self, dims, seed=None):
        super().__init__(dims, seed)
        self.cost = (0.2, 0.0)

    def ask_many(self, n, pending=(), upkeep=True):
        time.sleep(0.2)
        return super().ask_many(n, pending, upkeep)


def test_auto_hands_the_shortfall_to_random_draws_and_says_so(monkeypatch):
    from mlestar_nb.search import tuner

    def outrun(name, dims, **options):
        strategy = _CheapestModel(dims, seed=0)
        strategy.fallback = RandomSearch(dims, seed=1) if name == "auto" else None
        return strategy

    monkeypatch.setattr(tuner, "make_strategy", outrun)
    space = {"x": (0.0, 1.0), "y": (-1.0, 1.0)}
    quick = lambda p: time.sleep(0.01) or (p["x"] - 0.3) ** 2 + p["y"] ** 2  # noqa: E731
    auto = mlestar_nb.tune(quick, space, trials=80, jobs=16, backend="threads", minimize=True, journal=False,
                           progress=False, seed=0)
    assert auto.metrics["proposals_fallback"] > 0
    assert auto.metrics["proposals"] + auto.metrics["proposals_fallback"] >= 80
    assert any(f"{auto.metrics['proposals_fallback']} point(s) were random draws" in note for note in auto.notes)
    explicit = mlestar_nb.tune(quick, space, trials=40, jobs=16, backend="threads", strategy="bayes", minimize=True,
                               journal=False, progress=False, seed=0)
    assert explicit.metrics["proposals_fallback"] == 0 and not any("random draws" in n for n in explicit.notes)
    assert explicit.metrics["proposal_wait_s"] > 0.4   # without a fallback the workers wait for each 0.2 s fit


def test_auto_is_a_gaussian_process_that_reports_its_proposal_cpu():
    space = {"x": (0.0, 1.0), "y": (-1.0, 1.0)}
    result = mlestar_nb.tune(lambda p: (p["x"] - 0.3) ** 2 + p["y"] ** 2, space, trials=20, jobs=2,
                             backend="threads", minimize=True, journal=False, progress=False, seed=0)
    assert result.strategy == "bayes" and result.metrics["proposal_cpu_s"] > 0


def test_low_utilization_fires_when_many_workers_wait_for_proposals_in_a_short_run():
    result = mlestar_nb.tune(lambda p: time.sleep(0.05) or p["x"], {"x": (0.0, 1.0)}, trials=40, jobs=16,
                             backend="threads", strategy="random", journal=False, progress=False)
    assert [a.kind for a in result.alerts] == []
    from mlestar_nb.search.engine import Search, StopRules
    from mlestar_nb.executors import make_executor
    from mlestar_nb.live.alerts import AlertRules
    from mlestar_nb.search.trial import SearchPayload

    rules = AlertRules()
    search = Search(payload=SearchPayload(objective=lambda p: time.sleep(0.05) or p["x"]),
                    strategy=SlowRandomSearch(parse_space({"x": (0.0, 1.0)}), seed=0, delay=0.08),
                    executor=make_executor("threads", 16), rules=StopRules(budget=40), alert_rules=rules, tick_s=0.1)
    search.run()
    assert search.metrics(0)["wall_s"] < rules.idle_window_s / 2   # too short for the general idle rule
    low = [a for a in rules.alerts if a.kind == "low_utilization"]
    assert len(low) == 1 and "waited for the optimizer" in low[0].message


def test_hyperparameter_fits_that_end_on_a_bound_raise_no_warning():
    """The fit runs on the proposer's thread, where no warning filter can be set safely (routed_warnings)."""
    import warnings

    from mlestar_nb.search.strategies.gp import fit_hyper

    X = np.random.RandomState(0).rand(30, 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        flat = fit_hyper(X, np.zeros(30), restarts=2)   # on the bounds: tiny amplitude and noise
        steep = fit_hyper(X, X[:, 0] * 1e-9 / np.std(X[:, 0] * 1e-9), restarts=2)
    assert flat.noise < 1.1e-6 and max(steep.length_scales) > 99


def test_the_proposer_threads_run_at_a_lower_priority_than_the_kernel():
    """On 2 cores with 2 CPU-bound workers the proposer must take what the workers leave, not their cores."""
    import os
    import threading

    seen = []

    def objective(p):
        for thread in threading.enumerate():
            if thread.name == "mlestar-proposer" and thread.native_id is not None:
                seen.append(os.getpriority(os.PRIO_PROCESS, thread.native_id))
        time.sleep(0.01)
        return p["x"]

    mlestar_nb.tune(objective, {"x": (0.0, 1.0)}, trials=16, jobs=2, backend="threads", strategy="bayes",
                    journal=False, progress=False, seed=0)
    kernel = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert seen and set(seen) == {min(19, kernel + PROPOSER_NICE)}
