"""What every engine-benchmark contender gets (a `Case`) and gives back (a `Run`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from engine.options import Precision

if TYPE_CHECKING:
    from engine.backend import Targets
    from engine.transfer import Stylizer

Run = Callable[[int], None]  # runs this many iterations and waits for them


@dataclass(frozen=True)
class Case:
    """One size to measure, as every contender gets it."""

    stylizer: Stylizer
    size: tuple[int, int]  # (width, height)
    content: Image.Image
    style: Image.Image
    precision: Precision
    image: np.ndarray  # a starting picture of `size`, caffe space
    targets: Targets  # the objective's inputs at `size`


Contender = Callable[[Case], Run]  # builds a freshly compiled run (called once per repeat)
