"""`StylizeOptions` refuses bad values with one clear message, and the CLI takes its defaults from it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from engine.cli import add_arguments, options_from
from engine.options import DEFAULT_ITERATIONS, DEFAULT_MAX_SIDE, StylizeOptions


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_side": 8}, "max_side"),
        ({"iterations": 0}, "iterations"),
        ({"strength": 0.0}, "strength"),
        ({"strength": float("nan")}, "strength"),
        ({"style_weights": (1.0, -1.0)}, "style weights"),
        ({"style_weights": (0.0, 0.0)}, "style weights"),
        ({"style_scale": 0.0}, "style_scale"),
        ({"tv_weight": -1.0}, "tv_weight"),
        ({"chunk_seconds": 0.0}, "chunk_seconds"),
        ({"optimizer": "sgd"}, "optimizer must be one of lbfgs, adam"),
        ({"init": "photo"}, "init must be one of content, noise"),
        ({"precision": "float16"}, "precision must be one of auto, float32, bfloat16"),
    ],
)
def test_bad_values_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        StylizeOptions(**changes)


def test_style_weights_become_a_tuple() -> None:
    options = StylizeOptions(style_weights=[2, 1])  # type: ignore[arg-type]
    assert options.style_weights == (2.0, 1.0)
    assert hash(options) == hash(StylizeOptions(style_weights=(2.0, 1.0)))


def test_cli_defaults_are_the_engines() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["photo.jpg", "painting.jpg"])
    assert options_from(args) == StylizeOptions()
    assert (args.size, args.iterations) == (DEFAULT_MAX_SIDE, DEFAULT_ITERATIONS)
    help_text = parser.format_help()
    assert f"(default {DEFAULT_MAX_SIDE})" in help_text and f"(default {DEFAULT_ITERATIONS})" in help_text


def test_cli_passes_every_option() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([
        "photo.jpg", "a.jpg", "b.jpg", "--size", "256", "--iterations", "30", "--strength", "2",
        "--style-weights", "0.7,0.3", "--preserve-colors", "--style-scale", "0.5", "--init", "noise", "--seed", "3",
        "--tv-weight", "0", "--optimizer", "adam", "--no-multiscale", "--deterministic", "--precision", "bfloat16",
    ])
    assert args.content == Path("photo.jpg")
    assert options_from(args) == StylizeOptions(
        max_side=256, iterations=30, strength=2.0, style_weights=(0.7, 0.3), optimizer="adam", preserve_colors=True,
        style_scale=0.5, init="noise", seed=3, tv_weight=0.0, multiscale=False, deterministic=True,
        precision="bfloat16",
    )
