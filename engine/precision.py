"""Which precision the convolutions run in when the caller says "auto": bfloat16 where the hardware runs it natively
and fast, float32 elsewhere.

Measured (`stylebot bench --backend tensorflow --sizes 512 --iterations 10 --repeats 1 --contenders lbfgs --precision
{float32,bfloat16} --weights hed --picture 0` on a 2-core CPU with AMX): 1513 ms per L-BFGS iteration in float32,
589 ms in bfloat16; `python -m bench.engine_schedule --new-precision bfloat16` measures the losses against float32.
A CPU without AMX has no fast bfloat16 matrix unit (emulated bfloat16 is slower than float32), JAX's CPU
convolutions do not go through oneDNN, and on a GPU the choice stays the operator's (STYLEBOT_PRECISION), as
before."""

from __future__ import annotations

from pathlib import Path

from engine.options import PRECISION_CHOICES, PRECISIONS, Precision

AUTO = "auto"
CPU_FLAGS = Path("/proc/cpuinfo")
FAST_BFLOAT16_FLAG = "amx_bf16"  # Intel AMX's bfloat16 tiles (oneDNN uses them for bfloat16 convolutions)
FAST_BFLOAT16_BACKEND = "tensorflow"  # TensorFlow's CPU convolutions are oneDNN's; XLA's CPU ones (JAX) are not


def resolve(choice: str, device: str, backend: str = FAST_BFLOAT16_BACKEND) -> Precision:
    """The precision to run on `device` (the backend's device name, "CPU" or "GPU") under Keras `backend`:
    `choice` itself, or for "auto" bfloat16 on TensorFlow on a CPU with AMX and float32 elsewhere. ValueError for
    anything else."""
    for precision in PRECISIONS:
        if choice == precision:
            return precision
    if choice != AUTO:
        raise ValueError(f"precision must be one of {', '.join(PRECISION_CHOICES)}, not {choice!r}")
    fast = backend == FAST_BFLOAT16_BACKEND and device == "CPU" and cpu_has_fast_bfloat16()
    return "bfloat16" if fast else "float32"


def cpu_has_fast_bfloat16(cpuinfo: Path | None = None) -> bool:
    """Whether the CPU lists AMX bfloat16 among its flags (Linux's /proc/cpuinfo; False where it can't be read)."""
    try:
        text = (cpuinfo or CPU_FLAGS).read_text(errors="replace")
    except OSError:
        return False
    return any(
        FAST_BFLOAT16_FLAG in line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")
    )
