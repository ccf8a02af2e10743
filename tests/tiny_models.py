"""Tiny Keras models and data whose right answers are known, shared by several test modules."""
import keras
import numpy as np


def lenet_like():
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((16, 16, 1)),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(2, name="pool1"),
        keras.layers.Conv2D(6, 3, activation="relu", name="conv2"),
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(3, activation="softmax", name="out"),
    ])


def two_channel_cam_model():
    """conv copies input channel k to map k; GAP; class k reads map k only (the CAM architecture)."""
    model = keras.Sequential([
        keras.Input((10, 10, 2)),
        keras.layers.Conv2D(2, 1, use_bias=False, name="conv"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(2, use_bias=False, activation="softmax", name="out"),
    ])
    model.get_layer("conv").set_weights([np.eye(2, dtype="float32").reshape(1, 1, 2, 2)])
    model.get_layer("out").set_weights([np.eye(2, dtype="float32")])
    return model


def labelled_images(n=12):
    """Image i is constant at value label/10 on its left half and 0 on its right."""
    y = np.arange(n) % 10
    x = np.zeros((n, 8, 8, 3), "float32")
    x[:, :, :4] = (y / 10)[:, None, None, None]
    return x, y


def correlated_images(n=64, side=12, seed=0):
    """Images whose neighbouring pixels and channels are correlated, as in photographs."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, side + 1, side + 1, 1))
    smooth = (base[:, 1:, 1:] + base[:, :-1, 1:] + base[:, 1:, :-1] + base[:, :-1, :-1]) / 2
    colour = smooth * np.array([1.0, 0.8, 0.6]) + 0.3 * rng.normal(size=(n, side, side, 3))
    return colour.astype("float32")
