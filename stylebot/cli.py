"""The `stylebot` command: run, worker, stylize, migrate, bench, health."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import logging
import os
import sys
from pathlib import Path

from settings import Settings, SettingsError


def _quiet_tensorflow() -> None:
    # TensorFlow prints C++ start-up chatter to stderr unless told otherwise before it is imported.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """The bot (every front end with a token) plus STYLEBOT_WORKERS local worker processes (on one SQLite file, by
    default)."""
    from worker.pool import WorkerPool

    from .frontends import run_front_ends, startup_error

    if args.workers is not None:
        settings = dataclasses.replace(settings, workers=args.workers)
    problem = startup_error(settings)  # before any worker starts
    if problem:
        print(problem, file=sys.stderr)
        return 1
    with WorkerPool(settings, settings.workers) if settings.workers > 0 else contextlib.nullcontext():
        run_front_ends(settings)
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    """One engine worker process."""
    _quiet_tensorflow()
    from worker.main import main as worker_main

    return worker_main(args.rest)


def cmd_stylize(args: argparse.Namespace, settings: Settings) -> int:
    """Stylise one photo locally; a style may be a painting's file or a built-in preset's name (`starry`)."""
    _quiet_tensorflow()
    from engine.cli import run

    args.styles = [_builtin_or_file(style) for style in args.styles]
    return run(args, default_weights=settings.weights)


def _builtin_or_file(style: Path) -> Path:
    """The built-in preset's painting when `style` names one and no such file exists, else `style`."""
    from bot.core.presets import BUILTIN_PRESETS, path

    if style.exists():
        return style
    named = {preset.name: preset for preset in BUILTIN_PRESETS}
    return path(named[str(style)]) if str(style) in named else style


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply database migrations."""
    from jobs.migrate import main as migrate_main

    return migrate_main(args.rest)


def cmd_bench(args: argparse.Namespace, settings: Settings) -> int:
    """Engine benchmark: ms per iteration and time to a picture."""
    _quiet_tensorflow()
    from bench.engine import main as bench_main

    return bench_main(args.rest)


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the bot and a worker beat recently (Docker's HEALTHCHECK), else say what is stale and exit 1."""
    from presence import STALE_AFTER_S, check

    parser = argparse.ArgumentParser(prog="stylebot health", description=cmd_health.__doc__)
    parser.add_argument(
        "--max-age", type=float, default=STALE_AFTER_S,
        help=f"seconds a heartbeat stays fresh (default {STALE_AFTER_S:g})",
    )
    parser.add_argument(
        "--min-workers", type=int, default=1, help="fresh worker heartbeats needed (default 1; 0: the bot only)"
    )
    parser.add_argument(
        "--worker-only", action="store_true", help="a worker machine: check only its workers' heartbeats"
    )
    options = parser.parse_args(args.rest)
    ok, line = check(settings.data_dir, options.max_age, options.min_workers, bot_here=not options.worker_only)
    print(line)
    return 0 if ok else 1


def cmd_prune(args: argparse.Namespace, settings: Settings) -> int:
    """Apply the retention now."""
    from jobs.retention import main as prune_main

    return prune_main(args.rest, settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="stylebot", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the chat front ends (Telegram, Discord) and their local workers")
    run.add_argument("--workers", type=int, default=None, help="local worker processes (STYLEBOT_WORKERS)")
    run.set_defaults(func=cmd_run)

    from engine.cli import add_arguments

    stylize = sub.add_parser("stylize", help="stylise a photo on this machine")
    add_arguments(stylize)
    stylize.set_defaults(func=cmd_stylize)

    for name, (_, text) in PASSTHROUGH.items():
        sub.add_parser(name, help=text)
    return parser


# Subcommands with parsers of their own: everything after the name is theirs.
PASSTHROUGH = {
    "worker": (cmd_worker, "run one engine worker process"),
    "migrate": (cmd_migrate, "apply database migrations"),
    "bench": (cmd_bench, "measure the engine's speed"),
    "health": (cmd_health, "exit 0 when the bot and a worker beat recently, else say what is stale"),
    "prune": (cmd_prune, "delete pictures and finished jobs older than the retention (or --older-than DAYS)"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    verbose = bool(argv) and argv[0] in ("-v", "--verbose")
    rest = argv[1:] if verbose else argv
    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        print(f"stylebot: {exc}", file=sys.stderr)
        return 2
    quiet = bool(rest) and rest[0] in ("stylize", "bench")  # their output is the result, not logs
    logging.basicConfig(
        level="DEBUG" if verbose else "WARNING" if quiet else settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if rest and rest[0] in PASSTHROUGH:
        func, _ = PASSTHROUGH[rest[0]]
        return func(argparse.Namespace(rest=rest[1:]), settings)
    args = build_parser().parse_args(argv)
    return int(args.func(args, settings))


if __name__ == "__main__":
    sys.exit(main())
