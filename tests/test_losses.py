"""The NumPy reference losses against Keras (and triplet loss against its definition)."""
import math

import keras
import numpy as np
import pytest

from cnncourse import losses

RNG = np.random.default_rng(0)


def _keras(loss, y_true, y_pred):
    return float(keras.ops.convert_to_numpy(loss(np.asarray(y_true, "float32"), np.asarray(y_pred, "float32"))))


def _probs(n, k, rng=RNG):
    return losses.softmax(rng.normal(size=(n, k)) * 2)


# ------------------------------------------------------------------ softmax

@pytest.mark.parametrize("shape,axis", [((5,), -1), ((4, 10), -1), ((4, 10), 0), ((2, 3, 7), 1)])
def test_softmax_matches_keras(shape, axis):
    z = RNG.normal(size=shape) * 3
    ours = losses.softmax(z, axis=axis)
    theirs = keras.ops.convert_to_numpy(keras.ops.softmax(z.astype("float32"), axis=axis))
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours.sum(axis=axis), 1.0)
    np.testing.assert_allclose(losses.log_softmax(z, axis=axis), np.log(ours), atol=1e-12)
    theirs_log = keras.ops.convert_to_numpy(keras.ops.log_softmax(z.astype("float32"), axis=axis))
    np.testing.assert_allclose(losses.log_softmax(z, axis=axis), theirs_log, rtol=1e-5, atol=1e-5)


def test_softmax_known_values_and_shift_invariance():
    np.testing.assert_allclose(losses.softmax([0.0, 0.0, 0.0, 0.0]), [0.25] * 4)
    np.testing.assert_allclose(losses.softmax([0.0, math.log(3)]), [0.25, 0.75])
    z = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(losses.softmax(z + 100), losses.softmax(z))


def test_softmax_is_stable_for_huge_scores():
    with np.errstate(over="ignore", invalid="ignore"):
        naive = np.exp([1000.0, 0.0]) / np.exp([1000.0, 0.0]).sum()
    assert np.isnan(naive).any()           # the reason for the max trick
    np.testing.assert_allclose(losses.softmax([1000.0, 0.0]), [1.0, 0.0])
    np.testing.assert_allclose(losses.log_softmax([1000.0, 0.0]), [0.0, -1000.0])


def test_softmax_bad_arguments():
    with pytest.raises(ValueError, match="axis must be an int"):
        losses.softmax([1.0, 2.0], axis=1)
    with pytest.raises(TypeError, match="axis must be an int"):     # a wrong type, not a wrong value
        losses.log_softmax([1.0, 2.0], axis=0.0)
    with pytest.raises(TypeError, match="logits must be an array of real numbers"):
        losses.softmax("abc")
    with pytest.raises(ValueError, match="logits holds NaN"):
        losses.softmax([np.nan, 1.0])
    with pytest.raises(ValueError, match="logits must have at least one axis"):
        losses.softmax(3.0)


# ------------------------------------------------------------------ binary cross-entropy

@pytest.mark.parametrize("shape", [(8,), (8, 1), (6, 3)])
def test_bce_matches_keras(shape):
    y = RNG.integers(0, 2, size=shape).astype(float)
    logits = RNG.normal(size=shape) * 3
    p = 1 / (1 + np.exp(-logits))
    expected = _keras(keras.losses.BinaryCrossentropy(), y, p)
    assert losses.binary_crossentropy(y, p) == pytest.approx(expected, rel=1e-5)
    expected_logits = _keras(keras.losses.BinaryCrossentropy(from_logits=True), y, logits)
    assert losses.binary_crossentropy(y, logits, from_logits=True) == pytest.approx(expected_logits, rel=1e-5)
    # probabilities and logits describe the same predictions
    assert losses.binary_crossentropy(y, logits, from_logits=True) == pytest.approx(
        losses.binary_crossentropy(y, p), rel=1e-6)


def test_bce_by_hand_and_reduction():
    per = losses.binary_crossentropy([1, 0, 1], [0.9, 0.2, 0.5], reduction="none")
    np.testing.assert_allclose(per, [-math.log(0.9), -math.log(0.8), math.log(2)])
    assert losses.binary_crossentropy([1, 0, 1], [0.9, 0.2, 0.5]) == pytest.approx(per.mean())


def test_bce_clips_and_logits_stay_exact():
    # a confident wrong prediction: log(0) would be infinite, Keras clips at 1e-7
    assert losses.binary_crossentropy([1.0], [0.0]) == pytest.approx(-math.log(1e-7), rel=1e-6)
    assert losses.binary_crossentropy([1.0], [-1000.0], from_logits=True) == pytest.approx(1000.0)
    assert losses.binary_crossentropy([0.0], [1000.0], from_logits=True) == pytest.approx(1000.0)


def test_bce_bad_arguments():
    with pytest.raises(ValueError, match="y_pred must hold probabilities in \\[0, 1\\].*from_logits=True"):
        losses.binary_crossentropy([1, 0], [2.5, -1.0])
    with pytest.raises(ValueError, match="y_true must hold targets in \\[0, 1\\]"):
        losses.binary_crossentropy([2, 0], [0.5, 0.5])
    with pytest.raises(ValueError, match="same shape"):
        losses.binary_crossentropy([1, 0, 1], [0.5, 0.5])
    with pytest.raises(TypeError, match="from_logits must be True or False"):
        losses.binary_crossentropy([1], [0.5], from_logits="yes")
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.binary_crossentropy([1], [0.5], reduction="sum")
    with pytest.raises(ValueError, match="epsilon must be a number in"):
        losses.binary_crossentropy([1], [0.5], epsilon=0.7)


# ------------------------------------------------------------------ mean squared error

@pytest.mark.parametrize("shape", [(10,), (7, 4)])
def test_mse_matches_keras(shape):
    y, p = RNG.normal(size=shape), RNG.normal(size=shape)
    assert losses.mean_squared_error(y, p) == pytest.approx(
        _keras(keras.losses.MeanSquaredError(), y, p), rel=1e-5)
    per = losses.mean_squared_error(y, p, reduction="none")
    assert per.shape == (shape[0],)


def test_mse_by_hand():
    assert losses.mean_squared_error([[0.0, 1.0], [2.0, 2.0]], [[0.5, 0.5], [2.0, 0.0]]) == pytest.approx(
        (0.25 + 2.0) / 2)
    assert losses.mean_squared_error([3.0], [3.0]) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        losses.mean_squared_error([[1.0, 2.0]], [1.0, 2.0])


# ------------------------------------------------------------------ categorical cross-entropy

@pytest.mark.parametrize("n,k", [(1, 2), (5, 3), (16, 10)])
def test_cce_matches_keras(n, k):
    labels = RNG.integers(0, k, size=n)
    one_hot = np.eye(k)[labels]
    logits = RNG.normal(size=(n, k)) * 4
    p = losses.softmax(logits)
    assert losses.categorical_crossentropy(one_hot, p) == pytest.approx(
        _keras(keras.losses.CategoricalCrossentropy(), one_hot, p), rel=1e-5)
    assert losses.categorical_crossentropy(one_hot, logits, from_logits=True) == pytest.approx(
        _keras(keras.losses.CategoricalCrossentropy(from_logits=True), one_hot, logits), rel=1e-5)
    sparse = keras.losses.SparseCategoricalCrossentropy()(labels, p.astype("float32"))
    assert losses.sparse_categorical_crossentropy(labels, p) == pytest.approx(float(sparse), rel=1e-5)
    sparse_logits = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits.astype("float32"))
    assert losses.sparse_categorical_crossentropy(labels, logits, from_logits=True) == pytest.approx(
        float(sparse_logits), rel=1e-5)


def test_cce_by_hand_uniform_is_ln_k():
    # a network that knows nothing predicts 1/k for every class: loss ln k
    for k in (2, 10):
        p = np.full((3, k), 1 / k)
        assert losses.sparse_categorical_crossentropy([0, 1, 1], p) == pytest.approx(math.log(k))
        assert losses.sparse_categorical_crossentropy([0, 1, 1], np.zeros((3, k)), from_logits=True) == \
            pytest.approx(math.log(k))
    per = losses.categorical_crossentropy([[0, 1, 0], [1, 0, 0]], [[0.2, 0.5, 0.3], [0.25, 0.5, 0.25]],
                                          reduction="none")
    np.testing.assert_allclose(per, [-math.log(0.5), -math.log(0.25)])


def test_cce_soft_targets_and_renormalisation():
    # soft targets: the sum of -y_i log p_i
    assert losses.categorical_crossentropy([[0.5, 0.5]], [[0.5, 0.5]]) == pytest.approx(math.log(2))
    # like Keras, rows that do not sum to one are rescaled first
    assert losses.categorical_crossentropy([[1, 0]], [[0.2, 0.2]]) == pytest.approx(math.log(2))


def test_cce_from_logits_is_exact_where_probabilities_underflow():
    logits = np.array([[0.0, 200.0]])         # softmax gives exactly 0 to class 0
    assert losses.categorical_crossentropy([[1, 0]], logits, from_logits=True) == pytest.approx(200.0)
    clipped = losses.categorical_crossentropy([[1, 0]], losses.softmax(logits))
    assert clipped == pytest.approx(-math.log(1e-7), rel=1e-6)   # capped near 16.1


def test_cce_bad_arguments():
    with pytest.raises(ValueError, match="y_true must have shape \\(batch, classes\\)"):
        losses.categorical_crossentropy([0, 1], [0.5, 0.5])
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        losses.categorical_crossentropy([[0, 1]], [[3.0, -1.0]])
    with pytest.raises(ValueError, match="non-negative"):
        losses.categorical_crossentropy([[-1, 2]], [[0.5, 0.5]])
    with pytest.raises(ValueError, match="labels must be class indices in 0..2"):
        losses.sparse_categorical_crossentropy([3], [[0.2, 0.3, 0.5]])
    with pytest.raises(ValueError, match="labels must have shape \\(2,\\)"):
        losses.sparse_categorical_crossentropy([0], [[0.5, 0.5], [0.5, 0.5]])
    with pytest.raises(TypeError, match="labels must be whole numbers"):
        losses.sparse_categorical_crossentropy([0.5], [[0.5, 0.5]])
    with pytest.raises(TypeError, match="labels must be an array of ints"):
        losses.sparse_categorical_crossentropy(None, [[0.5, 0.5]])
    with pytest.raises(ValueError, match="y_pred must have shape \\(batch, classes\\)"):
        losses.sparse_categorical_crossentropy([0], [0.5, 0.5])


# ------------------------------------------------------------------ triplet loss

def _triplet_by_definition(a, p, n, margin, squared):
    out = []
    for ai, pi, ni in zip(a, p, n):
        dap = sum((x - y) ** 2 for x, y in zip(ai, pi))
        dan = sum((x - y) ** 2 for x, y in zip(ai, ni))
        if not squared:
            dap, dan = math.sqrt(dap), math.sqrt(dan)
        out.append(max(dap - dan + margin, 0.0))
    return out


def test_triplet_hand_computed_cases():
    a = [[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]]
    p = [[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]
    n = [[0.0, 1.5], [1.0, 0.0], [1.0, 1.0]]
    # squared: 1 - 2.25 + 1 = -0.25 -> 0 ; 4 - 1 + 1 = 4 ; 0 - 0 + 1 = 1
    np.testing.assert_allclose(losses.triplet_loss(a, p, n, margin=1.0, reduction="none"), [0.0, 4.0, 1.0])
    # plain: 1 - 1.5 + 1 = 0.5 ; 2 - 1 + 1 = 2 ; 1
    np.testing.assert_allclose(losses.triplet_loss(a, p, n, margin=1.0, squared=False, reduction="none"),
                               [0.5, 2.0, 1.0])
    assert losses.triplet_loss(a, p, n, margin=1.0) == pytest.approx(5.0 / 3)


@pytest.mark.parametrize("squared", [True, False])
@pytest.mark.parametrize("margin", [0.0, 0.2, 1.0])
def test_triplet_matches_definition_on_random_embeddings(squared, margin):
    a, p, n = (RNG.normal(size=(12, 4)) for _ in range(3))
    np.testing.assert_allclose(
        losses.triplet_loss(a, p, n, margin=margin, squared=squared, reduction="none"),
        _triplet_by_definition(a, p, n, margin, squared), rtol=1e-12)


def test_triplet_properties():
    a = RNG.normal(size=(20, 3))
    p = a + 0.01 * RNG.normal(size=a.shape)
    far = a + 100.0                                   # negative far beyond the margin
    assert losses.triplet_loss(a, p, far, margin=1.0) == 0.0
    # negative equal to the positive: d(a,p) - d(a,n) = 0, so the loss is exactly the margin
    np.testing.assert_allclose(losses.triplet_loss(a, p, p, margin=0.3, reduction="none"), 0.3)
    # swapping positive and negative can only make things worse
    close_neg = a + 0.001
    assert losses.triplet_loss(a, close_neg, far) < losses.triplet_loss(a, far, close_neg)
    # non-negative and growing with the margin
    n = RNG.normal(size=a.shape)
    values = [losses.triplet_loss(a, p, n, margin=m) for m in (0.0, 0.5, 1.0, 2.0)]
    assert all(v >= 0 for v in values) and values == sorted(values)


def test_pair_distance():
    np.testing.assert_allclose(losses.pair_distance([[0.0, 0.0]], [[3.0, 4.0]]), [25.0])
    np.testing.assert_allclose(losses.pair_distance([[0.0, 0.0]], [[3.0, 4.0]], squared=False), [5.0])


def test_triplet_bad_arguments():
    a = np.zeros((2, 3))
    with pytest.raises(ValueError, match="negative must have the anchor's shape"):
        losses.triplet_loss(a, a, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="anchor must have shape \\(batch, dim\\)"):
        losses.triplet_loss(np.zeros(3), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="margin must be a number >= 0"):
        losses.triplet_loss(a, a, a, margin=-1)
    with pytest.raises(TypeError, match="margin must be a number >= 0"):
        losses.triplet_loss(a, a, a, margin="big")
    with pytest.raises(TypeError, match="squared must be True or False"):
        losses.triplet_loss(a, a, a, squared=None)
    with pytest.raises(TypeError, match="positive must be an array of real numbers"):
        losses.triplet_loss(a, None, a)
