"""Per-backend optimisation loops (like Keras's own `keras/src/backend/<name>/`); everything else is shared."""

from __future__ import annotations

import importlib
from types import ModuleType

import keras

SUPPORTED = ("tensorflow", "jax")


def current() -> ModuleType:
    """The loop module for the active Keras backend (`KERAS_BACKEND`)."""
    name = keras.backend.backend()
    if name not in SUPPORTED:
        raise RuntimeError(f"Keras backend {name!r} is not supported; use one of {', '.join(SUPPORTED)}")
    return importlib.import_module(f"engine.backend.{name}")
