"""Checkers of notebook 08's exercises: right answers pass, typical mistakes get a precise message."""
import keras
import numpy as np

from exercise_helpers import message, passes  # noqa: E402
from cnncourse import interpret as vis
from cnncourse.exercises import ex08 as ex
from cnncourse.models import lenet5

NONSENSE = [None, "conv2", 3.5, np.zeros((2, 2)), [1, 2, 3], ...]


def _cifar_convnet():
    """The CIFAR-10 ConvNet of notebook 08 (cell 'cifar_convnet'), without activations: every path passes gradients."""
    import keras
    from keras import layers

    return keras.Sequential([keras.Input((32, 32, 3)), layers.Conv2D(4, 5, padding="same", name="conv1"),
                             layers.MaxPooling2D(name="pool1"), layers.Conv2D(4, 3, padding="same", name="conv2"),
                             layers.MaxPooling2D(name="pool2"), layers.Conv2D(4, 3, padding="same", name="conv3")])


def _measured_field(model, layer, unit):
    """Side of the input window the gradients of one unit of ``layer`` reach (union over many images:
    max pooling passes a gradient to one pixel of each 2x2 window)."""
    import keras
    probe = keras.Model(model.inputs[0], model.get_layer(layer).output)
    x = np.random.default_rng(0).random((64, 32, 32, 3)).astype("float32")
    _, grad = vis.input_gradient(lambda t: keras.ops.sum(probe(t)[:, unit, unit, :]), x)
    reached = np.abs(grad).sum(axis=(0, 3)) > 0
    rows, cols = np.flatnonzero(reached.any(1)), np.flatnonzero(reached.any(0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_q1_fields_agree_with_the_gradients_of_the_model():
    model = _cifar_convnet()
    assert _measured_field(model, "conv2", 8) == (10, 10)
    assert _measured_field(model, "conv3", 4) == (20, 20)
    assert passes(ex.q1, {"conv2": 10, "conv3": 20})
    assert passes(ex.q1, {"conv3": np.int64(20), "conv2": 10.0})
    assert "sides of the feature maps" in message(ex.q1, {"conv2": 16, "conv3": 8})
    assert "LeNet-5's conv2" in message(ex.q1, {"conv2": 14, "conv3": 14})
    assert "skipped the poolings" in message(ex.q1, {"conv2": 7, "conv3": 9})
    assert "forgot its stride" in message(ex.q1, {"conv2": 8, "conv3": 11})
    assert "added up the kernel sizes" in message(ex.q1, {"conv2": 10, "conv3": 15})
    assert "spaced by the stride" in message(ex.q1, {"conv2": 11, "conv3": 23})
    assert "at least as much" in message(ex.q1, {"conv2": 10, "conv3": 9})
    assert "wider than the 32x32" in message(ex.q1, {"conv2": 10, "conv3": 40})
    assert "side for conv3 is not right" in message(ex.q1, {"conv2": 10, "conv3": 18})
    assert "side for conv2 and conv3" in message(ex.q1, {"conv2": 12, "conv3": 18})
    assert "lacks the key" in message(ex.q1, {"conv2": 10})
    assert "unexpected key" in message(ex.q1, {"conv2": 10, "conv3": 20, "conv1": 5})
    assert "whole number" in message(ex.q1, {"conv2": 10.5, "conv3": 20})
    assert "whole number" in message(ex.q1, {"conv2": "10", "conv3": 20})
    for bad in NONSENSE + [("conv2", 14), {"conv2": None, "conv3": 20}]:
        assert not passes(ex.q1, bad)
    for wrong in [{"conv2": 16, "conv3": 8}, {"conv2": 12, "conv3": 18}, {"conv2": 10, "conv3": 15}]:
        assert "20" not in message(ex.q1, wrong)     # the right side is never given away


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


def occlusion(predict, image, label, patch, stride, fill, *, sign=1, step=None, use_fill=True, occluded_only=False,
              predicted=False, transpose=False, stop=0, in_place=False, one_by_one=False, zero_border=False):
    """A student's occlusion_map, right by default; each keyword is a typical mistake."""
    img = np.asarray(image, dtype="float32")
    h, w = img.shape[:2]
    step = stride if step is None else step
    n_rows, n_cols = (h - patch) // stride + 1, (w - patch) // stride + 1
    if stop == 1:            # range(0, H - patch, stride): the positions touching the border are lost
        n_rows, n_cols = len(range(0, h - patch, stride)), len(range(0, w - patch, stride))
    if stop == 2:            # range(0, H, stride): patches hanging over the border
        n_rows, n_cols = len(range(0, h, stride)), len(range(0, w, stride))
    base = predict(img[None])[0]
    c = int(base.argmax()) if predicted else label
    out = np.zeros((n_rows, n_cols))
    for i in range(n_rows):
        for j in range(n_cols):
            if zero_border and (i == n_rows - 1 or j == n_cols - 1):
                continue
            x = img if in_place else img.copy()
            if in_place:
                x = image
            x[i * step:i * step + patch, j * step:j * step + patch] = fill if use_fill else 0.0
            p = (predict(x[None])[0] if one_by_one else predict(np.stack([x]))[0])[c]
            out[i, j] = sign * (p if occluded_only else base[c] - p)
    return out.T if transpose else out


def right_occlusion(*args):
    return occlusion(*args)


def test_q4_occlusion_reference_is_what_the_statement_says():
    """The checker's reference, against a direct computation on a model whose drops are known in closed form."""
    # a model whose class-1 probability is sigmoid(sum of the pixels): hiding a patch of ones by 0 lowers it
    def predict(batch):
        s = np.asarray(batch, dtype="float64").reshape(len(batch), -1).sum(1)
        p1 = 1 / (1 + np.exp(-s / 10))
        return np.stack([1 - p1, p1], axis=1)

    image = np.zeros((6, 5, 2))
    image[1:4, 1:3] = 1.0
    ref = ex.occlusion_reference(predict, image, 1, 2, 2, 0.0)
    assert ref.shape == (3, 2)
    hidden = np.array([[1, 1], [2, 2], [0, 0]]) * 2        # ink pixels (x 2 channels) each patch hides
    before = 1 / (1 + np.exp(-12 / 10))
    np.testing.assert_allclose(ref, before - 1 / (1 + np.exp(-(12 - hidden) / 10)), atol=1e-12)
    assert passes(ex.q4, right_occlusion)
    assert passes(ex.q4, lambda *a: occlusion(*a, one_by_one=True))
    assert passes(ex.q4, ex.occlusion_reference)


def test_q4_each_typical_mistake_gets_its_own_diagnosis():
    said = {
        "sign is flipped": dict(sign=-1),
        "probabilities of the occluded images": dict(occluded_only=True),
        "minus the probabilities": dict(occluded_only=True, sign=-1),
        "filled with 0, not with `fill`": dict(use_fill=False),
        "moves by 1 pixel": dict(step=1),
        "moves by `patch` pixels": "patch",
        "class the model predicts": dict(predicted=True),
        "rows and columns are swapped": dict(transpose=True),
        "last positions are missing": dict(stop=1),
        "hang over the border": dict(stop=2),
        "last row and the last column": dict(zero_border=True),
        "changed the image it was given": dict(in_place=True),
    }
    messages = set()
    for words, mistake in said.items():
        if mistake == "patch":
            fn = lambda p, im, l, patch, s, f: occlusion(p, im, l, patch, s, f, step=patch)
        else:
            fn = lambda *a, m=mistake: occlusion(*a, **m)
        msg = message(ex.q4, fn)
        assert words in msg, (words, msg)
        messages.add(msg)
    assert len(messages) == len(said)


def test_q4_other_wrong_answers_and_nonsense():
    assert "entries are wrong" in message(ex.q4, lambda *a: right_occlusion(*a) + 0.01)
    assert "one entry per patch position" in message(ex.q4, lambda *a: np.zeros((2, 2)))
    assert "2-D" in message(ex.q4, lambda *a: right_occlusion(*a).ravel())
    assert "add a batch axis" in message(ex.q4, lambda p, im, *a: p(np.asarray(im)) and None)
    assert "raised TypeError" in message(ex.q4, lambda p, im: 0)
    assert "NaN" in message(ex.q4, lambda *a: right_occlusion(*a) * np.nan)
    assert "array of numbers" in message(ex.q4, lambda *a: "map")
    assert "Expected a function" in message(ex.q4, right_occlusion(*ex._OCC_CASES[0]))
    for bad in NONSENSE:
        assert not passes(ex.q4, bad)
    # no message gives a value of the right map away
    for fn in [lambda *a: right_occlusion(*a) + 0.01, lambda *a: -right_occlusion(*a)]:
        msg = message(ex.q4, fn)
        assert not any(f"{v:.3f}" in msg for r in ex._OCC_RIGHT for v in r.ravel() if abs(v) > 1e-3)



def test_q4_refuses_the_packages_occlusion_map():
    """08.4 asks the student to write occlusion: a function that calls interpret.occlusion_map by name is refused."""
    import keras
    from cnncourse import interpret
    from cnncourse.interpret import occlusion_map as package_occlusion

    def via_module(predict, image, label, patch, stride, fill):
        model = keras.Sequential([keras.Input(np.shape(image)), keras.layers.Flatten(), keras.layers.Dense(2)])
        return vis.occlusion_map(model, image, label, patch, stride, fill)

    def via_name(predict, image, label, patch, stride, fill):
        return package_occlusion(predict, image, label, patch, stride, fill)

    def via_inner_import(predict, image, label, patch, stride, fill):
        def inner():
            from cnncourse import interpret as i
            return i.occlusion_map(predict, image, label, patch, stride, fill)
        return inner()

    for fn in [interpret.occlusion_map, via_module, via_name, via_inner_import,
               lambda p, im, l, pa, s, f: interpret.occlusion_map(p, im, l, pa, s, f)]:
        msg = message(ex.q4, fn)
        assert "calls the package's interpret.occlusion_map" in msg, msg
    # a function of one's own that uses other parts of interpret still passes
    def own(predict, image, label, patch, stride, fill):
        assert vis.conv_and_pool_layers is not None
        return right_occlusion(predict, image, label, patch, stride, fill)
    assert passes(ex.q4, own)

def _patch_sums(m):
    return np.array([[m[i:i + 4, j:j + 4].sum() for j in (0, 2, 4)] for i in (0, 2, 4)])


def test_q5_occlusion_vs_gradients():
    from scipy.stats import pearsonr, spearmanr

    keras_probs = keras.ops.convert_to_numpy(ex.linear_model()(ex.IMAGE[None]))
    c = int(keras_probs.argmax())
    np.testing.assert_allclose(ex.linear_predict(ex.IMAGE[None]), keras_probs, atol=1e-5)
    occ = right_occlusion(ex.linear_predict, ex.IMAGE, c, 4, 2, 0.0)
    w = ex.LINEAR_W[:, c].reshape(8, 8)
    sal, gxi = _patch_sums(np.abs(w)), _patch_sums(w * ex.IMAGE[..., 0])
    right = (spearmanr(occ.ravel(), sal.ravel())[0], spearmanr(occ.ravel(), gxi.ravel())[0])
    assert right[1] > right[0] + 0.2                       # the lesson: occlusion follows gradient x input
    assert passes(ex.q5, right) and passes(ex.q5, [np.float32(right[0]), right[1]])
    assert "wrong order" in message(ex.q5, right[::-1])
    pearson = (pearsonr(occ.ravel(), sal.ravel())[0], pearsonr(occ.ravel(), gxi.ravel())[0])
    assert "Pearson" in message(ex.q5, pearson)
    assert "wrong sign" in message(ex.q5, (-right[0], -right[1]))
    occ3 = right_occlusion(ex.linear_predict, ex.IMAGE, 3, 4, 2, 0.0)
    w3 = ex.LINEAR_W[:, 3].reshape(8, 8)
    assert "class 3" in message(ex.q5, (spearmanr(occ3.ravel(), _patch_sums(np.abs(w3)).ravel())[0],
                                        spearmanr(occ3.ravel(), _patch_sums(w3 * ex.IMAGE[..., 0]).ravel())[0]))
    assert "kept the signs" in message(ex.q5, (spearmanr(occ.ravel(), _patch_sums(w).ravel())[0], right[1]))
    occ_half = right_occlusion(ex.linear_predict, ex.IMAGE, c, 4, 2, 0.5)
    assert "fill=0" in message(ex.q5, (spearmanr(occ_half.ravel(), sal.ravel())[0],
                                       spearmanr(occ_half.ravel(), gxi.ravel())[0]))
    assert "second number is not right" in message(ex.q5, (right[0], 0.1))
    assert "first number is not right" in message(ex.q5, (0.1, right[1]))
    assert "Not the two rank correlations" in message(ex.q5, (0.1, 0.2))
    assert "between -1 and 1" in message(ex.q5, (1.5, 0.2))
    assert "NaN" in message(ex.q5, (float("nan"), 0.2))
    assert "one number" in message(ex.q5, ("a", 0.2))
    for bad in NONSENSE + [(0.1, 0.2, 0.3), {"a": 1, "b": 2}]:
        assert not passes(ex.q5, bad)
    for wrong in [(0.1, 0.2), right[::-1], (right[0], 0.1)]:
        msg = message(ex.q5, wrong)
        assert f"{right[0]:.2f}" not in msg and f"{right[1]:.2f}" not in msg
