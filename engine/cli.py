"""`stylebot stylize`: stylise a photo from the command line, with a progress bar."""

from __future__ import annotations

import argparse
import json
import resource
import sys
from pathlib import Path

from engine.errors import EngineError
from engine.options import (
    DEFAULT_ITERATIONS,
    DEFAULT_MAX_SIDE,
    DEFAULT_STOP_TOLERANCE,
    DEFAULT_STOP_WINDOW,
    DEFAULT_STRENGTH,
    DEFAULT_TV_WEIGHT,
    INITS,
    OPTIMIZERS,
    PRECISION_CHOICES,
    StylizeOptions,
)
from engine.types import Progress


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("content", type=Path, help="the photo to stylise")
    parser.add_argument("styles", type=Path, nargs="+", help="one or more style images (paintings)")
    parser.add_argument("-o", "--output", type=Path, help="where to write the result (default: CONTENT_styled.png)")
    parser.add_argument(
        "--size", type=int, default=DEFAULT_MAX_SIDE,
        help=f"longest side of the result in pixels (default {DEFAULT_MAX_SIDE})",
    )
    parser.add_argument(
        "--iterations", type=int, default=DEFAULT_ITERATIONS,
        help=f"optimiser iterations at most (default {DEFAULT_ITERATIONS}); stages end sooner once they stop improving",
    )
    parser.add_argument(
        "--stop-tolerance", type=float, default=DEFAULT_STOP_TOLERANCE,
        help=f"end a stage once its loss fell by less than this fraction over {DEFAULT_STOP_WINDOW} iterations "
        f"(default {DEFAULT_STOP_TOLERANCE}; 0 runs every iteration)",
    )
    parser.add_argument(
        "--strength", type=float, default=DEFAULT_STRENGTH,
        help=f"style strength: β = strength × 0.02 with α = 1/(N·M) of conv4_2 (default {DEFAULT_STRENGTH}; "
        "2 = twice the style)",
    )
    parser.add_argument("--style-weights", type=_floats, default=None, help="blend weights, e.g. 0.7,0.3")
    parser.add_argument("--preserve-colors", action="store_true", help="keep the photo's colours")
    parser.add_argument("--style-scale", type=float, default=1.0, help="size of style features (default 1.0)")
    parser.add_argument("--init", choices=INITS, default="content", help="starting image")
    parser.add_argument("--seed", type=int, default=0, help="random seed (same inputs + seed → same output)")
    parser.add_argument(
        "--tv-weight", type=float, default=DEFAULT_TV_WEIGHT,
        help=f"total-variation (smoothness) weight (default {DEFAULT_TV_WEIGHT})",
    )
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="lbfgs")
    parser.add_argument(
        "--no-multiscale", action="store_true", help="optimise at full size only (default: a pyramid of sizes)"
    )
    parser.add_argument(
        "--deterministic", action="store_true",
        help="bit-identical results for the same inputs, seed and backend (may be slower on a GPU)",
    )
    parser.add_argument(
        "--precision", choices=PRECISION_CHOICES, default=StylizeOptions.precision,
        help="bfloat16 runs the convolutions in bfloat16 (faster on recent GPUs and on CPUs with AMX; losses stay "
        "float32); auto (default): bfloat16 on a CPU with AMX, else float32",
    )
    parser.add_argument(
        "--weights", default=None,
        help="imagenet (default; downloaded once), hed (offline), random (plumbing tests), or a path to .h5",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object with the run's numbers")


def _floats(raw: str) -> list[float]:
    try:
        return [float(part) for part in raw.split(",") if part.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {raw!r}") from exc


def options_from(args: argparse.Namespace) -> StylizeOptions:
    """The engine's options for the parsed command line (raises ValueError on a bad value)."""
    return StylizeOptions(
        max_side=args.size,
        iterations=args.iterations,
        strength=args.strength,
        style_weights=tuple(args.style_weights) if args.style_weights is not None else None,
        optimizer=args.optimizer,
        preserve_colors=args.preserve_colors,
        style_scale=args.style_scale,
        init=args.init,
        seed=args.seed,
        tv_weight=args.tv_weight,
        multiscale=not args.no_multiscale,
        stop_tolerance=args.stop_tolerance,
        deterministic=args.deterministic,
        precision=args.precision,
    )


def run(args: argparse.Namespace, *, default_weights: str = "imagenet") -> int:
    """Run one stylisation; one clear line on stderr and exit code 1 on bad input."""
    from tqdm import tqdm

    weights = args.weights or default_weights
    if weights == "random":
        print("warning: random weights give colour noise, not the style; use them for plumbing tests only",
              file=sys.stderr)
    output = args.output or args.content.with_name(f"{args.content.stem}_styled.png")
    bar = tqdm(total=1, unit="it", disable=args.json or not sys.stderr.isatty(), dynamic_ncols=True)

    def on_progress(p: Progress) -> None:
        bar.total = p.total
        bar.n = p.iteration
        bar.set_postfix_str(f"{p.size[0]}×{p.size[1]} style={p.style_loss:.3g} content={p.content_loss:.3g}")
        bar.refresh()

    try:
        options = options_from(args)
        from engine import backend
        from engine.images import save_image
        from engine.transfer import Stylizer

        if options.deterministic:
            backend.enable_determinism(options.seed)  # before the network loads: JAX reads its flag at start
        stylizer = Stylizer(weights=weights, seed=args.seed)
        result = stylizer.stylize(args.content, args.styles, options, progress=on_progress)
        save_image(result.image, output)
    except (EngineError, ValueError) as exc:
        bar.close()
        print(f"error: {getattr(exc, 'message', exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        bar.close()
        print("interrupted", file=sys.stderr)
        return 130
    bar.close()
    summary = {
        "output": str(output),
        "width": result.width,
        "height": result.height,
        "iterations": result.iterations,
        "evaluations": result.evaluations,
        "seconds": round(result.seconds, 3),
        "content_loss": result.content_loss,
        "style_loss": result.style_loss,
        "backend": result.backend,
        "weights": result.weights,
        "optimizer": result.optimizer,
        "size_fallbacks": result.size_fallbacks,
        "precision": result.extra.get("precision", options.precision),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),  # Linux: KiB
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"wrote {output} ({result.width}×{result.height}, {result.iterations} iterations, "
              f"{result.seconds:.1f} s on {result.backend})")
    return 0
