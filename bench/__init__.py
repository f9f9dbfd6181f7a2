"""Benchmarks: one home, laid out by what is measured. Speed and memory goals live here, never in timed tests.

- `bench.engine`: the engine, ms per iteration by size, optimiser and backend, what an iteration is made of, the
  time to a picture and to a fresh process's first picture (`stylebot bench`, a thin entry point to it);
- `bench.worker_path`: the same picture through the worker's whole code path (`stylebot bench --through-worker`);
- `bench.warm_start`: how long the first users wait after a worker (re)starts (`python -m bench.warm_start`);
- `bench.queue`: the queue with real worker processes on SQLite or Postgres (`python -m bench.queue`);
- `bench.delivery`: the real bot's delivery loop against the fake Bot API (`python -m bench.delivery`);
- `gpu_check.sh`: the GPU table (run on a lent GPU machine).

The last three use the test support code (`tests.support`: the fake Bot API, embedded Postgres, test pictures),
so they run from a clone of the repository: `.venv/bin/python -m bench.queue --help`.
"""
