"""cnncourse.checks: TypeError for a wrong type, ValueError for a wrong value, the argument named."""
import numpy as np
import pytest

from cnncourse import checks


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3)])
def test_whole_numbers_of_any_integer_type_are_ints(value):
    out = checks.check_whole(value, "n", 1, 5)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value", [3.0, "3", None, True, np.bool_(True), [3]])
def test_a_whole_number_of_the_wrong_type_is_a_type_error(value):
    with pytest.raises(TypeError, match=r"^n must be a whole number >= 1, got "):
        checks.check_whole(value, "n", 1)


@pytest.mark.parametrize("value, minimum, maximum, rule", [
    (0, 1, None, "a whole number >= 1"), (6, 1, 5, r"a whole number in \[1, 5\]"),
    (1, None, 0, "a whole number <= 0"),
])
def test_a_whole_number_out_of_bounds_is_a_value_error(value, minimum, maximum, rule):
    with pytest.raises(ValueError, match=rf"^n must be {rule}, got {value}$"):
        checks.check_whole(value, "n", minimum, maximum)
    assert checks.check_whole(value, "n") == value                   # no bounds: any whole number


def test_numbers_bounds_open_and_closed():
    assert checks.check_number(0, "rate", 0, 1) == 0.0
    assert checks.check_number(np.float32(0.5), "rate", 0, 1, high_open=True) == 0.5
    with pytest.raises(ValueError, match=r"^rate must be a number in \(0, 1\], got 0$"):
        checks.check_number(0, "rate", 0, 1, low_open=True)
    with pytest.raises(ValueError, match=r"^rate must be a number in \[0, 1\), got 1.0$"):
        checks.check_number(1.0, "rate", 0, 1, high_open=True)
    with pytest.raises(ValueError, match="rate must be a number > 0"):
        checks.check_number(-2, "rate", 0, low_open=True)
    with pytest.raises(ValueError, match="rate must be a number <= 0.5"):
        checks.check_number(0.7, "rate", high=0.5)


@pytest.mark.parametrize("value, error", [("0.5", TypeError), (True, TypeError), (None, TypeError),
                                          (float("nan"), ValueError), (float("inf"), ValueError)])
def test_numbers_refuse_other_types_and_non_finite_values(value, error):
    with pytest.raises(error, match="x must be a number >= 0"):
        checks.check_number(value, "x", 0)


def test_check_bool():
    assert checks.check_bool(np.bool_(False), "flip") is False
    for bad in (0, 1, "True", None):
        with pytest.raises(TypeError, match="flip must be True or False"):
            checks.check_bool(bad, "flip")


def test_check_whole_or_pair():
    assert checks.check_whole_or_pair(np.int64(2), "stride", 1) == (2, 2)
    assert checks.check_whole_or_pair([3, 1], "stride", 1) == (3, 1)
    with pytest.raises(ValueError, match="stride must be one whole number or a pair"):
        checks.check_whole_or_pair((1, 2, 3), "stride", 1)
    with pytest.raises(ValueError, match="stride must be a whole number >= 1"):
        checks.check_whole_or_pair((1, 0), "stride", 1)
    with pytest.raises(TypeError, match="stride"):
        checks.check_whole_or_pair(1.5, "stride", 1)


def test_check_image_shape():
    assert checks.check_image_shape([np.int64(32), 32, 3], 16, "why") == (32, 32, 3)
    for bad, error in [(32, TypeError), ("323", TypeError), ((32.0, 32, 3), TypeError),
                       ((32, 32), ValueError), ((15, 32, 3), ValueError), ((32, 32, 0), ValueError)]:
        with pytest.raises(error, match=r"input_shape must be \(height, width, channels\) .* >= 16 \(why\)"):
            checks.check_image_shape(bad, 16, "why")


def test_check_batch():
    x = np.zeros((2, 5, 5, 3), "uint8")
    out = checks.check_batch(x)
    assert out.shape == x.shape and out.dtype == np.uint8                # the array as it is
    assert checks.check_batch([[[[1.0]]]]).shape == (1, 1, 1, 1)
    for bad in (np.zeros((5, 5, 3)), np.zeros((1, 2, 5, 5, 3))):
        with pytest.raises(ValueError, match=r"images must be a batch of images of shape \(batch, height, "
                                             r"width, channels\), got shape .*images\[None\]"):
            checks.check_batch(bad, "images")


def test_check_images_and_labels():
    x, y = checks.check_images_and_labels(np.zeros((3, 4, 4, 1)), [[0], [1], [2]])
    assert y.shape == (3,)
    with pytest.raises(ValueError, match=r"x must have shape \(n, height, width, 3\)"):
        checks.check_images_and_labels(np.zeros((3, 4, 4, 1)), [0, 1, 2], channels=3)
    with pytest.raises(ValueError, match="one integer label per image"):
        checks.check_images_and_labels(np.zeros((3, 4, 4, 1)), [0, 1])
    with pytest.raises(TypeError, match="integer class labels"):
        checks.check_images_and_labels(np.zeros((3, 4, 4, 1)), [0.0, 1.0, 2.0])


def test_check_model():
    import keras

    model = keras.Sequential([keras.layers.Dense(2)])                 # no input: not built
    assert checks.check_model(model) is model
    with pytest.raises(ValueError, match="model must be built"):
        checks.check_model(model, built=True)
    with pytest.raises(TypeError, match="model must be a built keras.Model, got str"):
        checks.check_model("vgg", built=True)
