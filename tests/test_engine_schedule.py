"""The schedule: a pyramid of sizes, coarsest first, and a stop rule that ends a stage once its loss flattens."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from engine import Progress, StylizeOptions
from engine.options import DEFAULT_LEVEL_RATIO, DEFAULT_LEVELS, DEFAULT_STOP_TOLERANCE, DEFAULT_STOP_WINDOW
from engine.schedule import MIN_STAGE_SIDE, Stage, StopRule, stage_plan
from engine.transfer import Stylizer
from tests.support.pictures import content_photo, style_painting


@pytest.fixture(scope="module")
def random_net() -> Stylizer:
    return Stylizer(weights="random", seed=0)


# --- the plan -------------------------------------------------------------------------------------------------


def test_the_default_pyramid_has_three_sizes_where_the_picture_is_large_enough() -> None:
    assert (DEFAULT_LEVELS, DEFAULT_LEVEL_RATIO) == (3, 2.0)
    assert stage_plan(512, 200, True) == [Stage(128, 29), Stage(256, 57), Stage(512, 114)]
    assert stage_plan(1024, 200, True) == [Stage(256, 29), Stage(512, 57), Stage(1024, 114)]
    # max/4 would be below the smallest stage: two levels, then one.
    assert stage_plan(256, 300, True) == [Stage(128, 100), Stage(256, 200)]
    # the classic plan: two thirds at half size; three levels at ratio 0.5 give 4/7, 2/7, 1/7
    assert stage_plan(512, 300, True, levels=2, ratio=0.5) == [Stage(256, 200), Stage(512, 100)]
    assert stage_plan(512, 200, True, ratio=0.5) == [Stage(128, 114), Stage(256, 57), Stage(512, 29)]
    assert stage_plan(255, 300, True) == [Stage(255, 300)]
    assert stage_plan(512, 300, False) == [Stage(512, 300)]
    assert stage_plan(512, 300, True, levels=1) == [Stage(512, 300)]
    assert [s.side for s in stage_plan(2048, 200, True, levels=5)] == [128, 256, 512, 1024, 2048]


@pytest.mark.parametrize("max_side", [32, 200, 256, 512, 777, 4096])
@pytest.mark.parametrize("levels", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("iterations", [1, 3, 4, 7, 33, 200])
@pytest.mark.parametrize("ratio", [0.5, 1.0, 1.5])
def test_every_plan_spends_exactly_the_ceiling_coarse_to_fine(
    max_side: int, levels: int, iterations: int, ratio: float
) -> None:
    plan = stage_plan(max_side, iterations, True, levels, ratio)
    assert sum(s.iterations for s in plan) == iterations
    assert all(s.iterations >= 1 for s in plan)
    assert plan[-1].side == max_side and len(plan) <= levels
    assert [s.side for s in plan] == sorted({s.side for s in plan})  # strictly growing
    if len(plan) > 1:
        assert plan[0].side >= MIN_STAGE_SIDE
        assert all(b.side == 2 * a.side or b.side == 2 * a.side + 1 for a, b in pairwise(plan))
        # shared in proportion to 1, ratio, ratio², … (within rounding)
        weights = [ratio**k for k in range(len(plan))]
        for stage, weight in zip(plan, weights, strict=True):
            assert abs(stage.iterations - iterations * weight / sum(weights)) <= 1


# --- the stop rule ----------------------------------------------------------------------------------------------


def _first_stop(rule: StopRule, losses: list[float], every: int = 1) -> int | None:
    """Feed the rule the loss after each chunk of `every` iterations; the iteration at which it stops, if any."""
    for done in range(every, len(losses) + 1, every):
        if rule.flat(done, losses[done - 1]):
            return done
    return None


def test_a_flattened_loss_stops_the_stage() -> None:
    # Falls fast for 30 iterations, then by 0.1 % per iteration.
    losses = [1000.0 * 0.8**i for i in range(30)] + [1000.0 * 0.8**29 * 0.999**i for i in range(1, 171)]
    stopped = _first_stop(StopRule(tolerance=0.02, window=10), losses)
    assert stopped is not None and 30 < stopped <= 45


def test_a_loss_still_improving_does_not_stop() -> None:
    losses = [1000.0 * 0.99**i for i in range(300)]  # 1 % per iteration: ~10 % per window of 10
    assert _first_stop(StopRule(tolerance=0.02, window=10), losses) is None
    assert _first_stop(StopRule(tolerance=0.02, window=10), losses, every=7) is None


def test_the_window_is_measured_in_iterations_whatever_the_chunks() -> None:
    flat = [5.0] * 200
    # Not before a whole window after the first reading, and only from a reading at least a window back.
    assert _first_stop(StopRule(tolerance=0.01, window=10), flat) == 11
    assert _first_stop(StopRule(tolerance=0.01, window=10), flat, every=4) == 16
    assert _first_stop(StopRule(tolerance=0.01, window=10), flat, every=50) == 100  # long chunks (a GPU)


def test_a_spike_does_not_count_as_progress_or_as_a_plateau() -> None:
    """The rule reads the best loss so far: L-BFGS's occasional uphill step neither stops nor extends a stage."""
    losses = [100.0 - i for i in range(20)] + [500.0] + [80.0 - 2 * i for i in range(20)]
    assert _first_stop(StopRule(tolerance=0.03, window=5), losses) is None
    plateau = [100.0 - 10 * i for i in range(5)] + [60.0] * 3 + [1000.0] + [60.0] * 10
    assert _first_stop(StopRule(tolerance=0.01, window=5), plateau) == 10


def test_tolerance_zero_never_stops() -> None:
    assert _first_stop(StopRule(tolerance=0.0, window=1), [1.0] * 500) is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"levels": 0}, "levels"),
        ({"level_ratio": 0.0}, "level_ratio"),
        ({"stop_tolerance": -0.01}, "stop_tolerance"),
        ({"stop_tolerance": 1.0}, "stop_tolerance"),
        ({"stop_tolerance": float("nan")}, "stop_tolerance"),
        ({"stop_window": 0}, "stop_window"),
    ],
)
def test_bad_schedule_options_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StylizeOptions(**changes)


def test_the_defaults_come_from_engine_options() -> None:
    options = StylizeOptions()
    assert (options.levels, options.stop_tolerance, options.stop_window) == (
        DEFAULT_LEVELS, DEFAULT_STOP_TOLERANCE, DEFAULT_STOP_WINDOW)
    assert 0 < DEFAULT_STOP_TOLERANCE < 1 and DEFAULT_STOP_WINDOW >= 1


# --- in a run ---------------------------------------------------------------------------------------------------


def _fractions(reports: list[Progress]) -> list[float]:
    return [r.iteration / r.total for r in reports]


def test_an_easy_picture_stops_before_the_ceiling_and_progress_still_ends_at_100(random_net: Stylizer) -> None:
    reports: list[Progress] = []
    options = StylizeOptions(max_side=48, iterations=400, multiscale=False, stop_tolerance=0.02, stop_window=10,
                             chunk_seconds=0.05)
    result = random_net.stylize(content_photo((48, 32)), [style_painting((48, 48))], options,
                                progress=reports.append)
    assert result.iterations < 400
    [stage] = result.extra["stages"]
    assert stage == {"side": 48, "ceiling": 400, "iterations": result.iterations, "stopped": True}
    assert reports[-1].iteration == reports[-1].total == result.iterations  # 100 %
    fractions = _fractions(reports)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert [r.iteration for r in reports] == sorted(r.iteration for r in reports)
    assert reports[-1].eta == 0.0


def test_a_stage_that_stops_early_moves_progress_forward(random_net: Stylizer) -> None:
    """A coarse stage that stops early shrinks the total: the bar jumps forward, never back, and ends at 100 %."""
    reports: list[Progress] = []
    options = StylizeOptions(max_side=256, iterations=60, stop_tolerance=0.5, stop_window=2, chunk_seconds=0.05)
    result = random_net.stylize(content_photo((64, 32)), [style_painting()], options, progress=reports.append)
    stages = result.extra["stages"]
    assert [s["side"] for s in stages] == [128, 256] and [s["ceiling"] for s in stages] == [20, 40]
    assert stages[0]["stopped"] and stages[0]["iterations"] < 20
    assert result.iterations == sum(s["iterations"] for s in stages) < 60
    assert reports[0].total == 60 and reports[-1].total == reports[-1].iteration == result.iterations
    fractions = _fractions(reports)
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    etas = [r.eta for r in reports]
    assert all(e is not None and e >= 0 for e in etas) and etas[-1] == 0.0


def test_the_rule_off_runs_exactly_the_ceiling(random_net: Stylizer) -> None:
    reports: list[Progress] = []
    options = StylizeOptions(max_side=256, iterations=12, level_ratio=0.5, stop_tolerance=0, chunk_seconds=0.05)
    result = random_net.stylize(content_photo((64, 32)), [style_painting()], options, progress=reports.append)
    assert result.iterations == 12
    assert [(s["side"], s["iterations"], s["stopped"]) for s in result.extra["stages"]] == [
        (128, 8, False), (256, 4, False)]
    assert all(r.total == 12 for r in reports) and reports[-1].iteration == 12
    flat = StylizeOptions(max_side=48, iterations=30, multiscale=False, stop_tolerance=0, chunk_seconds=0.05)
    assert random_net.stylize(content_photo((48, 32)), [style_painting((48, 48))], flat).iterations == 30


def test_the_result_carries_the_weights_of_the_total_loss(random_net: Stylizer) -> None:
    result = random_net.stylize(content_photo((48, 32)), [style_painting((48, 48))],
                                StylizeOptions(max_side=48, iterations=3, multiscale=False, strength=2.0))
    extra = result.extra
    assert extra["beta"] == pytest.approx(2.0 * 0.02)
    assert extra["alpha"] == pytest.approx(1.0 / (512 * 6 * 4))  # conv4_2 of a 48×32 canvas: 6×4 positions
    expected = extra["alpha"] * result.content_loss + extra["beta"] * result.style_loss
    assert extra["total_loss"] == pytest.approx(expected)
