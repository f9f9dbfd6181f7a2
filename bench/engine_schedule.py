"""Today's schedule against the new one: losses against wall time, where the stop rule ended each stage, and
when the new schedule reaches today's final loss.

`python -m bench.engine_schedule --help`. "Today" is the classic plan: two stages (two thirds of 200 iterations
at half size, the rest at full size), no stop rule, float32. "New" is `StylizeOptions()`'s default pyramid and stop
rule in the product's default precision (`auto`, as `STYLEBOT_PRECISION` and `stylebot stylize`: bfloat16
convolutions on a CPU with AMX, else float32; the final losses are always measured in float32), `--new-levels`,
`--new-ratio`, `--new-tolerance`, `--new-window`, `--new-iterations` and `--new-precision` try others. Before
timing, an 8-iteration run of the pyramid traces the loop for every size and measures its pace, so neither timed
run pays for that.

The total is α·L_content + β·L_style (α = 1/(N·M) of conv4_2 at full size, β = strength · 0.02), the objective
without its smoothness and range terms. "reaches" compares the full-size stage's in-run totals (the losses the
loop reports at each return to the host); "final" is measured on the delivered 8-bit pictures.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image

from engine.options import DEFAULT_ITERATIONS, PRECISION_CHOICES, StylizeOptions
from engine.types import Progress

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
DEFAULT_STYLES = ("starry_night", "the_scream", "shipwreck", "woman-with-hat-matisse")
# Two stages, two thirds of the iterations at half size, no stop rule, float32.
TODAY = StylizeOptions(
    iterations=DEFAULT_ITERATIONS, levels=2, level_ratio=0.5, stop_tolerance=0.0, precision="float32"
)
WITHIN = 0.02  # "as good as today": a final total at most 2 % above today's
TIME_TARGET = 0.60  # ... in at most 60 % of today's time
TRACE_ROWS = 12  # loss-against-time rows printed per run


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    defaults = StylizeOptions()
    parser = argparse.ArgumentParser(prog="python -m bench.engine_schedule", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=Path, nargs="+", help="content photos (default ../shared/data/content/*.jpg)")
    parser.add_argument(
        "--styles", type=Path, nargs="+",
        help=f"style paintings (default ../shared/data/styles/{{{','.join(DEFAULT_STYLES)}}}.jpg)",
    )
    parser.add_argument("--sizes", default="256,512", help="longest sides, comma-separated (default 256,512)")
    parser.add_argument("--weights", default="hed", help="network weights: hed (default), imagenet, random, PATH")
    parser.add_argument("--new-iterations", type=int, default=defaults.iterations,
                        help=f"the new schedule's ceiling (default {defaults.iterations})")
    parser.add_argument("--new-levels", type=int, default=defaults.levels,
                        help=f"the new schedule's pyramid levels (default {defaults.levels})")
    parser.add_argument("--new-ratio", type=float, default=defaults.level_ratio,
                        help=f"the new schedule's iterations per level relative to the coarser (default "
                        f"{defaults.level_ratio})")
    parser.add_argument("--new-tolerance", type=float, default=defaults.stop_tolerance,
                        help=f"the new schedule's stop tolerance (default {defaults.stop_tolerance})")
    parser.add_argument("--new-window", type=int, default=defaults.stop_window,
                        help=f"the new schedule's stop window in iterations (default {defaults.stop_window})")
    parser.add_argument("--new-precision", choices=PRECISION_CHOICES, default="auto",
                        help="the new schedule's convolutions' precision (default auto, as STYLEBOT_PRECISION: "
                        "bfloat16 on a CPU with AMX, else float32; today's is float32)")
    parser.add_argument("--save-pair", type=Path, default=None,
                        help="write today's and the new picture side by side (first pair, largest size) as a PNG")
    parser.add_argument("--json", action="store_true", help="print one JSON object per photo, style and size")
    return parser.parse_args(argv)


def inputs(args: argparse.Namespace) -> tuple[list[Path], list[Path]] | None:
    """The photos and paintings to run, or None when the defaults are wanted and ../shared/data is missing."""
    photos, styles = args.photos, args.styles
    if photos is None or styles is None:
        if not SHARED_DATA.is_dir():
            return None
        if photos is None:
            photos = sorted((SHARED_DATA / "content").glob("*.jpg"))
        if styles is None:
            styles = [SHARED_DATA / "styles" / f"{name}.jpg" for name in DEFAULT_STYLES]
    return list(photos), list(styles)


def run_one(stylizer: Any, photo: Path, style: Path, options: StylizeOptions) -> dict[str, Any]:
    """One timed stylisation, with every progress report kept."""
    reports: list[tuple[float, int, int, int, int, float, float]] = []

    def on_progress(r: Progress) -> None:
        # Only the numbers: a report holds the optimiser's state (for its preview) as long as it is kept.
        reports.append((r.elapsed, r.iteration, r.total, r.scale, max(r.size), r.content_loss, r.style_loss))

    started = time.perf_counter()
    result = stylizer.stylize(photo, [style], options, progress=on_progress)
    seconds = time.perf_counter() - started
    alpha, beta = result.extra["alpha"], result.extra["beta"]
    last = len(result.extra["stages"]) - 1
    trace = [
        {
            "seconds": round(elapsed, 3), "iteration": iteration, "total_iterations": total, "side": side,
            "content": content, "style": style_loss,
            # α·Lc + β·Ls only means the final objective at full size (α depends on the size)
            "total": alpha * content + beta * style_loss if scale == last else None,
        }
        for elapsed, iteration, total, scale, side, content, style_loss in reports
    ]
    return {
        "seconds": round(seconds, 3), "iterations": result.iterations, "stages": result.extra["stages"],
        "content": result.content_loss, "style": result.style_loss, "total": result.extra["total_loss"],
        "precision": result.extra["precision"], "trace": trace, "image": result.image,
    }


def compare(today: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """When the new run's full-size total first gets to today's final in-run total (and within 2 % of it)."""
    full_today = [t for t in today["trace"] if t["total"] is not None]
    reference = full_today[-1]["total"] if full_today else None
    reached = within = None
    if reference is not None:
        for t in new["trace"]:
            if t["total"] is None:
                continue
            if within is None and t["total"] <= reference * (1 + WITHIN):
                within = t["seconds"]
            if reached is None and t["total"] <= reference:
                reached = t["seconds"]
    ratio = new["total"] / today["total"] - 1
    time_share = new["seconds"] / today["seconds"]
    return {
        "today_in_run_total": reference,
        "new_reaches_today_s": reached,
        "new_within_2pct_s": within,
        "final_total_change": round(ratio, 4),
        "time_share": round(time_share, 3),
        "final_within_2pct": ratio <= WITHIN,
        "target_met": ratio <= WITHIN and time_share <= TIME_TARGET,
    }


def stage_text(stages: list[dict[str, Any]]) -> str:
    return ", ".join(f"{s['side']}px {s['iterations']}/{s['ceiling']}{' stopped' if s['stopped'] else ''}"
                     for s in stages)


def print_run(name: str, run: dict[str, Any]) -> None:
    print(f"  {name}: {run['seconds']:.1f} s, {run['iterations']} iterations ({stage_text(run['stages'])}, "
          f"{run['precision']}); "
          f"final content {run['content']:.4g}, style {run['style']:.4g}, total {run['total']:.4g}")
    trace = run["trace"]
    step = max(1, -(-len(trace) // TRACE_ROWS))
    picked = trace[::step] + ([trace[-1]] if (len(trace) - 1) % step else [])
    print("      seconds  iteration  side     content       style       total")
    for t in picked:
        total = f"{t['total']:.4g}" if t["total"] is not None else "—"
        print(f"    {t['seconds']:9.1f}  {t['iteration']:4d}/{t['total_iterations']:<4d} {t['side']:5d}"
              f"  {t['content']:10.4g}  {t['style']:10.4g}  {total:>10}")


def print_comparison(c: dict[str, Any]) -> None:
    def at(seconds: float | None) -> str:
        return f"{seconds:.1f} s" if seconds is not None else "never"

    print(f"  new reaches today's final total ({c['today_in_run_total']:.4g}) at {at(c['new_reaches_today_s'])}, "
          f"within 2 % at {at(c['new_within_2pct_s'])}")
    print(f"  new final total {c['final_total_change']:+.2%} against today's, in {c['time_share']:.0%} of its time: "
          f"target (within 2 % in at most 60 % of the time) {'met' if c['target_met'] else 'NOT met'}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    found = inputs(args)
    if found is None:
        print(f"no photos or styles given and {SHARED_DATA} does not exist; pass --photos and --styles",
              file=sys.stderr)
        return 2
    photos, styles = found
    if args.save_pair is not None and args.save_pair.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        print(f"--save-pair {args.save_pair}: name a .png or .jpg file", file=sys.stderr)
        return 2
    missing = [p for p in (*photos, *styles) if not p.is_file()]
    if missing or not photos or not styles:
        print(f"missing pictures: {', '.join(map(str, missing)) or 'none given'}", file=sys.stderr)
        return 2
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        new = StylizeOptions(iterations=args.new_iterations, levels=args.new_levels, level_ratio=args.new_ratio,
                             stop_tolerance=args.new_tolerance, stop_window=args.new_window,
                             precision=args.new_precision)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    from engine.transfer import Stylizer

    stylizer = Stylizer(weights=args.weights)
    pair_saved = False
    for size in sorted(sizes):
        for photo in photos:
            for style in styles:
                today_options = dataclasses.replace(TODAY, max_side=size)
                new_options = dataclasses.replace(new, max_side=size)
                warm = StylizeOptions(max_side=size, iterations=8, levels=max(new.levels, 2), level_ratio=0.5,
                                      stop_tolerance=0)
                stylizer.stylize(photo, [style], warm)  # traces every size and measures its pace
                if new.precision != warm.precision:
                    stylizer.stylize(photo, [style], dataclasses.replace(warm, precision=new.precision))
                today, fresh = run_one(stylizer, photo, style, today_options), run_one(stylizer, photo, style,
                                                                                       new_options)
                comparison = compare(today, fresh)
                if args.json:
                    row = {"photo": photo.name, "style": style.name, "size": size, "weights": args.weights,
                           "new_options": {"iterations": new.iterations, "levels": new.levels,
                                           "level_ratio": new.level_ratio, "stop_tolerance": new.stop_tolerance,
                                           "stop_window": new.stop_window, "precision": new.precision},
                           "today": strip(today), "new": strip(fresh), **comparison}
                    print(json.dumps(row), flush=True)
                else:
                    print(f"{photo.name} × {style.name} at {size} px ({args.weights} weights)")
                    print_run("today", today)
                    print_run("new", fresh)
                    print_comparison(comparison)
                    print(flush=True)
                if args.save_pair and size == max(sizes) and not pair_saved:
                    save_pair(today["image"], fresh["image"], args.save_pair)
                    pair_saved = True
    return 0


def strip(run: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in run.items() if k != "image"}


def save_pair(today: Image.Image, new: Image.Image, path: Path) -> None:
    gap = 8
    canvas = Image.new("RGB", (today.width + gap + new.width, max(today.height, new.height)), "white")
    canvas.paste(today, (0, 0))
    canvas.paste(new, (today.width + gap, 0))
    canvas.save(path)


if __name__ == "__main__":
    sys.exit(main())
