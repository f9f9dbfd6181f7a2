"""`precision="auto"`: bfloat16 convolutions only where the hardware runs them natively (TensorFlow on a CPU with
AMX), float32 elsewhere; an explicit choice is kept; anything else is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.options import StylizeOptions
from engine.precision import cpu_has_fast_bfloat16, resolve

AMX_CPU = "processor\t: 0\nflags\t\t: fpu sse avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n\n"
OLD_CPU = "processor\t: 0\nflags\t\t: fpu sse avx2 fma\n\n"


@pytest.mark.parametrize(
    ("cpuinfo", "device", "expected"),
    [(AMX_CPU, "CPU", "bfloat16"), (OLD_CPU, "CPU", "float32"), (AMX_CPU, "GPU", "float32"), (None, "CPU", "float32")],
)
def test_auto_picks_bfloat16_only_on_a_cpu_with_amx(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cpuinfo: str | None, device: str, expected: str
) -> None:
    path = tmp_path / "cpuinfo"
    if cpuinfo is not None:
        path.write_text(cpuinfo)
    monkeypatch.setattr("engine.precision.CPU_FLAGS", path)
    assert resolve("auto", device) == expected
    assert resolve("auto", device, "jax") == "float32"  # XLA's CPU convolutions have no AMX path
    assert cpu_has_fast_bfloat16(path) is (cpuinfo == AMX_CPU)


def test_an_explicit_precision_is_kept_and_a_wrong_one_refused() -> None:
    assert resolve("float32", "CPU") == "float32"
    assert resolve("bfloat16", "GPU") == "bfloat16"
    with pytest.raises(ValueError, match="auto, float32, bfloat16"):
        resolve("float16", "CPU")
    with pytest.raises(ValueError, match="precision"):
        StylizeOptions(precision="half")  # type: ignore[arg-type]
    assert StylizeOptions(precision="auto").precision == "auto"
