"""How long an instant sketch takes: cold (networks loaded, checked and run for the first time) and warm.

    python -m bench.sketch_speed                      # ../shared's Tübingen and Starry Night if present
    python -m bench.sketch_speed --sizes 256,512,1024 --repeats 20 --threads 2
    python -m bench.sketch_speed --content photo.jpg --style painting.jpg --json

For each size: "cold" is a new Sketcher's first sketch (loading both ONNX files, their SHA-256 check, the style
bottleneck and the transformer); "warm" the median of --repeats more with the same style (its bottleneck cached);
"new style" the median with a style not seen before (one more pass of the style network); "strength 0.5" adds the
photo's own bottleneck. Without --content/--style, and without ../shared, pictures made in code are used.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DEFAULT_CONTENT = SHARED / "content" / "tubingen.jpg"
DEFAULT_STYLE = SHARED / "styles" / "starry_night.jpg"


def generated_photo(size: tuple[int, int] = (1024, 768)) -> Image.Image:
    w, h = size
    pixels = np.zeros((h, w, 3), np.uint8)
    pixels[..., 0] = 90
    pixels[..., 1] = np.linspace(200, 120, h, dtype=np.uint8)[:, None]
    pixels[..., 2] = np.linspace(250, 150, h, dtype=np.uint8)[:, None]
    image = Image.fromarray(pixels)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, int(h * 0.75), w, h), fill=(40, 160, 60))
    draw.rectangle((int(w * 0.3), int(h * 0.4), int(w * 0.6), int(h * 0.8)), fill=(70, 50, 40))
    draw.polygon([(int(w * 0.25), int(h * 0.4)), (int(w * 0.45), int(h * 0.15)), (int(w * 0.65), int(h * 0.4))],
                 fill=(200, 30, 30))
    return image


def generated_painting(size: tuple[int, int] = (512, 512), seed: int = 1) -> Image.Image:
    rng = np.random.default_rng(seed)
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w]
    stripes = (np.sin((xx + yy) / (6.0 + seed)) > 0).astype(np.float32)[..., None]
    pixels = stripes * np.array([240, 200, 40], np.float32) + (1 - stripes) * np.array([30, 50, 160], np.float32)
    pixels += rng.normal(0, 20, (h, w, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def open_picture(path: Path) -> Image.Image:
    with Image.open(path) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def pick(given: str | None, default: Path, make: Callable[[], Image.Image]) -> tuple[Image.Image, str]:
    if given:
        return open_picture(Path(given)), given
    if default.is_file():
        return open_picture(default), os.path.relpath(default, ROOT)
    return make(), "generated"


def parse_sizes(text: str) -> list[int]:
    sizes = [int(part) for part in text.replace(" ", "").split(",") if part]
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"sizes must be positive whole numbers, like 256,512: {text!r}")
    return sizes


def seconds(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sketch_speed", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__.split("\n\n", 1)[1])
    parser.add_argument("--content", help="photo path (default: ../shared/data/content/tubingen.jpg, else generated)")
    parser.add_argument("--style", help="style path (default: ../shared/data/styles/starry_night.jpg, else generated)")
    parser.add_argument("--sizes", type=parse_sizes, default=[256, 512], help="max_side values (default 256,512)")
    parser.add_argument("--repeats", type=int, default=10, help="warm sketches per size (default 10)")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads (default 2)")
    parser.add_argument("--json", action="store_true", help="print one JSON line per size instead of a table")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    start = time.perf_counter()
    import onnxruntime

    from sketch import Sketcher

    import_s = time.perf_counter() - start
    try:
        photo, photo_name = pick(args.content, DEFAULT_CONTENT, generated_photo)
        style, style_name = pick(args.style, DEFAULT_STYLE, generated_painting)
    except OSError as exc:
        parser.error(f"can't open {exc.filename or 'a picture'}: {exc.strerror or exc}")
    fresh_styles = [generated_painting((400, 300), seed=10 + i) for i in range(args.repeats)]

    rows: list[dict[str, object]] = []
    for size in args.sizes:
        sketcher = Sketcher(intra_op_threads=args.threads)
        run = functools.partial(sketcher.sketch, photo, max_side=size)
        cold = seconds(functools.partial(run, style))
        out = run(style)
        warm = [seconds(functools.partial(run, style)) for _ in range(args.repeats)]
        new_style = [seconds(functools.partial(run, fresh)) for fresh in fresh_styles]
        blended = [seconds(functools.partial(run, style, strength=0.5)) for _ in range(args.repeats)]
        rows.append({
            "max_side": size, "output": f"{out.width}x{out.height}", "threads": args.threads,
            "cold_s": round(cold, 3), "warm_median_s": round(statistics.median(warm), 3),
            "warm_max_s": round(max(warm), 3), "new_style_median_s": round(statistics.median(new_style), 3),
            "strength_half_median_s": round(statistics.median(blended), 3), "repeats": args.repeats,
        })

    header = (f"photo {photo_name} ({photo.width}x{photo.height}), style {style_name} ({style.width}x{style.height}); "
              f"onnxruntime {onnxruntime.__version__}, {args.threads} intra-op threads, {os.cpu_count()} CPUs; "
              f"import {import_s:.2f} s")
    if args.json:
        for row in rows:
            print(json.dumps({"photo": photo_name, "style": style_name, **row}))
        return 0
    print(header)
    columns = [("max side", "max_side"), ("output", "output"), ("cold s", "cold_s"),
               (f"warm median s (n={args.repeats})", "warm_median_s"), ("warm max s", "warm_max_s"),
               ("new style median s", "new_style_median_s"), ("strength 0.5 median s", "strength_half_median_s")]
    print("| " + " | ".join(title for title, _ in columns) + " |")
    print("|" + "|".join(" --- " for _ in columns) + "|")
    for row in rows:
        print("| " + " | ".join(str(row[key]) for _, key in columns) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
