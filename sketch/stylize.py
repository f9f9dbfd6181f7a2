"""A quick painting of a photo in any style: one pass of the arbitrary-style network, numpy and Pillow around it.

The transformer works on a fixed 384×384 square: the photo is scaled so its longer side is 384, mirrored out to
the square, painted, cropped back and scaled to the size asked for (Lanczos). Style bottlenecks are kept in a small
LRU keyed by a hash of the style's pixels, as the same presets come back again and again.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from sketch.model import BOTTLENECK, CONTENT_SIZE, DEFAULT_THREADS, STYLE_SIZE, SketchModel

Picture: TypeAlias = Image.Image | NDArray[np.generic]
"""A PIL image (any mode; transparency goes on white) or an HxW / HxWx1 / HxWx3 / HxWx4 array: uint8 0…255 or
float 0…1. Pixels are taken as they are: turning a photo upright is the decoder's job (imaging.decode)."""

MAX_SIDE_LIMIT = 4096
"""The largest `max_side` accepted: a sketch is a preview, never bigger than this."""
DEFAULT_MAX_SIDE = 512
DEFAULT_STYLE_CACHE = 32

_LANCZOS = Image.Resampling.LANCZOS


def as_rgb(picture: object, what: str = "picture") -> Image.Image:
    """An RGB PIL image of `picture`, or ValueError saying what is wrong with it."""
    if isinstance(picture, Image.Image):
        if picture.width < 1 or picture.height < 1:
            raise ValueError(f"the {what} is empty ({picture.width}×{picture.height} pixels)")
        return _image_to_rgb(picture, what)
    if isinstance(picture, np.ndarray):
        return _array_to_rgb(picture, what)
    raise ValueError(f"the {what} must be a PIL image or a numpy array, not {type(picture).__name__}")


def check_picture(picture: object, what: str = "picture") -> None:
    """The cheap part of `as_rgb`'s checks (type and size), for callers that must answer at once."""
    if isinstance(picture, Image.Image):
        if picture.width < 1 or picture.height < 1:
            raise ValueError(f"the {what} is empty ({picture.width}×{picture.height} pixels)")
    elif isinstance(picture, np.ndarray):
        _array_shape(picture, what)
    else:
        raise ValueError(f"the {what} must be a PIL image or a numpy array, not {type(picture).__name__}")


def _image_to_rgb(image: Image.Image, what: str) -> Image.Image:
    try:
        if image.mode == "RGB":
            return image
        if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(white, rgba).convert("RGB")
        return image.convert("RGB")
    except (OSError, ValueError) as exc:
        raise ValueError(f"the {what} in mode {image.mode} can't be turned into RGB ({exc})") from exc


def _array_shape(array: NDArray[np.generic], what: str) -> tuple[int, int, int]:
    if array.ndim == 2:
        channels = 1
    elif array.ndim == 3 and array.shape[2] in (1, 3, 4):
        channels = array.shape[2]
    else:
        raise ValueError(f"the {what} array must be HxW, HxWx1, HxWx3 or HxWx4, not {array.shape}")
    height, width = array.shape[:2]
    if height < 1 or width < 1:
        raise ValueError(f"the {what} is empty ({width}×{height} pixels)")
    if not (array.dtype == np.uint8 or np.issubdtype(array.dtype, np.floating)):
        raise ValueError(f"the {what} array must be uint8 (0…255) or float (0…1), not {array.dtype}")
    return height, width, channels


def _array_to_rgb(array: NDArray[np.generic], what: str) -> Image.Image:
    _, _, channels = _array_shape(array, what)
    if array.dtype == np.uint8 and channels != 4:
        pixels: NDArray[np.uint8] = np.asarray(array, dtype=np.uint8)
    else:
        floats: NDArray[np.float32] = np.asarray(array, dtype=np.float32)
        if array.dtype == np.uint8:
            floats = floats / np.float32(255.0)
        elif not np.isfinite(floats).all():
            raise ValueError(f"the {what} array holds NaN or infinite values")
        floats = np.clip(floats, 0.0, 1.0)
        if channels == 4:
            alpha = floats[:, :, 3:4]
            floats = floats[:, :, :3] * alpha + (np.float32(1.0) - alpha)
        pixels = (floats * np.float32(255.0) + np.float32(0.5)).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    image = Image.fromarray(np.ascontiguousarray(pixels))
    return image if image.mode == "RGB" else image.convert("RGB")


def _to_float(image: Image.Image) -> NDArray[np.float32]:
    return np.asarray(image, dtype=np.float32) / np.float32(255.0)


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    shrinking = size[0] < image.width and size[1] < image.height
    return image.resize(size, _LANCZOS, reducing_gap=3.0 if shrinking else None)


def fit_side(size: tuple[int, int], side: int) -> tuple[int, int]:
    """(width, height) with the longer side `side` and the aspect ratio of `size` (each at least 1)."""
    width, height = size
    scale = side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def style_input(style: Image.Image) -> NDArray[np.float32]:
    """The style network's input: the largest centred square, scaled to 256×256, as `[1, 256, 256, 3]` 0…1."""
    side = min(style.size)
    left, top = (style.width - side) // 2, (style.height - side) // 2
    square = style.crop((left, top, left + side, top + side))
    return _to_float(_resize(square, (STYLE_SIZE, STYLE_SIZE)))[None]


def content_input(content: Image.Image) -> tuple[NDArray[np.float32], tuple[int, int]]:
    """The transformer's input `[1, 384, 384, 3]` (the photo scaled to a longer side of 384, mirrored out to the
    square) and the (width, height) of the photo inside it."""
    width, height = fit_side(content.size, CONTENT_SIZE)
    pixels = _to_float(_resize(content, (width, height)))
    padded = np.pad(pixels, ((0, CONTENT_SIZE - height), (0, CONTENT_SIZE - width), (0, 0)), mode="symmetric")
    return np.ascontiguousarray(padded[None]), (width, height)


def _picture_key(image: Image.Image) -> bytes:
    digest = hashlib.blake2b(digest_size=20)
    digest.update(f"{image.width}x{image.height}:{image.mode}:".encode())
    digest.update(image.tobytes())
    return digest.digest()


class _LRU:
    """A small thread-safe LRU of style bottlenecks."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[bytes, NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: bytes) -> NDArray[np.float32] | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def put(self, key: bytes, value: NDArray[np.float32]) -> None:
        if self.size < 1:
            return
        value.setflags(write=False)
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


class Sketcher:
    """Paints quick sketches. Loads the networks on first use (once, thread-safe); safe to share between threads.

    >>> sketcher = Sketcher()
    >>> sketcher.sketch(photo, painting, max_side=512).save("sketch.png")
    """

    def __init__(
        self,
        model_dir: str | os.PathLike[str] | None = None,
        *,
        intra_op_threads: int = DEFAULT_THREADS,
        style_cache_size: int = DEFAULT_STYLE_CACHE,
        model: SketchModel | None = None,
    ) -> None:
        self.model_dir = model_dir
        self.intra_op_threads = intra_op_threads
        self.styles = _LRU(style_cache_size)
        self._model = model
        self._lock = threading.Lock()

    @property
    def model(self) -> SketchModel:
        """The networks, loaded (and their SHA-256 checked) on first use."""
        if self._model is None:
            with self._lock:
                if self._model is None:
                    self._model = SketchModel(self.model_dir, intra_op_threads=self.intra_op_threads)
        return self._model

    def style_bottleneck(self, style: Picture) -> NDArray[np.float32]:
        """The style's 100-number bottleneck `[1, 1, 1, 100]` (cached by its pixels; read-only)."""
        rgb = as_rgb(style, "style")
        key = _picture_key(rgb)
        found = self.styles.get(key)
        if found is None:
            found = self.model.predict(style_input(rgb))
            self.styles.put(key, found)
        return found

    def sketch(
        self,
        content: Picture,
        style: Picture,
        *,
        max_side: int = DEFAULT_MAX_SIDE,
        strength: float = 1.0,
    ) -> Image.Image:
        """The photo `content` painted in the manner of the picture `style`, as an RGB image.

        The result keeps the photo's aspect ratio; its longer side is `max_side`, or the photo's own if that is
        smaller. `strength` (0…1) blends the style's bottleneck with the photo's own, as Magenta does: 1 is the
        style in full, 0 the photo repainted in its own manner.
        """
        check_picture(content, "photo")
        check_picture(style, "style")
        if isinstance(max_side, bool) or not isinstance(max_side, int | np.integer):
            raise ValueError(f"max_side must be a whole number of pixels, not {max_side!r}")
        if not 1 <= max_side <= MAX_SIDE_LIMIT:
            raise ValueError(f"max_side must be between 1 and {MAX_SIDE_LIMIT}, got {max_side}")
        if isinstance(strength, bool) or not isinstance(strength, int | float | np.floating | np.integer):
            raise ValueError(f"strength must be a number between 0 and 1, not {strength!r}")
        if not 0.0 <= float(strength) <= 1.0:  # also refuses NaN
            raise ValueError(f"strength must be between 0 and 1, got {strength}")
        photo = as_rgb(content, "photo")
        bottleneck = self.style_bottleneck(style)
        if strength < 1.0:
            own = self.model.predict(style_input(photo))
            bottleneck = (np.float32(strength) * bottleneck + np.float32(1.0 - strength) * own).astype(np.float32)
        network_input, (width, height) = content_input(photo)
        painted = self.model.transform(network_input, bottleneck.reshape(1, 1, 1, BOTTLENECK))[0, :height, :width]
        image = Image.fromarray((np.clip(painted, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8))
        return _resize(image, fit_side(photo.size, min(int(max_side), max(photo.size))))


_default: Sketcher | None = None
_default_lock = threading.Lock()


def default_sketcher() -> Sketcher:
    """The process's shared Sketcher (the installed model files, 2 intra-op threads), made on first call."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Sketcher()
    return _default


def sketch(
    content: Picture,
    style: Picture,
    *,
    max_side: int = DEFAULT_MAX_SIDE,
    strength: float = 1.0,
    sketcher: Sketcher | None = None,
) -> Image.Image:
    """`Sketcher.sketch` on the shared `default_sketcher()` (or on `sketcher`)."""
    return (sketcher or default_sketcher()).sketch(content, style, max_side=max_side, strength=strength)
