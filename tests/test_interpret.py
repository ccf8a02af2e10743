"""cnncourse.interpret: model-inspection methods on tiny hand-built models whose right answers are known."""

import keras
import matplotlib
import numpy as np
import pytest

from cnncourse import interpret
from tiny_models import lenet_like, two_channel_cam_model

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def linear_softmax(weights):
    """Flatten -> Dense(classes, softmax) with the given (h*w*c, classes) weights, no bias."""
    h = w = int(np.sqrt(weights.shape[0]))
    model = keras.Sequential([keras.Input((h, w, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(weights.shape[1], activation="softmax", use_bias=False)])
    model.set_weights([weights.astype("float32")])
    return model


def left_half_model():
    """Class scores computed from the left half of a 12x12 image only (the right half is cropped)."""
    keras.utils.set_random_seed(1)
    return keras.Sequential([
        keras.Input((12, 12, 1)),
        keras.layers.Conv2D(4, 3, padding="same", activation="tanh", name="conv"),
        keras.layers.Cropping2D(((0, 0), (0, 6)), name="keep_left"),
        keras.layers.Flatten(),
        keras.layers.Dense(2, activation="softmax", name="out"),
    ])


# ----------------------------------------------------------------------------- filters

def test_filter_images_maps_zero_to_grey_and_scales_each_filter():
    k = np.zeros((3, 3, 1, 2))
    k[1, :, 0, 0] = 2.0          # horizontal bar, strong
    k[:, 1, 0, 1] = -0.5         # vertical bar, weak and negative
    each = interpret.filter_images(k)
    assert each.shape == (2, 1, 3, 3)
    np.testing.assert_allclose(each[0, 0, 1], 1.0)          # max -> white
    np.testing.assert_allclose(each[0, 0, 0], 0.5)          # zero -> grey
    np.testing.assert_allclose(each[1, 0, :, 1], 0.0)       # min of its own filter -> black
    together = interpret.filter_images(k, normalize="all")
    np.testing.assert_allclose(together[1, 0, :, 1], 0.5 - 0.5 * 0.25)   # -0.5 / 2 of the range


def test_filter_images_rgb_and_layer_input():
    layer = keras.layers.Conv2D(5, 3)
    layer.build((None, 8, 8, 3))
    img = interpret.filter_images(layer)
    assert img.shape == (5, 3, 3, 3)                         # (out, kh, kw, rgb)
    kernel = layer.get_weights()[0].astype("float64")        # filter_images computes in float64
    np.testing.assert_allclose(img[2], 0.5 + 0.5 * kernel[..., 2] / np.abs(kernel[..., 2]).max(), rtol=1e-6)
    assert interpret.filter_images(layer, rgb=False).shape == (5, 3, 3, 3)
    grey = interpret.filter_images(np.ones((5, 5, 6, 16)))
    assert grey.shape == (16, 6, 5, 5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(kernel=np.ones((3, 3, 2))), "kernel"),
    (dict(kernel="conv"), "kernel"),
    (dict(kernel=np.ones((3, 3, 1, 2)), rgb=True), "rgb"),
    (dict(kernel=np.ones((3, 3, 1, 2)), normalize="max"), "normalize"),
])
def test_filter_images_rejects_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        interpret.filter_images(**kwargs)


# ----------------------------------------------------------------------------- feature maps

def test_feature_maps_are_the_layers_outputs():
    model = lenet_like()
    x = np.random.default_rng(0).random((16, 16, 1), dtype="float32")
    maps = interpret.feature_maps(model, x)
    assert list(maps) == ["conv1", "pool1", "conv2"]
    assert [m.shape for m in maps.values()] == [(14, 14, 4), (7, 7, 4), (5, 5, 6)]
    # conv1 by hand: valid cross-correlation + bias, then ReLU
    kernel, bias = model.get_layer("conv1").get_weights()
    by_hand = np.zeros((14, 14, 4))
    for i in range(14):
        for j in range(14):
            by_hand[i, j] = np.tensordot(x[i:i + 3, j:j + 3], kernel, axes=3) + bias
    np.testing.assert_allclose(maps["conv1"], np.maximum(by_hand, 0), atol=1e-5)
    # pool1 is the 2x2 max of conv1
    np.testing.assert_allclose(maps["pool1"], maps["conv1"].reshape(7, 2, 7, 2, 4).max(axis=(1, 3)), atol=1e-6)
    only = interpret.feature_maps(model, x, layers=["conv2"])
    np.testing.assert_allclose(only["conv2"], maps["conv2"], atol=1e-6)


def test_feature_maps_on_lenet5_shrink_and_multiply():
    from cnncourse.models import lenet5

    maps = interpret.feature_maps(lenet5(), np.zeros((32, 32, 1)))
    assert {k: v.shape for k, v in maps.items()} == {
        "conv1": (28, 28, 6), "pool1": (14, 14, 6), "conv2": (10, 10, 16), "pool2": (5, 5, 16)}


def test_feature_maps_rejects_bad_arguments():
    model = lenet_like()
    x = np.zeros((16, 16, 1))
    with pytest.raises(ValueError, match="x must be one image of shape"):
        interpret.feature_maps(model, np.zeros((1, 16, 16, 1)))
    with pytest.raises(ValueError, match="layers must be the name"):
        interpret.feature_maps(model, x, layers=["conv9"])
    with pytest.raises(TypeError, match="layers must be a list"):
        interpret.feature_maps(model, x, layers="conv1")
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        interpret.feature_maps("lenet", x)


# ----------------------------------------------------------------------------- gradients, saliency

def test_input_gradient_matches_calculus():
    value, grad = interpret.input_gradient(lambda t: keras.ops.sum(keras.ops.sin(t) * 3.0), np.array([0.0, 1.0]))
    assert value == pytest.approx(3 * np.sin(1.0), rel=1e-6)
    np.testing.assert_allclose(grad, 3 * np.cos([0.0, 1.0]), rtol=1e-6)
    _, zero = interpret.input_gradient(lambda t: keras.ops.sum(t * 0.0) + 1.0, np.ones(3))
    np.testing.assert_array_equal(zero, 0.0)


def test_saliency_of_a_linear_model_is_the_class_weights_not_the_softmax_gradient():
    w = np.random.default_rng(0).normal(size=(9, 3))
    model = linear_softmax(w)
    x = np.random.default_rng(1).random((3, 3, 1))
    for c in range(3):
        sal = interpret.saliency_map(model, x, class_index=c)
        np.testing.assert_allclose(sal, np.abs(w[:, c]).reshape(3, 3), rtol=1e-5)
        signed = interpret.saliency_map(model, x, class_index=c, reduce="none")
        np.testing.assert_allclose(signed[..., 0], w[:, c].reshape(3, 3), rtol=1e-5)
    # the softmax is back on afterwards
    probs = keras.ops.convert_to_numpy(model(x[None]))
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    # class_index=None explains the predicted class
    predicted = int(np.argmax(probs))
    np.testing.assert_allclose(interpret.saliency_map(model, x), np.abs(w[:, predicted]).reshape(3, 3), rtol=1e-5)
    np.testing.assert_allclose(interpret.class_scores(model, x[None])[0], x.reshape(-1) @ w, rtol=1e-5)


def test_saliency_lives_where_the_model_looks():
    model = left_half_model()
    x = np.random.default_rng(2).random((12, 12, 1))
    for c in (0, 1):
        sal = interpret.saliency_map(model, x, class_index=c)
        assert sal.shape == (12, 12)
        # columns 0-5 are kept; a 3x3 'same' convolution at column 5 also reads column 6
        np.testing.assert_array_equal(sal[:, 7:], 0.0)       # the rest of the right half cannot matter
        assert (sal[:, :5] > 0).mean() > 0.9                 # nearly every left pixel does


def test_saliency_reduces_colour_channels():
    model = keras.Sequential([keras.Input((2, 2, 3)), keras.layers.Flatten(),
                              keras.layers.Dense(1, use_bias=False)])
    w = np.arange(12, dtype="float32").reshape(12, 1) - 6
    model.set_weights([w])
    g = w.reshape(2, 2, 3)
    np.testing.assert_allclose(interpret.saliency_map(model, np.zeros((2, 2, 3))), np.abs(g).max(-1))
    np.testing.assert_allclose(interpret.saliency_map(model, np.zeros((2, 2, 3)), reduce="mean"), np.abs(g).mean(-1))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(class_index=3), ValueError, r"class_index must be None \(the predicted class\) or a whole number in \[0, 2\]"),
    (dict(class_index=1.0), TypeError, "class_index"),      # a float is a wrong type, even a whole one
    (dict(reduce="sum"), ValueError, "reduce"),
])
def test_saliency_rejects_bad_arguments(kwargs, error, match):
    model = linear_softmax(np.ones((9, 3)))
    with pytest.raises(error, match=match):
        interpret.saliency_map(model, np.zeros((3, 3, 1)), **kwargs)


# ----------------------------------------------------------------------------- Grad-CAM

def test_grad_cam_equals_cam_for_global_average_pooling_models():
    """With GAP + Dense, alpha_k = w_kc / (h*w): Grad-CAM is Zhou et al.'s CAM, ReLU'd and scaled."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((9, 9, 2)),
        keras.layers.Conv2D(5, 3, activation="relu", name="conv"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(4, activation="softmax", name="out"),
    ])
    x = np.random.default_rng(4).random((9, 9, 2))
    a = interpret.feature_maps(model, x, ["conv"])["conv"]
    w = model.get_layer("out").get_weights()[0]
    for c in range(4):
        cam = np.maximum(a @ w[:, c], 0)
        expected = cam / cam.max() if cam.max() > 0 else cam
        got = interpret.grad_cam(model, x, "conv", class_index=c, upsample=False)
        assert got.shape == (7, 7)
        np.testing.assert_allclose(got, expected, atol=1e-5)


def test_grad_cam_points_at_the_evidence_for_the_chosen_class():
    model = two_channel_cam_model()
    x = np.zeros((10, 10, 2), dtype="float32")
    x[3:7, 1:4, 0] = 1.0     # evidence for class 0: left
    x[3:7, 6:9, 1] = 1.0     # evidence for class 1: right
    left = interpret.grad_cam(model, x, "conv", class_index=0)
    right = interpret.grad_cam(model, x, "conv", class_index=1)
    assert left.shape == right.shape == (10, 10)
    assert left.max() == pytest.approx(1.0) and left.min() >= 0
    assert left[:, :5].sum() > 0.95 * left.sum()
    assert right[:, 5:].sum() > 0.95 * right.sum()


def test_grad_cam_is_zero_when_nothing_speaks_for_the_class():
    model = two_channel_cam_model()
    model.get_layer("out").set_weights([-np.eye(2, dtype="float32")])   # every map counts against
    x = np.ones((10, 10, 2), dtype="float32")
    np.testing.assert_array_equal(interpret.grad_cam(model, x, "conv", class_index=0), 0.0)


def test_grad_cam_upsamples_to_the_input_size():
    model = lenet_like()
    x = np.random.default_rng(5).random((16, 16, 1))
    # the class with the most evidence in conv2 (which class has any depends on the backend's random init)
    maps = [interpret.grad_cam(model, x, "conv2", class_index=k, upsample=False) for k in range(3)]
    k = int(np.argmax([m.max() for m in maps]))
    small, big = maps[k], interpret.grad_cam(model, x, "conv2", class_index=k)
    assert small.shape == (5, 5) and big.shape == (16, 16)
    assert small.max() == 1.0 and 0 <= big.min() and big.max() == pytest.approx(1.0)
    # the upsampled map keeps the coarse map's hot spot (same region of the image)
    if small.max() > 0:
        i, j = np.unravel_index(np.argmax(small), small.shape)
        ci, cj = (i + 0.5) * 16 / 5, (j + 0.5) * 16 / 5
        bi, bj = np.unravel_index(np.argmax(big), big.shape)
        assert abs(bi - ci) <= 4 and abs(bj - cj) <= 4


def test_grad_cam_rejects_bad_arguments():
    model = lenet_like()
    x = np.zeros((16, 16, 1))
    with pytest.raises(ValueError, match="spatial output"):
        interpret.grad_cam(model, x, "flatten")
    with pytest.raises(ValueError, match="layer_name must be the name"):
        interpret.grad_cam(model, x, "conv3")
    with pytest.raises(ValueError, match="class_index"):
        interpret.grad_cam(model, x, "conv2", class_index=-1)
    with pytest.raises(TypeError, match="layer_name must be the name"):    # a wrong type
        interpret.grad_cam(model, x, 3)
    with pytest.raises(TypeError, match="class_index"):
        interpret.grad_cam(model, x, "conv2", class_index=1.5)



# ----------------------------------------------------------------------------- occlusion

def test_occlusion_map_is_the_drop_of_the_probability_for_each_hidden_square():
    from cnncourse.exercises.ex08 import occlusion_reference   # the exercise's own reference, in NumPy

    w = np.random.default_rng(3).normal(0, 0.5, (36, 3))
    model = linear_softmax(w)
    x = np.random.default_rng(4).random((6, 6, 1)).astype("float32")
    predict = lambda batch: keras.ops.convert_to_numpy(model(np.asarray(batch, "float32")))
    for patch, stride, fill in [(2, 2, 0.0), (3, 1, 0.5), (4, 2, -1.0), (6, 3, 0.0)]:
        got = interpret.occlusion_map(model, x, 2, patch=patch, stride=stride, fill=fill)
        want = occlusion_reference(predict, x, 2, patch, stride, fill)
        assert got.shape == ((6 - patch) // stride + 1,) * 2
        np.testing.assert_allclose(got, want, atol=1e-5)
    # None: the predicted class; small batches give the same map
    top = int(np.argmax(predict(x[None])[0]))
    np.testing.assert_allclose(interpret.occlusion_map(model, x, None, 2, 2, batch_size=1),
                               interpret.occlusion_map(model, x, top, 2, 2), atol=1e-6)


def test_occlusion_map_upsampled_averages_the_squares_that_cover_each_pixel():
    model = left_half_model()
    x = np.random.default_rng(6).random((12, 12, 1)).astype("float32")
    drops = interpret.occlusion_map(model, x, 0, patch=4, stride=2)
    big = interpret.occlusion_map(model, x, 0, patch=4, stride=2, upsample=True)
    assert drops.shape == (5, 5) and big.shape == (12, 12)
    # pixel (0, 0) is covered by the first square only; pixel (2, 2) by the first 2x2 squares
    assert big[0, 0] == pytest.approx(drops[0, 0])
    assert big[2, 2] == pytest.approx(drops[:2, :2].mean())
    # the model reads columns 0-6 only (6 through the 3x3 convolution): squares from column 8 on change nothing
    np.testing.assert_allclose(drops[:, 4:], 0.0, atol=1e-6)
    assert np.abs(drops[:, :2]).max() > 1e-4


def test_occlusion_map_rejects_bad_arguments():
    model = left_half_model()
    x = np.zeros((12, 12, 1))
    with pytest.raises(ValueError, match="patch must be at most"):
        interpret.occlusion_map(model, x, 0, patch=13)
    with pytest.raises(ValueError, match="patch"):
        interpret.occlusion_map(model, x, 0, patch=0)
    with pytest.raises(TypeError, match="stride"):
        interpret.occlusion_map(model, x, 0, stride=1.5)
    with pytest.raises(TypeError, match="fill"):
        interpret.occlusion_map(model, x, 0, fill="black")
    with pytest.raises(ValueError, match="class_index"):
        interpret.occlusion_map(model, x, 2)
    with pytest.raises(ValueError, match="one image of shape"):
        interpret.occlusion_map(model, np.zeros((1, 12, 12, 1)), 0)

# ----------------------------------------------------------------------------- activation maximization

def edge_model():
    """Channel 0 detects vertical edges (left-right differences), channel 1 horizontal ones."""
    model = keras.Sequential([keras.Input((12, 12, 1)),
                              keras.layers.Conv2D(2, 3, activation="relu", name="edges")])
    k = np.zeros((3, 3, 1, 2), dtype="float32")
    k[:, :, 0, 0] = [[-1, 0, 1]] * 3
    k[:, :, 0, 1] = np.array([[-1, 0, 1]] * 3).T
    model.set_weights([k, np.zeros(2, dtype="float32")])
    return model


def test_activation_maximization_raises_the_chosen_filter_and_finds_its_pattern():
    model = edge_model()
    images, history = interpret.activation_maximization(model, "edges", index=[0, 1], steps=40, seed=0)
    assert images.shape == (2, 12, 12, 1) and history.shape == (41, 2)
    assert np.all(history[-1] > history[0] + 0.5)
    assert images.min() >= 0 and images.max() <= 1
    acts = interpret.feature_maps(model, images[0], ["edges"])["edges"].mean(axis=(0, 1))
    assert acts[0] == pytest.approx(history[-1, 0], rel=1e-4)
    # the image made for the vertical-edge filter changes across columns, the other across rows
    dx = lambda im: np.abs(np.diff(im[..., 0], axis=1)).mean()
    dy = lambda im: np.abs(np.diff(im[..., 0], axis=0)).mean()
    assert dx(images[0]) > 2 * dy(images[0])
    assert dy(images[1]) > 2 * dx(images[1])
    # it excites its own filter more than the other filter's image does
    other = interpret.feature_maps(model, images[1], ["edges"])["edges"].mean(axis=(0, 1))
    assert acts[0] > other[0]


def test_activation_maximization_for_a_class_raises_its_score():
    model = linear_softmax(np.random.default_rng(6).normal(size=(16, 3)))
    images, history = interpret.activation_maximization(model, None, index=[0, 1, 2], steps=30, l2=0.0)
    assert images.shape == (3, 4, 4, 1)
    assert np.all(history[-1] > history[0] + 1)
    scores = interpret.class_scores(model, images)
    np.testing.assert_allclose(np.diag(scores), history[-1], rtol=1e-4)
    # each class scores highest on the image made for it
    np.testing.assert_array_equal(np.argmax(scores, axis=0), [0, 1, 2])
    single, _ = interpret.activation_maximization(model, None, index=2, steps=3)
    assert single.shape == (4, 4, 1)


def test_activation_maximization_is_reproducible_and_regularizers_work():
    model = edge_model()
    a, _ = interpret.activation_maximization(model, "edges", 0, steps=5, seed=3)
    b, _ = interpret.activation_maximization(model, "edges", 0, steps=5, seed=3)
    np.testing.assert_array_equal(a, b)
    rough, _ = interpret.activation_maximization(model, "edges", 0, steps=20, blur_every=0, jitter=0)
    smooth, _ = interpret.activation_maximization(model, "edges", 0, steps=20, blur_every=1, blur_sigma=1.0)
    tv = lambda im: np.abs(np.diff(im, axis=0)).mean() + np.abs(np.diff(im, axis=1)).mean()
    assert tv(smooth) < tv(rough)


def test_blur_matches_scipy_gaussian_filter():
    from scipy import ndimage  # installed with scikit-learn
    x = np.random.default_rng(7).random((2, 9, 11, 3)).astype("float32")
    sigma = 0.8
    radius = max(1, int(round(2.5 * sigma)))
    expected = ndimage.gaussian_filter(x, sigma=(0, sigma, sigma, 0), mode="mirror",
                                       truncate=radius / sigma)
    np.testing.assert_allclose(interpret._blur(x, sigma), expected, atol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(layer_name="edges", index=2), r"index must be a channel of 'edges', a whole number in \[0, 1\]"),
    (dict(layer_name="nope", index=0), "layer_name"),
    (dict(layer_name="edges", index="0"), "index"),
    (dict(layer_name="edges", index=[]), "index"),
    (dict(layer_name="edges", steps=0), "steps"),
    (dict(layer_name="edges", learning_rate=0), "learning_rate"),
    (dict(layer_name="edges", l2=-1), "l2"),
    (dict(layer_name="edges", value_range=(1, 0)), "value_range"),
    (dict(layer_name="edges", jitter=-1), "jitter"),
])
def test_activation_maximization_rejects_bad_arguments(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        interpret.activation_maximization(edge_model(), **kwargs)


def test_activation_maximization_class_index_is_checked():
    with pytest.raises(ValueError, match=r"index must be a whole number in \[0, 2\]"):
        interpret.activation_maximization(linear_softmax(np.ones((16, 3))), None, index=3)
