"""Checkers of notebook 07's exercises: right answers pass, typical mistakes get a precise message."""
import numpy as np
import pytest

import keras  # noqa: E402  (required: requirements.txt)
from keras import layers  # noqa: E402

from exercise_helpers import fails, message, passes  # noqa: E402
from cnncourse.exercises import ex07 as ex
from cnncourse.models import vgg16
from cnncourse.ops import receptive_field

NONSENSE = [None, "40", 3.5, np.zeros((2, 2)), [1, 2], ...]


# --------------------------------------------------------------------------- 07.1
def right_field(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


def test_q1_reference_is_the_packages():
    for (layers_,) in ex._FIELD_CASES:
        assert ex._field(layers_) == receptive_field(layers_)


def test_q1_right_answers_pass():
    assert passes(ex.q1, right_field)

    def backwards(layers):            # the other right way: walk down from the last layer
        r = 1
        for kernel, stride in reversed(layers):
            r = (r - 1) * stride + kernel
        return r
    assert passes(ex.q1, backwards)

    def destructive(layers):          # pops its list: the cases must survive it
        r, j = 1, 1
        while layers:
            k, s = layers.pop(0)
            r, j = r + (k - 1) * j, j * s
        return r
    assert passes(ex.q1, destructive)
    assert passes(ex.q1, right_field)


@pytest.mark.parametrize("wrong, words", [
    (lambda layers: 1 + sum(k - 1 for k, _ in layers), "strides are ignored"),
    (ex._own_stride, "own stride"),
    (ex._previous_stride_only, "all the layers before"),
    (ex._backward_in_forward_order, "reverse the list"),
    (lambda layers: right_field(layers) - 1, "one short"),
    (lambda layers: right_field(layers) ** 2, "not its area"),
    (lambda layers: 40, "field and the jump"),
    (lambda layers: float(right_field(layers)) + 0.5, "whole number"),
    (lambda layers: receptive_field(layers), "write the loop yourself"),
    (receptive_field, "write the loop yourself"),
    (lambda layers: layers[5], "raised IndexError"),
    (lambda: 3, "raised TypeError"),
])
def test_q1_mistakes(wrong, words):
    msg = fails(ex.q1, wrong, words)
    assert "212" not in msg and " 40 " not in msg


def test_q1_mistakes_are_told_apart():
    # each mistake differs from the right answer and from every other mistake on the cases
    rows = [tuple(v) for v, _ in ex._field_problem.mistakes]
    assert len(set(rows)) == len(rows) and tuple(ex._field_problem.wants) not in rows


@pytest.mark.parametrize("bad", NONSENSE)
def test_q1_nonsense(bad):
    assert not passes(ex.q1, bad)


# --------------------------------------------------------------------------- 07.2
def block(x, filters, n_convs, kernel=3, padding="same", activation="relu", pool="max", pool_size=2,
          extra=None, n_pools=1, use_bias=True, strides=1, relu_layer=False):
    for _ in range(n_convs):
        x = layers.Conv2D(filters, kernel, strides=strides, padding=padding, use_bias=use_bias,
                          activation=None if relu_layer else activation)(x)
        if relu_layer:
            x = layers.ReLU()(x)
        if extra is not None:
            x = extra()(x)
    for _ in range(n_pools):
        x = (layers.MaxPooling2D if pool == "max" else layers.AveragePooling2D)(pool_size, strides=2,
                                                                                 padding="same")(x)
    return x


def test_q2_reference_blocks_are_vgg16s():
    blocks = ex._vgg_blocks()
    assert [(f, n) for _, f, n, _, _, _ in blocks] == [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]
    full = vgg16()
    conv_params = sum(layer.count_params() for layer in full.layers if layer.name.startswith("block"))
    assert sum(p for *_, p, _ in blocks) == conv_params == 14_714_688
    assert blocks[-1][3] == (1, 1, 512)


def test_q2_right_answers_pass():
    assert passes(ex.q2, block)
    assert passes(ex.q2, lambda x, f, n: block(x, f, n, relu_layer=True))

    def sequential(x, filters, n_convs):     # a Sequential applied to x is a block too
        return keras.Sequential([layers.Conv2D(filters, 3, padding="same", activation="relu")
                                 for _ in range(n_convs)] + [layers.MaxPooling2D()])(x)
    assert passes(ex.q2, sequential)


@pytest.mark.parametrize("wrong, words", [
    (lambda x, f, n: block(x, f, n, n_pools=0), "no pooling"),
    (lambda x, f, n: block(x, f, n, padding="valid"), "padding 'valid'"),
    (lambda x, f, n: block(x, f, n, kernel=5), "5x5 kernel"),
    (lambda x, f, n: block(x, f, n, activation=None), "no ReLU"),
    (lambda x, f, n: block(x, f, 2), "n_convs"),
    (lambda x, f, n: block(x, 64, n), "`filters`"),
    (lambda x, f, n: block(x, f, n, pool="avg"), "MaxPooling2D"),
    (lambda x, f, n: block(x, f, n, pool_size=3), "2x2 with stride 2"),
    (lambda x, f, n: block(x, f, n, n_pools=2), "one, at its end"),
    (lambda x, f, n: block(x, f, n, use_bias=False), "no bias"),
    (lambda x, f, n: block(x, f, n, strides=2), "move by 1"),
    (lambda x, f, n: block(x, f, n, extra=layers.BatchNormalization), "BatchNormalization"),
    (lambda x, f, n: block(keras.Input(x.shape[1:]), f, n), "does not come from x"),
    (lambda x, f, n: x, "x itself"),
    (lambda x, f, n: layers.Conv2D(f, 3), "call it on x"),
    (lambda x, f, n: None, "not a tensor"),
    (lambda x, f: x, "raised TypeError"),
])
def test_q2_mistakes(wrong, words):
    fails(ex.q2, wrong, words)


def test_q2_pool_before_last_conv():
    def early(x, filters, n_convs):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
        for _ in range(n_convs - 1):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        return x
    fails(ex.q2, early, "pools before its last convolution")


@pytest.mark.parametrize("bad", NONSENSE)
def test_q2_nonsense(bad):
    assert not passes(ex.q2, bad)


# --------------------------------------------------------------------------- 07.3
def test_q3_fc1_after_gap():
    assert passes(ex.q3, 2_101_248)
    assert "bias" in message(ex.q3, 512 * 4096)
    assert "after Flatten" in message(ex.q3, 102_764_544)
    assert "not the 512 channels" in message(ex.q3, 7 * 7 * 4096 + 4096)
    assert "every (input, unit) pair" in message(ex.q3, 512 + 4096)
    assert "not it" in message(ex.q3, 5)
    for bad in NONSENSE:
        assert not passes(ex.q3, bad)


# --------------------------------------------------------------------------- 07.4
def small_vgg(widths=(32, 64, 128), n_convs=2, kernel=3, padding="same", strides=1, act="relu", pool=(2, 2),
              pool_kind="max", head="gap", dense=None, softmax=True, inp=(32, 32, 3), out=10, bn=False,
              trailing_conv=False, mixed=False):
    inputs = keras.Input(inp)
    x = inputs
    for w in widths:
        for i in range(n_convs):
            filters = w + 1 if mixed and i else w
            x = layers.Conv2D(filters, kernel, strides=strides, padding=padding,
                              activation=None if bn else act)(x)
            if bn:
                x = layers.BatchNormalization()(x)
                x = layers.ReLU()(x)
        x = (layers.MaxPooling2D if pool_kind == "max" else layers.AveragePooling2D)(pool[0], strides=pool[1],
                                                                                     padding="same")(x)
    if trailing_conv:
        x = layers.Conv2D(widths[-1] * 2, 3, padding="same", activation="relu")(x)
    x = layers.GlobalAveragePooling2D()(x) if head == "gap" else layers.Flatten()(x)
    if dense:
        x = layers.Dense(dense, activation="relu")(x)
    outputs = layers.Dense(out, activation="softmax" if softmax else None)(x)
    return keras.Model(inputs, outputs)


def test_q4_right_answers_pass():
    assert passes(ex.q4, small_vgg())
    assert passes(ex.q4, small_vgg(bn=True))
    assert passes(ex.q4, small_vgg(widths=(16, 32, 64, 128), n_convs=1, head="flatten", dense=64))


@pytest.mark.parametrize("kwargs, words", [
    (dict(kernel=5), "VGG's rule is 3x3"),
    (dict(padding="valid"), "VGG's rule is 3x3"),
    (dict(act=None), "no ReLU"),
    (dict(pool=(3, 2)), "2x2 max pooling"),
    (dict(pool_kind="avg"), "2x2 max pooling"),
    (dict(widths=(32, 64)), "at least 3"),
    (dict(widths=(32, 64, 64)), "doubles the filters"),
    (dict(mixed=True), "mixes convolutions"),
    (dict(trailing_conv=True), "not followed by a pooling"),
    (dict(widths=(64, 128, 256), head="flatten", dense=512), "1,000,000 or fewer"),
    (dict(softmax=False), "probabilities"),
    (dict(out=5), "expected 10"),
    (dict(inp=(64, 64, 3)), "expected (32, 32, 3)"),
])
def test_q4_mistakes(kwargs, words):
    fails(ex.q4, small_vgg(**kwargs), words)


def test_q4_pool_without_convolution():
    inputs = keras.Input((32, 32, 3))
    x = layers.MaxPooling2D()(inputs)
    for w in (16, 32, 64):
        x = layers.Conv2D(w, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    model = keras.Model(inputs, layers.Dense(10, activation="softmax")(layers.Flatten()(x)))
    fails(ex.q4, model, "at least one convolution")


@pytest.mark.parametrize("bad", NONSENSE + [layers.Dense(3), keras.Sequential()])
def test_q4_nonsense(bad):
    assert not passes(ex.q4, bad)
