"""`stylebot bench`: milliseconds per iteration by size, optimiser and backend; what one iteration is made of;
the time to a picture; and the time a fresh process takes to its first picture.

Contenders (`CONTENDERS`: a function from a `Case` to a `Run`) are timed against the bare network; `worker` is
the whole worker path (`bench.worker_path`).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from bench.cases import Case, Contender, Run
from bench.worker_path import through_worker
from engine.options import PRECISIONS, OptimizerName, Precision, StylizeOptions

if TYPE_CHECKING:
    from engine.transfer import Stylizer

SIZES = (256, 512, 1024)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
BASELINE = "bare"
FLAGS = ("json", "first_run", "breakdown", "through_worker")  # the options that take no value
Row = dict[str, Any]  # one line of output
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="stylebot bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="all", help="tensorflow, jax or all (each in its own process)")
    parser.add_argument(
        "--sizes", default=",".join(map(str, SIZES)), help="sides or WxH sizes, e.g. 256,512 or 512x384,1024x768"
    )
    parser.add_argument("--iterations", type=int, default=20, help="timed iterations per measurement")
    parser.add_argument("--repeats", type=int, default=5, help="shuffled repeats; medians are kept")
    parser.add_argument(
        "--contenders", "--optimizers", dest="contenders", default="lbfgs,adam",
        help="what to time against the bare network: lbfgs, adam, stylize (the whole call) or a registered name",
    )
    parser.add_argument(
        "--through-worker", action="store_true",
        help="time the whole call through the worker's code path against the CLI's (adds stylize,worker)",
    )
    parser.add_argument("--precision", choices=PRECISIONS, default="float32", help="of the network's convolutions")
    parser.add_argument("--weights", default="random", help="network weights (speed barely depends on them)")
    parser.add_argument("--breakdown", action="store_true", help="what one iteration is made of, and peak memory")
    parser.add_argument("--picture", type=int, default=256, help="also time a full picture at this size (0: skip)")
    parser.add_argument("--picture-weights", default="hed", help="weights for the timed picture")
    parser.add_argument(
        "--first-run", action="store_true",
        help="time fresh processes from building the engine to their first picture, cold and after warm_up "
        "(--first-run-size, --first-run-iterations, --first-run-weights); replaces the other measurements",
    )
    parser.add_argument("--first-run-size", type=int, default=512, help="longest side of those pictures")
    parser.add_argument("--first-run-iterations", type=int, default=20, help="iterations of those pictures")
    parser.add_argument("--first-run-weights", default="random,hed", help="one pair of processes for each")
    parser.add_argument("--compilation-cache", default="", help="JAX: keep compiled loops in this folder")
    parser.add_argument("--content", default=str(SHARED / "content" / "tubingen.jpg"), help="photo for the picture")
    parser.add_argument("--style", default=str(SHARED / "styles" / "starry_night.jpg"), help="painting to use")
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of a table")
    parser.add_argument("--first-run-child", default="", help=argparse.SUPPRESS)  # WEIGHTS:cold or WEIGHTS:warm
    args = parser.parse_args(argv)
    if args.through_worker:
        chosen = [name for name in args.contenders.split(",") if name]
        args.contenders = ",".join(dict.fromkeys([*chosen, "stylize", "worker"]))
    return args


def parse_sizes(raw: str) -> list[tuple[int, int]]:
    """"256,512x384" → [(256, 256), (512, 384)]."""
    sizes = []
    for part in raw.split(","):
        if part.strip():
            width, _, height = part.strip().lower().partition("x")
            sizes.append((int(width), int(height or width)))
    return sizes


def _images(args: argparse.Namespace) -> tuple[Image.Image, Image.Image]:
    """The given photo and painting, or generated stand-ins when they are not on this machine."""
    if Path(args.content).is_file() and Path(args.style).is_file():
        return Image.open(args.content), Image.open(args.style)
    rng = np.random.default_rng(0)
    smooth = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).resize((640, 480))
    return smooth, Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8))


# --- contenders -------------------------------------------------------------------------------------------------


def _optimiser_loop(name: OptimizerName, case: Case) -> Run:
    """The engine's compiled loop for one optimiser, freshly traced: runs continue where the last stopped."""
    runner = case.stylizer.runner(name, case.precision, fresh=True)
    targets = runner.to_device(case.targets)
    state = runner.init(case.image)

    def run(steps: int) -> None:
        nonlocal state
        state, _ = runner.run(state, steps, targets)

    return run


def _bare_network(case: Case) -> Run:
    from engine import backend
    from engine.network import in_precision

    net = in_precision(case.stylizer.net, case.precision)
    return functools.partial(backend.current().bare_network(net.model), case.image)


def _whole_stylize(case: Case) -> Run:
    """`Stylizer.stylize` at the case's size in one stage: the loop plus everything around it, per iteration."""
    width, height = case.size
    content = case.content.convert("RGB").resize((width, height))
    stylizer = case.stylizer

    def run(steps: int) -> None:
        options = StylizeOptions(max_side=max(width, height), iterations=steps, multiscale=False,
                                 precision=case.precision)
        stylizer.stylize(content, [case.style], options)

    return run


def _features(case: Case) -> list[np.ndarray]:
    runner = case.stylizer.runner("lbfgs", case.precision)
    return [np.asarray(f, np.float32) for f in map(_to_numpy, runner.features(case.image))]


def _to_numpy(x: Any) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(x, "float32")))


def _gram_part(case: Case) -> Run:
    """The five Gram matrices with their hand-written gradient, on the case's feature maps."""
    from keras import ops

    from engine import backend
    from engine.losses import gram_style_layer_loss
    from engine.transfer import STYLE_LAYER_WEIGHTS

    loops = backend.current()
    net = case.stylizer.net
    features = _features(case)
    maps: tuple[Any, ...] = tuple(features[i] for i in net.style_indices)
    grams = tuple(np.asarray(g, np.float32) for g in case.targets.grams)

    def loss(fs: tuple[Any, ...]) -> Any:
        terms = [w * gram_style_layer_loss(f, a) for f, a, w in zip(fs, grams, STYLE_LAYER_WEIGHTS, strict=True)]
        return ops.sum(ops.stack(terms))

    def step(fs: tuple[Any, ...]) -> tuple[Any, ...]:
        # Feeding the gradient back keeps each pass from being hoisted out of the loop (one fused pass per map).
        grads = loops.gradient(loss, fs)
        return tuple(f - 1e-12 * g for f, g in zip(fs, grads, strict=True))

    return loops.repeat(step, maps)


def _other_terms_part(case: Case) -> Run:
    """The content, total-variation and range terms with their gradients."""
    from engine import backend
    from engine.losses import content_loss, total_variation_loss
    from engine.objective import range_penalty

    loops = backend.current()
    coeffs = np.asarray(case.targets.coeffs, np.float32)
    target = _features(case)[case.stylizer.net.content_index]

    def loss(inputs: tuple[Any, Any]) -> Any:
        feature, image = inputs
        return (coeffs[0] * content_loss(feature, target) + coeffs[2] * total_variation_loss(image)
                + coeffs[3] * range_penalty(image))

    def step(inputs: tuple[Any, Any]) -> tuple[Any, Any]:
        grad = loops.gradient(loss, inputs)
        return inputs[0] - 1e-12 * grad[0], inputs[1] - 1e-12 * grad[1]

    return loops.repeat(step, (target * 1.01, case.image))


def _update_part(name: OptimizerName, case: Case) -> Run:
    """One optimiser's update rule alone, from a fixed gradient."""
    import keras

    from engine import backend
    from engine.optim import Optimizer

    optimizer = Optimizer(name)
    state = tuple(np.asarray(keras.ops.convert_to_numpy(t)) for t in optimizer.init(case.image))
    gradient = np.random.default_rng(0).normal(0, 1, case.image.shape).astype(np.float32)

    def step(carry: tuple[Any, Any]) -> tuple[Any, Any]:
        state, grad = carry
        return optimizer.update(state, grad), grad

    return backend.current().repeat(step, (state, gradient))


CONTENDERS: dict[str, Contender] = {
    BASELINE: _bare_network,
    "lbfgs": functools.partial(_optimiser_loop, "lbfgs"),
    "adam": functools.partial(_optimiser_loop, "adam"),
    "stylize": _whole_stylize,
    "worker": through_worker,
}

# --breakdown: each part of an iteration, timed on its own like the contenders (label, contender).
BREAKDOWN: tuple[tuple[str, Contender], ...] = (
    ("L-BFGS iteration", CONTENDERS["lbfgs"]),
    ("Adam iteration", CONTENDERS["adam"]),
    ("bare VGG forward+backward", _bare_network),
    ("five Gram matrices with their gradient", _gram_part),
    ("L-BFGS update", functools.partial(_update_part, "lbfgs")),
    ("Adam update", functools.partial(_update_part, "adam")),
    ("content, TV and range terms", _other_terms_part),
)


# --- measuring --------------------------------------------------------------------------------------------------


def _case(stylizer: Stylizer, size: tuple[int, int], content: Image.Image, style: Image.Image,
          precision: Precision) -> Case:
    from engine import images

    width, height = size
    image = np.random.default_rng(0).normal(0, 30, (1, height, width, 3)).astype(np.float32)
    photo = images.to_caffe(content.convert("RGB").resize(size, Image.Resampling.LANCZOS))
    targets = stylizer.targets(photo, [style.convert("RGB")], [1.0], StylizeOptions(precision=precision))
    return Case(stylizer, size, content, style, precision, image, targets)


def interleaved(builders: Mapping[str, Callable[[], Run]], iterations: int, repeats: int) -> dict[str, list[float]]:
    """Seconds per iteration of each contender: freshly compiled for each repeat and run in a shuffled order.

    A shared 2-core machine drifts by several per cent over minutes, so comparisons are made within a repeat.
    """
    seconds: dict[str, list[float]] = {}
    shuffler = random.Random(0)
    for _ in range(repeats):
        runs = {name: build() for name, build in builders.items()}
        for run in runs.values():
            run(1)  # compile and warm up
        order = list(runs)
        shuffler.shuffle(order)
        for name in order:
            start = time.perf_counter()
            runs[name](iterations)
            seconds.setdefault(name, []).append((time.perf_counter() - start) / iterations)
    return seconds


def median_overhead(seconds: list[float], bare: list[float]) -> float:
    """The median, over repeats, of how much slower than the bare network a contender ran (per cent)."""
    return (statistics.median(s / b for s, b in zip(seconds, bare, strict=True)) - 1) * 100


def measure(args: argparse.Namespace) -> list[Row]:
    """Run the measurements in this process, on the active Keras backend."""
    from engine.transfer import Stylizer

    names = [n for n in args.contenders.split(",") if n and n != BASELINE]
    unknown = [n for n in names if n not in CONTENDERS]
    if unknown:
        raise SystemExit(f"unknown contender {', '.join(unknown)}; known: {', '.join(sorted(CONTENDERS))}")
    label = backend_label(args.precision)
    rows: list[Row] = []
    stylizer = Stylizer(weights=args.weights)
    content, style = _images(args)
    for size in parse_sizes(args.sizes):
        case = _case(stylizer, size, content, style, args.precision)
        builders = {n: functools.partial(CONTENDERS[n], case) for n in [BASELINE, *names]}
        seconds = interleaved(builders, args.iterations, args.repeats)
        bare = seconds[BASELINE]
        for name in names:
            rows.append({
                "backend": label, "size": f"{size[0]}x{size[1]}", "contender": name,
                "ms_per_iteration": round(statistics.median(seconds[name]) * 1000, 2),
                "bare_vgg_ms": round(statistics.median(bare) * 1000, 2),
                "overhead_pct": round(median_overhead(seconds[name], bare), 1),
            })
        if args.breakdown:
            rows.extend(breakdown(case, label, args.iterations, args.repeats))
    if args.picture:
        rows.append(time_picture(args, content, style, label))
    return rows


def breakdown(case: Case, label: str, iterations: int, repeats: int) -> list[Row]:
    """Each part of an iteration on its own (ms and % of an L-BFGS iteration), then the process's peak memory."""
    from engine import backend

    builders = {name: functools.partial(part, case) for name, part in BREAKDOWN}
    measured = interleaved(builders, iterations, repeats)
    seconds = {name: statistics.median(measured[name]) for name, _ in BREAKDOWN}
    whole = seconds[BREAKDOWN[0][0]]
    size = f"{case.size[0]}x{case.size[1]}"
    rows: list[Row] = [
        {"backend": label, "size": size, "part": name, "ms": round(s * 1000, 2),
         "pct_of_lbfgs": round(100 * s / whole, 1)}
        for name, s in seconds.items()
    ]
    device = backend.current().peak_device_memory()
    rows.append({
        "backend": label, "size": size, "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_device_mb": round(device / 2**20) if device is not None else None,
    })
    return rows


def time_picture(args: argparse.Namespace, content: Image.Image, style: Image.Image, label: str) -> Row:
    """A whole picture with the CLI defaults at `--picture` px."""
    from engine.transfer import Stylizer

    painter = Stylizer(weights=args.picture_weights)
    start = time.perf_counter()
    result = painter.stylize(content, [style], StylizeOptions(max_side=args.picture, precision=args.precision))
    return {
        "backend": label, "picture": f"{result.width}x{result.height}", "weights": args.picture_weights,
        "iterations": result.iterations, "seconds_to_picture": round(time.perf_counter() - start, 2),
    }


def first_run(args: argparse.Namespace, mode: str) -> Row:
    """In this (fresh) process: build the engine, optionally warm it up, paint twice; seconds for each step."""
    started = time.perf_counter()
    from engine import backend
    from engine.canvas import canvas_for
    from engine.transfer import Stylizer

    imported = time.perf_counter() - started
    weights, _, warm = mode.partition(":")
    if args.compilation_cache:
        backend.enable_compilation_cache(args.compilation_cache)
    content, style = _images(args)
    options = StylizeOptions(max_side=args.first_run_size, iterations=args.first_run_iterations)
    row: Row = {"backend": backend_label("float32"), "first_run": weights, "warm_up": warm == "warm",
                "size": args.first_run_size, "iterations": args.first_run_iterations, "import_s": round(imported, 2)}
    built = time.perf_counter()
    stylizer = Stylizer(weights=weights)
    row["load_s"] = round(time.perf_counter() - built, 2)
    if warm == "warm":
        report = stylizer.warm_up([canvas_for(*content.size, args.first_run_size).output])
        row["warm_up_s"], row["warm_up_traces"] = round(report.seconds, 2), report.traces
    requested = time.perf_counter()
    stylizer.stylize(content, [style], options)
    row["first_request_s"] = round(time.perf_counter() - requested, 2)
    row["to_first_picture_s"] = round(time.perf_counter() - built, 2)
    again = time.perf_counter()
    stylizer.stylize(content, [style], options)
    row["second_request_s"] = round(time.perf_counter() - again, 2)
    return row


def first_runs(args: argparse.Namespace) -> list[Row]:
    """`--first-run`: one fresh process per weights and mode (cold, then warmed up), each printing one row."""
    rows: list[Row] = []
    for weights in filter(None, args.first_run_weights.split(",")):
        for mode in ("cold", "warm"):
            command = _command(_active_backend(), _forwarded(args, drop=FLAGS))
            proc = subprocess.run(
                [*command, "--first-run-child", f"{weights}:{mode}", "--json"], capture_output=True, text=True,
                check=False,
            )
            lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
            if proc.returncode != 0 or not lines:
                raise SystemExit(f"first run ({weights}, {mode}) failed:\n{proc.stderr[-2000:]}")
            rows.append(json.loads(lines[-1]))
    return rows


def _command(backend_name: str, options: list[str]) -> list[str]:
    return [sys.executable, "-m", "stylebot.cli", "bench", "--backend", backend_name, *options]


def _forwarded(args: argparse.Namespace, *, drop: Sequence[str] = ()) -> list[str]:
    """The parsed options as command-line arguments again, for a child process."""
    options = []
    for key, value in vars(args).items():
        if key in ("backend", "first_run_child", *drop):
            continue
        flag = f"--{key.replace('_', '-')}"
        if not isinstance(value, bool):
            options.append(f"{flag}={value}")
        elif value:
            options.append(flag)
    return options


# --- output -----------------------------------------------------------------------------------------------------


def backend_label(precision: str) -> str:
    """"TensorFlow (CPU)", "JAX (GPU, bfloat16)": the README's backend column."""
    from engine import backend

    name = {"tensorflow": "TensorFlow", "jax": "JAX"}.get(_active_backend(), _active_backend())
    details = [backend.current().device_name()] + ([precision] if precision != "float32" else [])
    return f"{name} ({', '.join(details)})"


def _ms(seconds_ms: float) -> str:
    text = f"{seconds_ms:,.0f}" if seconds_ms >= 100 else f"{seconds_ms:.1f}"
    return text.replace(",", " ")


def _pct(value: float) -> str:
    return f"{value:+.1f} %".replace("-", "−")


def speed_table(rows: list[Row]) -> str:
    """The README's table: backend | size | L-BFGS | Adam | bare VGG | L-BFGS over bare | Adam over bare."""
    by_size: dict[tuple[str, str], dict[str, Row]] = {}
    for row in rows:
        if "contender" in row:
            by_size.setdefault((row["backend"], row["size"]), {})[row["contender"]] = row
    lines = [
        "| backend | size | L-BFGS | Adam | bare VGG | L-BFGS over bare | Adam over bare |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (label, size), found in by_size.items():
        if not {"lbfgs", "adam"} <= found.keys():
            continue
        lbfgs, adam = found["lbfgs"], found["adam"]
        width, _, height = size.partition("x")
        shown = f"{width}²" if width == height else f"{width}×{height}"
        lines.append(
            f"| {label} | {shown} | {_ms(lbfgs['ms_per_iteration'])} | {_ms(adam['ms_per_iteration'])}"
            f" | {_ms(lbfgs['bare_vgg_ms'])} | {_pct(lbfgs['overhead_pct'])} | {_pct(adam['overhead_pct'])} |"
        )
    return "\n".join(lines) if len(lines) > 2 else ""


def breakdown_table(rows: list[Row]) -> str:
    parts = [r for r in rows if "part" in r]
    if not parts:
        return ""
    lines = ["| backend | size | part | ms | % of an L-BFGS iteration |", "| --- | --- | --- | --- | --- |"]
    lines += [f"| {r['backend']} | {r['size']} | {r['part']} | {r['ms']} | {r['pct_of_lbfgs']} % |" for r in parts]
    for r in rows:
        if "peak_rss_mb" in r:
            device = f", device {r['peak_device_mb']} MB" if r["peak_device_mb"] is not None else ""
            lines.append(f"\npeak memory at {r['size']}: RSS {r['peak_rss_mb']} MB{device}")
    return "\n".join(lines)


def first_run_table(rows: list[Row]) -> str:
    runs = [r for r in rows if "first_run" in r]
    if not runs:
        return ""
    lines = [
        "| backend | weights | warm-up | build | warm-up s | first request | build → first picture | second request |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {r['backend']} | {r['first_run']} | {'yes' if r['warm_up'] else 'no'} | {r['load_s']} s"
        f" | {r.get('warm_up_s', '—')} | {r['first_request_s']} s | {r['to_first_picture_s']} s"
        f" | {r['second_request_s']} s |"
        for r in runs
    ]
    return "\n".join(lines)


def _active_backend() -> str:
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.first_run_child:
        print(json.dumps(first_run(args, args.first_run_child)), flush=True)
        return 0
    backends = ["tensorflow", "jax"] if args.backend == "all" else [args.backend]
    for name in backends:
        if len(backends) > 1 or _active_backend() != name:
            env = {**os.environ, "KERAS_BACKEND": name}
            if subprocess.run(_command(name, _forwarded(args)), env=env, check=False).returncode != 0:
                print(f"{name}: not available", file=sys.stderr)
            continue
        rows = first_runs(args) if args.first_run else measure(args)
        for row in rows:
            print(json.dumps(row) if args.json else "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        if not args.json:
            for table in (speed_table(rows), breakdown_table(rows), first_run_table(rows)):
                if table:
                    print(f"\n{table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
