"""`stylebot bench`: milliseconds per iteration by size, optimiser and backend, and time to a picture."""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

SIZES = (256, 512, 1024)
Run = Callable[[int], None]  # runs this many iterations and waits for them
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def _images(args: argparse.Namespace) -> tuple[Image.Image, Image.Image]:
    """The given photo and painting, or generated stand-ins when they are not on this machine."""
    if Path(args.content).is_file() and Path(args.style).is_file():
        return Image.open(args.content), Image.open(args.style)
    rng = np.random.default_rng(0)
    smooth = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).resize((640, 480))
    return smooth, Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="stylebot bench", description=__doc__)
    parser.add_argument("--backend", default="all", help="tensorflow, jax or all (each in its own process)")
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES)), help="sides or WxH sizes, e.g. 256,512 or 512x384,1024x768"
    )
    parser.add_argument("--iterations", type=int, default=20, help="timed iterations per measurement")
    parser.add_argument("--repeats", type=int, default=5, help="shuffled repeats; medians are kept")
    parser.add_argument("--optimizers", default="lbfgs,adam")
    parser.add_argument("--weights", default="random", help="network weights (speed barely depends on them)")
    parser.add_argument("--picture", type=int, default=256, help="also time a full picture at this size (0: skip)")
    parser.add_argument("--picture-weights", default="hed", help="weights for the timed picture")
    parser.add_argument("--content", default=str(SHARED / "content" / "tubingen.jpg"), help="photo for the picture")
    parser.add_argument("--style", default=str(SHARED / "styles" / "starry_night.jpg"), help="painting to use")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    return parser.parse_args(argv)


def parse_sizes(raw: str) -> list[tuple[int, int]]:
    """"256,512x384" → [(256, 256), (512, 384)]."""
    sizes = []
    for part in raw.split(","):
        if part.strip():
            width, _, height = part.strip().lower().partition("x")
            sizes.append((int(width), int(height or width)))
    return sizes


def measure(args: argparse.Namespace) -> list[dict[str, object]]:
    """Run the measurements in this process, on the active Keras backend."""
    import keras

    from engine.transfer import DEFAULT_TV_WEIGHT, Stylizer

    rows: list[dict[str, object]] = []
    stylizer = Stylizer(weights=args.weights)
    content, style = _images(args)
    optimizers = args.optimizers.split(",")
    for width, height in parse_sizes(args.sizes):
        image = np.random.default_rng(0).normal(0, 30, (1, height, width, 3)).astype(np.float32)
        _, targets = stylizer.targets(
            stylizer.runner(optimizers[0]), content, [style], [1.0], size=(width, height), strength=1.0,
            tv_weight=DEFAULT_TV_WEIGHT, style_scale=1.0,
        )
        contenders = functools.partial(_contenders, stylizer, image, targets, optimizers)
        seconds = _interleaved(contenders, args.iterations, args.repeats)
        for name in seconds.keys() - {"bare"}:
            rows.append({
                "backend": keras.backend.backend(), "size": f"{width}x{height}", "optimizer": name,
                "ms_per_iteration": round(statistics.median(seconds[name]) * 1000, 2),
                "bare_vgg_ms": round(statistics.median(seconds["bare"]) * 1000, 2),
                "overhead_pct": round(_median_overhead(seconds[name], seconds["bare"]), 1),
            })
    if args.picture:
        painter = Stylizer(weights=args.picture_weights)
        start = time.perf_counter()
        result = painter.stylize(content, [style], max_side=args.picture)
        rows.append({
            "backend": keras.backend.backend(), "picture": f"{result.width}x{result.height}",
            "weights": args.picture_weights, "iterations": result.iterations,
            "seconds_to_picture": round(time.perf_counter() - start, 2),
        })
    return rows


def _contenders(stylizer: Any, image: np.ndarray, targets: Any, optimizers: list[str]) -> dict[str, Run]:
    """Freshly traced runs: on a CPU, one trace of a graph can be several per cent slower than another."""
    from engine import backend

    runs: dict[str, Run] = {"bare": functools.partial(backend.current().bare_network(stylizer.net.model), image)}
    for name in optimizers:
        runner = stylizer.runner(name, fresh=True)
        runs[name] = _optimiser(runner, runner.init(image), targets)
    return runs


def _optimiser(runner: Any, state: Any, targets: Any) -> Run:
    """Runs `steps` iterations from where the last call stopped and waits for them."""

    def run(steps: int) -> None:
        nonlocal state
        state, _ = runner.run(state, steps, *targets)
        runner.image(state)

    return run


def _interleaved(
    contenders: Callable[[], dict[str, Run]], iterations: int, repeats: int
) -> dict[str, list[float]]:
    """Seconds per iteration of each contender: freshly compiled for each repeat and run in a shuffled order.

    A shared 2-core machine drifts by several per cent over minutes, so comparisons are made within a repeat.
    """
    seconds: dict[str, list[float]] = {}
    shuffler = random.Random(0)
    for _ in range(repeats):
        runs = contenders()
        for run in runs.values():
            run(1)  # compile and warm up
        order = list(runs)
        shuffler.shuffle(order)
        for name in order:
            start = time.perf_counter()
            runs[name](iterations)
            seconds.setdefault(name, []).append((time.perf_counter() - start) / iterations)
    return seconds


def _median_overhead(seconds: list[float], bare: list[float]) -> float:
    """The median, over repeats, of how much slower than the bare network a contender ran (per cent)."""
    return (statistics.median(s / b for s, b in zip(seconds, bare, strict=True)) - 1) * 100


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    backends = ["tensorflow", "jax"] if args.backend == "all" else [args.backend]
    for name in backends:
        if len(backends) > 1 or os.environ.get("KERAS_BACKEND", "tensorflow") != name:
            env = {**os.environ, "KERAS_BACKEND": name}
            options = [f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items() if k not in ("backend", "json")]
            cmd = [sys.executable, "-m", "stylebot.cli", "bench", "--backend", name, *options]
            cmd += ["--json"] if args.json else []
            if subprocess.run(cmd, env=env, check=False).returncode != 0:
                print(f"{name}: not available", file=sys.stderr)
            continue
        for row in measure(args):
            print(json.dumps(row) if args.json else "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
    return 0
