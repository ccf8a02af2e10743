"""Checkers of notebook 08's exercises: right answers pass, typical mistakes get a precise message."""
import numpy as np

from exercise_helpers import message, passes  # noqa: E402
from cnncourse import interpret as vis
from cnncourse.exercises import ex08 as ex
from cnncourse.models import lenet5

NONSENSE = [None, "conv2", 3.5, np.zeros((2, 2)), [1, 2, 3], ...]


def test_q1_layer_and_field_agree_with_the_model():
    model = lenet5()
    names = [l.name for l in model.layers if tuple(l.output.shape[1:]) == (10, 10, 16)]
    assert names == ["conv2"]
    # receptive field measured: the gradients of one conv2 unit reach a 14x14 window of the input
    # (max pooling passes a gradient to one pixel of each 2x2 window: take the union over many images)
    import keras
    probe = keras.Model(model.inputs[0], model.get_layer("conv2").output)
    x = np.random.default_rng(0).random((64, 32, 32, 1))
    _, grad = vis.input_gradient(lambda t: keras.ops.sum(probe(t)[:, 4, 4, :]), x)
    reached = np.abs(grad[..., 0]).sum(0) > 0
    rows, cols = np.flatnonzero(reached.any(1)), np.flatnonzero(reached.any(0))
    assert (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) == (14, 14)
    assert passes(ex.q1, ("conv2", 14)) and passes(ex.q1, ["conv2 ", 14.0])
    assert "pooling" in message(ex.q1, ("conv2", 9))
    assert "side of the feature map" in message(ex.q1, ("conv2", 10))
    assert "one conv1 unit" in message(ex.q1, ("conv2", 5))
    assert "too large" in message(ex.q1, ("conv2", 18))
    assert "follow one conv2 unit" in message(ex.q1, ("conv2", 12))
    both = message(ex.q1, ("pool2", 16))
    assert "pool2 outputs 5x5x16" in both and "follow" in both
    assert "not one of LeNet-5's layers" in message(ex.q1, ("c2", 14))
    assert "whole number" in message(ex.q1, ("conv2", 14.5))
    assert "layer name" in message(ex.q1, (2, 14))
    for bad in NONSENSE:
        assert not passes(ex.q1, bad)


def test_q2_linear_saliency_is_what_visualize_computes():
    right = vis.saliency_map(ex.linear_model(), ex.IMAGE, class_index=3)
    np.testing.assert_allclose(right, np.abs(ex.LINEAR_W[:, 3]).reshape(8, 8), rtol=1e-5)
    assert passes(ex.q2, right) and passes(ex.q2, right[..., None])
    w = ex.LINEAR_W[:, 3].reshape(8, 8)
    assert "absolute value" in message(ex.q2, w)
    assert "transposed" in message(ex.q2, np.abs(w).T)
    assert "class 5" in message(ex.q2, np.abs(ex.LINEAR_W[:, 5]).reshape(8, 8))
    assert "before the softmax" in message(ex.q2, np.abs(ex._softmax_grad()))
    assert "gradient x input" in message(ex.q2, np.abs(w * ex.IMAGE[..., 0]))
    assert "same for every image" in message(ex.q2, np.ones((8, 8)))
    assert "shape" in message(ex.q2, np.ones(64))
    for bad in NONSENSE:
        assert not passes(ex.q2, bad)


def test_q3_cam_by_hand_matches_grad_cam_of_a_model():
    alpha = ex.CAM_GRADS.mean(axis=(0, 1))
    raw = (ex.CAM_A * alpha).sum(-1)
    assert raw.min() < 0 < raw.max()                       # the ReLU matters for these numbers
    right = np.maximum(raw, 0) / np.maximum(raw, 0).max()
    assert passes(ex.q3, right)
    assert "ReLU" in message(ex.q3, raw)
    assert "maximum is 1" in message(ex.q3, np.maximum(raw, 0))
    per_position = np.maximum((ex.CAM_A * ex.CAM_GRADS).sum(-1), 0)
    assert "one weight" in message(ex.q3, per_position / per_position.max())
    wrong_axis = np.maximum(ex.CAM_A.mean(-1) * ex.CAM_GRADS.mean(-1), 0)
    assert "not over the channels" in message(ex.q3, wrong_axis / wrong_axis.max())
    unsigned = np.maximum((ex.CAM_A * np.abs(alpha)).sum(-1), 0)
    assert "keep their sign" in message(ex.q3, unsigned / unsigned.max())
    assert "Not the Grad-CAM map" in message(ex.q3, np.eye(4))
    for bad in NONSENSE:
        assert not passes(ex.q3, bad)


def test_q3_formula_is_grad_cam_of_a_real_model():
    """A 1x1 conv that copies CAM_A, then a linear score whose gradient is CAM_GRADS: vis.grad_cam agrees."""
    import keras

    a = ex.CAM_A
    model = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Conv2D(3, 1, use_bias=False, name="maps"),
                              keras.layers.Flatten(), keras.layers.Dense(1, use_bias=False)])
    model.get_layer("maps").set_weights([np.eye(3, dtype="float32").reshape(1, 1, 3, 3)])
    model.layers[-1].set_weights([ex.CAM_GRADS.reshape(-1, 1)])
    cam = vis.grad_cam(model, a, "maps", class_index=0, upsample=False)
    alpha = ex.CAM_GRADS.mean(axis=(0, 1))
    raw = np.maximum((a * alpha).sum(-1), 0)
    np.testing.assert_allclose(cam, raw / raw.max(), atol=1e-5)
    assert passes(ex.q3, cam)
