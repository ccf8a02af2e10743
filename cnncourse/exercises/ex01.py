"""Exercises of notebook 01, *Why ConvNets*: counting parameters, shifting images, building invariance.

In the notebook::

    from cnncourse.exercises import ex01 as ex
    ex.q1.check(dense_params)        # a function (height, width, channels, units) -> int
    ex.q2.check(conv_params)         # a function (height, width, channels, kernel_size, filters) -> int
    ex.q3.check(shift_image)         # a function (image, dx, dy) -> array of image's shape
    ex.q4.check(invariant_net)       # a Keras model, input (32, 32, 1), 10 outputs

Each checker returns ``None`` when the answer is right, or a message saying what is
wrong without giving the answer away.

>>> q1.evaluate(lambda h, w, c, units: h * w * c * units)[1]  # doctest: +ELLIPSIS
'...forgot the biases...'
"""
from __future__ import annotations

import numpy as np

from cnncourse.data import shift_images
from cnncourse.exercises import Exercise, FunctionProblem, expect_callable, try_call

__all__ = ["q1", "q2", "q3", "q4"]


# --------------------------------------------------------------------------- 01.1 dense

_DENSE_CASES = [(28, 28, 1, 10), (224, 224, 3, 1024), (32, 32, 3, 100), (5, 7, 2, 3), (1, 1, 1, 1)]

_DENSE_MISTAKES = [
    (lambda h, w, c, u: h * w * c * u,
     "that counts the weights only; you forgot the biases (how many does a Dense layer have?)."),
    (lambda h, w, c, u: h * w * c * u + 1, "a Dense layer has one bias per unit, not one for the whole layer."),
    (lambda h, w, c, u: h * w * c * (u + 1), "the biases belong to the units (outputs), not to the inputs."),
    (lambda h, w, c, u: (h * w + 1) * u,
     "you left out the channels. Every channel of every pixel is a separate input number."),
    (lambda h, w, c, u: h * w * u, "you left out the channels and the biases."),
    (lambda h, w, c, u: (h + w + c) * u + u, "the input numbers must be multiplied, not added, to count them."),
    (lambda h, w, c, u: (h + w + c + 1) * u, "the input numbers must be multiplied, not added, to count them."),
]


_check_dense = FunctionProblem(
    "dense_params", "dense_params(height, width, channels, units)", _DENSE_CASES,
    lambda h, w, c, u: (h * w * c + 1) * u, mistakes=_DENSE_MISTAKES,
    otherwise="{call} returned {got:,}, which is not the number of parameters of Flatten + Dense({case[3]}) "
              "on a {case[0]}x{case[1]}x{case[2]} input. Compare with Keras: build that model and call count_params().")


q1 = Exercise(
    "01.1",
    "Write dense_params(height, width, channels, units): the number of parameters of "
    "Flatten() + Dense(units) on an input image of shape (height, width, channels).",
    _check_dense,
    hint="Flatten turns the image into one long vector. Each unit of the Dense layer has one weight "
         "per number of that vector, and something else besides.",
    solution=r"""def dense_params(height, width, channels, units):
    n_inputs = height * width * channels      # Flatten makes one long vector
    return (n_inputs + 1) * units             # a weight per input and one bias, for every unit""",
    expects="a function dense_params(height, width, channels, units) returning an int",
    level=1,
)


# --------------------------------------------------------------------------- 01.2 conv

_CONV_CASES = [(28, 28, 1, 3, 32), (224, 224, 3, 3, 64), (32, 32, 16, 5, 8), (9, 13, 2, 1, 7), (64, 48, 3, 7, 1)]


_CONV_MISTAKES = [
    (lambda h, w, c, k, f: k * k * c * f, "the kernels are counted, but you forgot the biases."),
    (lambda h, w, c, k, f: k * k * c * f + 1, "a Conv2D layer has one bias per filter, not one for the layer."),
    (lambda h, w, c, k, f: k * k * c * f + c,
     "the biases belong to the filters (output channels), not to the input channels."),
    (lambda h, w, c, k, f: k * k * f + f,
     "a kernel reaches through every input channel, so it has kernel_size x kernel_size weights per input channel."),
    (lambda h, w, c, k, f: k * k * f,
     "a kernel reaches through every input channel (kernel_size x kernel_size weights per input channel), "
     "and there are biases too."),
    (lambda h, w, c, k, f: k * c * f + f, "a kernel_size x kernel_size kernel is a square, not a line of weights."),
    (lambda h, w, c, k, f: k * c * f, "a kernel_size x kernel_size kernel is a square, not a line of weights."),
]


def _size_free(problem, fn, results):
    """The same layer on images of other sizes: does the count move?"""
    base = [(case, got) for case, got in zip(problem.cases[:3], results) for _ in range(2)]
    resized = [(hh, ww, c, k, f) for h, w, c, k, f in problem.cases[:3] for hh, ww in ((2 * h, 2 * w), (h + 1, w + 3))]
    others, message = problem.run(fn, resized)
    if message:
        return message
    for ((h, w, c, k, f), got), (hh, ww, *_), other in zip(base, resized, others):
        if other != got:
            return (f"Your count changes with the image size: conv_params({h}, {w}, {c}, {k}, {f}) = "
                    f"{got:,} but conv_params({hh}, {ww}, {c}, {k}, {f}) = {other:,}. "
                    "Which of a Conv2D layer's weights would need to know how big the image is?")
    return None


_check_conv = FunctionProblem(
    "conv_params", "conv_params(height, width, channels, kernel_size, filters)", _CONV_CASES,
    lambda h, w, c, k, f: k * k * c * f + f, mistakes=_CONV_MISTAKES, also=_size_free,
    otherwise="{call} returned {got:,}, which is not the number of parameters of Conv2D({case[4]}, {case[3]}) "
              "on a {case[0]}x{case[1]}x{case[2]} input. Compare with Keras: build that model and call count_params().")


q2 = Exercise(
    "01.2",
    "Write conv_params(height, width, channels, kernel_size, filters): the number of parameters of "
    "Conv2D(filters, kernel_size) on an input image of shape (height, width, channels).",
    _check_conv,
    hint="One filter is a small block of weights that slides over the image: how many numbers does it "
         "look at in one position? Then count the filters, and what each filter adds after its sum.",
    solution=r"""def conv_params(height, width, channels, kernel_size, filters):
    # one kernel_size x kernel_size x channels kernel and one bias per filter;
    # height and width do not appear: the same kernels slide over every position
    return (kernel_size * kernel_size * channels + 1) * filters""",
    expects="a function conv_params(height, width, channels, kernel_size, filters) returning an int",
    level=1,
)


# --------------------------------------------------------------------------- 01.3 shift

_SHIFT_CASES = [(0, 0), (1, 0), (0, 1), (2, 3), (3, 2), (-1, 0), (0, -2), (-3, 1), (2, -4), (-5, -6), (6, 0), (0, 8)]


def _reference_shift(image, dx, dy):
    return shift_images(image[None, :, :, None], dx, dy)[0, :, :, 0]


def _roll(image, dx, dy):
    return np.roll(image, (dy, dx), axis=(0, 1))


def _check_shift(fn):
    problem = expect_callable(fn, "shift_image(image, dx, dy)")
    if problem:
        return problem
    rng = np.random.default_rng(1)
    image = rng.uniform(0.1, 1.0, size=(9, 7)).astype("float32")  # no zeros: every pixel is visible
    wrong_negative = None
    for dx, dy in _SHIFT_CASES:
        original = image.copy()
        call = f"shift_image(image, {dx}, {dy}) on a 9x7 image"
        got, problem = try_call(fn, (image, dx, dy), f"shift_image(image, {dx}, {dy})")
        if problem and (dx < 0 or dy < 0):
            wrong_negative = wrong_negative or problem
            continue
        if problem:
            return problem
        if not np.array_equal(image, original):
            return f"{call} changed the input image: leave it as it is and return a new array."
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            return f"{call} returned {type(got).__name__}; expected a NumPy array."
        if got.shape != image.shape:
            return (f"{call} returned shape {got.shape}; the result must keep the image's shape {image.shape}: "
                    "what leaves the frame is dropped and the gap is filled.")
        right = _reference_shift(image, dx, dy)
        if np.allclose(got, right):
            continue
        if (dx, dy) != (0, 0) and np.allclose(got, _roll(image, dx, dy)):
            return (f"{call}: the pixels that leave one side come back on the other (wrap-around, like "
                    "np.roll). They must be dropped and the gap filled with zeros.")
        if abs(dy) < 7 and abs(dx) < 9 and np.allclose(got, _reference_shift(image, dy, dx)):
            return (f"{call}: the image moved along the wrong axes. dx moves along the width "
                    "(columns, axis 1), dy along the height (rows, axis 0).")
        if np.allclose(got, _reference_shift(image, -dx, -dy)):
            return (f"{call}: the image moved the wrong way. Positive dx moves it right, "
                    "positive dy moves it down.")
        if dx < 0 or dy < 0:
            wrong_negative = wrong_negative or call
            continue
        bad = int(np.sum(~np.isclose(got, right)))
        return f"{call}: {bad} of the {image.size} pixels are wrong."
    if wrong_negative:
        return f"Right for shifts down and to the right, wrong for negative ones: {wrong_negative}."
    return None


q3 = Exercise(
    "01.3",
    "Write shift_image(image, dx, dy) for a 2-D array image of shape (height, width): move it dx "
    "pixels right and dy pixels down (negative: left / up), without wrap-around: what leaves the frame "
    "is lost, what enters is 0. Return a new array of the same shape.",
    _check_shift,
    hint="Start from np.zeros_like(image) and copy one rectangle of the image into another rectangle of "
         "the result. Work out the slices for dx >= 0 first, then see what changes for dx < 0.",
    solution=r"""def shift_image(image, dx, dy):
    h, w = image.shape
    out = np.zeros_like(image)
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        image[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out""",
    expects="a function shift_image(image, dx, dy) returning an array of the image's shape",
    level=2,
)


# --------------------------------------------------------------------------- 01.4 invariance

_INVARIANCE_SHIFTS = [(1, 0), (0, 1), (-1, 0), (0, -1), (2, 0), (0, -2), (1, 1), (-3, 2), (3, -3)]
_TOL = 1e-4


def _test_digits(n=4, size=32, ink=8, seed=0):
    """``n`` blobby 'digits' of ``ink`` x ``ink`` pixels in the middle of a black ``size`` canvas."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, size, size, 1), dtype="float32")
    lo = (size - ink) // 2
    blobs = rng.uniform(0.0, 1.0, size=(n, ink, ink)) * (rng.uniform(size=(n, ink, ink)) < 0.6)
    out[:, lo:lo + ink, lo:lo + ink, 0] = blobs
    return out


def _all_layers(model):
    found = []
    for layer in getattr(model, "layers", []):
        found.append(layer)
        found.extend(_all_layers(layer))
    return found


def _check_invariant(model):
    import keras

    if not isinstance(model, keras.Model):
        return (f"Expected a Keras model (keras.Sequential or keras.Model), got {type(model).__name__}. "
                "Assign the model itself, not its output or a function building it.")
    layers_ = _all_layers(model)
    n_conv = sum(isinstance(layer, keras.layers.Conv2D) for layer in layers_)
    if n_conv < 2:
        return f"The model has {n_conv} Conv2D layer(s); build one with at least two."
    x = _test_digits()
    try:
        out = np.asarray(keras.ops.convert_to_numpy(model(x, training=False)), dtype=float)
    except Exception as exc:
        return (f"The model could not take a batch of shape {x.shape} ({type(exc).__name__}: {exc}). "
                "Its input must be (32, 32, 1).")
    if out.shape != (len(x), 10):
        return f"The model's output for a batch of {len(x)} images has shape {out.shape}; expected ({len(x)}, 10)."
    if not np.all(np.isfinite(out)):
        return "The model's output holds NaN or infinite values."
    if np.max(np.abs(out - out[:1])) < 1e-6:
        return ("The model gives the same output for different images: a network that ignores its input is "
                "invariant to everything, and useless. Its output must depend on what the image shows.")
    scale = max(1.0, float(np.max(np.abs(out))))
    failures = []
    for dx, dy in _INVARIANCE_SHIFTS:
        shifted = shift_images(x, dx, dy)
        moved = np.asarray(keras.ops.convert_to_numpy(model(shifted, training=False)), dtype=float)
        diff = float(np.max(np.abs(moved - out))) / scale
        if diff > _TOL:
            failures.append(((dx, dy), diff))
    if not failures:
        return None
    names = {type(layer).__name__ for layer in layers_}
    failed = {shift for shift, _ in failures}
    even = [(dx, dy) for dx, dy in _INVARIANCE_SHIFTS if dx % 2 == 0 and dy % 2 == 0]
    odd_only = all(shift not in failed for shift in even)
    (dx, dy), diff = failures[0]
    where = f"Moving the image by dx={dx}, dy={dy} changes the output by up to {diff:.2g}"
    if "Flatten" in names:
        return (f"{where}. A Flatten layer keeps every feature at its position, so the layers after it "
                "see a moved digit as different numbers. What could summarise a whole feature map without "
                "caring where things are?")
    strided = [layer.name for layer in layers_
               if any(s > 1 for s in np.atleast_1d(getattr(layer, "strides", 1) or 1))]
    if odd_only and strided:
        return (f"{where}, while some even shifts pass. The layer(s) {', '.join(strided)} have a stride "
                "larger than 1: they keep only every other position, so a 1-pixel shift of the input is not "
                "a shift of their output.")
    if strided:
        return (f"{where}. The layer(s) {', '.join(strided)} have a stride larger than 1: they see the image "
                "on a coarser grid, and a shift that is not a multiple of it is not a shift of their output.")
    return (f"{where}. Convolutions move their output with the input; what comes after them must not "
            "care where things are.")


q4 = Exercise(
    "01.4",
    "Build invariant_net, an untrained Keras model with input (32, 32, 1), at least two Conv2D layers "
    "and 10 outputs, whose output does not change at all (up to rounding) when a digit in the middle "
    "of the image moves by 1, 2 or 3 pixels in any direction.",
    _check_invariant,
    hint="Convolutions are equivariant: they move their output with the input. What breaks this are "
         "strides (in Conv2D or pooling) and anything that keeps positions, like Flatten. The last step "
         "before the Dense layer must forget where the features were.",
    solution=r"""invariant_net = keras.Sequential([
    keras.Input((32, 32, 1)),
    layers.Conv2D(16, 3, padding="same", activation="relu"),   # stride 1: moves with the input
    layers.Conv2D(32, 3, padding="same", activation="relu"),
    layers.GlobalMaxPooling2D(),                               # forgets where the features were
    layers.Dense(10, activation="softmax"),
])""",
    expects="a Keras model with input shape (32, 32, 1) and output shape (10,)",
    level=2,
)
