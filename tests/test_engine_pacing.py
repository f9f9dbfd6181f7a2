"""Chunk sizes follow the measured speed: about `chunk_seconds` per compiled call, growing at most 4× a call."""

from __future__ import annotations

from engine.pacing import MAX_GROWTH, Pacer


def test_the_first_call_compiles_with_one_iteration_then_chunks_grow_towards_the_target() -> None:
    pacer = Pacer(chunk_seconds=0.5)
    assert pacer.next_chunk(10_000) == 1
    pacer.record(1, 3.0)  # compiling: the next chunk errs on the short side
    assert pacer.next_chunk(10_000) == 1
    pacer.record(1, 0.002)  # a GPU-like 2 ms per iteration
    sizes = []
    for _ in range(6):
        steps = pacer.next_chunk(10_000)
        sizes.append(steps)
        pacer.record(steps, steps * 0.002)
    assert sizes == [MAX_GROWTH, MAX_GROWTH**2, MAX_GROWTH**3, 250, 250, 250]  # 0.5 s each, not 50 iterations


def test_a_known_pace_is_trusted_at_once_and_chunks_never_pass_the_stage() -> None:
    pacer = Pacer(chunk_seconds=0.5, seconds_per_iteration=0.01)
    assert pacer.next_chunk(10_000) == 50
    assert pacer.next_chunk(7) == 7


def test_a_slow_down_shrinks_the_next_chunk() -> None:
    pacer = Pacer(chunk_seconds=0.5, seconds_per_iteration=0.01)
    pacer.record(50, 2.0)  # four times slower than expected
    assert pacer.next_chunk(10_000) == 12
