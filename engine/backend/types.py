"""The types the per-backend loop modules share (kept apart from the loader, so no module imports its importer)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np

Tensor = Any  # a tf.Tensor, a jax.Array or a numpy array, as the backend has it
State = tuple[Tensor, ...]  # an optimiser's state; state[0] is the image
Carry = TypeVar("Carry")
Run = Callable[[int], None]  # runs this many iterations and waits for them
BareRun = Callable[[np.ndarray, int], None]  # forward+backward passes of the bare network at an image


class Targets(NamedTuple):
    """The objective's inputs for one stage: content features P, blended style Grams A_l, [α, β, tv, range]."""

    content: Tensor
    grams: tuple[Tensor, ...]
    coeffs: Tensor


Objective = Callable[[Sequence[Tensor], Tensor, Targets], tuple[Tensor, tuple[Tensor, Tensor]]]
