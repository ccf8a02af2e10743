"""Exercises of notebook 01, *Why ConvNets*: where parameters grow, shifting images, invariance, equivariance.

- ``q1`` (01.1, ★): ``conv_net_params(side, head)``, the parameters of section 2's ConvNet at any image
  size, with a Flatten or a global-pooling head (the conv trunk does not grow; a Flatten head does).
- ``q2`` (01.2, ★★): ``shift_image(image, dx, dy)``, a shift without wrap-around (``data.shift_images``).
- ``q3`` (01.3, ★★): ``invariant_net``, an untrained Keras model exactly invariant to small shifts.
- ``q4`` (01.4, ★★★): ``shift_period(f, x, margin)``, measured: the smallest shift of the input that moves a
  network's feature maps by one position (1 for a conv layer, its total stride for a strided trunk, None when
  it is not equivariant), tried on small NumPy networks whose periods the checker knows.

In the notebook::

    from cnncourse.exercises import ex01 as ex
    ex.q1.check(conv_net_params)     # a function (side, head) -> int
    ex.q2.check(shift_image)         # a function (image, dx, dy) -> array of image's shape
    ex.q3.check(invariant_net)       # a Keras model, input (32, 32, 1), 10 outputs
    ex.q4.check(shift_period)        # a function (f, x, margin=0) -> int or None

Each checker returns ``None`` when the answer is right, or a message saying what is
wrong without giving the answer away.

>>> no_pooling = lambda side, head: 23_296 + ((side * side if head == "flatten" else 1) * 64 + 1) * 10
>>> q1.evaluate(no_pooling)[1]  # doctest: +ELLIPSIS
"conv_net_params(32, 'flatten') returned 678,666: the two MaxPooling2D(2) layers shrink the feature map..."
"""
from __future__ import annotations

import numpy as np

from cnncourse import ops
from cnncourse.data import shift_images
from cnncourse.exercises import Exercise, FunctionProblem, expect_callable, expect_int, try_call

__all__ = ["q1", "q2", "q3", "q4", "period_images"]


# --------------------------------------------------------------------------- 01.1 parameters of the conv nets

class _Quoted(str):
    """A str that shows its quotes in a message: ``conv_net_params(32, 'global')``, as one would call it."""

    def __str__(self):
        return str.__repr__(self)


_HEADS = (_Quoted("flatten"), _Quoted("global"))
# (side, head): even and odd sides (the 2x2 poolings round down), small and large, both heads
_NET_CASES = [(side, head) for side in (32, 28, 64, 30, 17, 1000) for head in _HEADS]
_TRUNK = 160 + 4_640 + 18_496          # 3x3 convs 1 -> 16 -> 32 -> 64 channels, biases included


def _ceil_half(n):
    return -(-n // 2)


def _net_params(side, head, pooled=lambda side: side // 2 // 2, trunk=_TRUNK, dense_bias=10):
    """The parameters of section 2's conv_net on (side, side, 1) images, and variants of its mistakes."""
    features = 64 if head == "global" else pooled(side) ** 2 * 64
    return trunk + features * 10 + dense_bias


_NET_MISTAKES = [
    (lambda side, head: _net_params(side, "flatten"),
     "GlobalMaxPooling2D keeps one number per feature map, wherever it was: the Dense layer after it "
     "sees 64 numbers at every image size."),
    (lambda side, head: _net_params(side, head, pooled=lambda s: s),
     "the two MaxPooling2D(2) layers shrink the feature map before Flatten: the map it flattens is "
     "smaller than the image."),
    (lambda side, head: _net_params(side, head, pooled=lambda s: s // 2),
     "there are two MaxPooling2D(2) layers in the trunk, not one."),
    (lambda side, head: _net_params(side, head, pooled=lambda s: _ceil_half(_ceil_half(s))),
     "right for sides divisible by 4, wrong for the others: MaxPooling2D(2) drops a last odd row and "
     "column (it rounds down), like a convolution without padding."),
    (lambda side, head: _net_params(side, head, trunk=_TRUNK - 112),
     "the conv layers' biases are missing: one per filter."),
    (lambda side, head: _net_params(side, head, dense_bias=0), "the Dense layer's 10 biases are missing."),
    (lambda side, head: _net_params(side, head, trunk=160 + 320 + 640),
     "each 3x3 kernel spans every channel of the layer before it (16, then 32), not one channel."),
    (lambda side, head: _net_params(side, "global"),
     "Flatten keeps every position of the last feature map, so the Dense layer after it has a weight "
     "per position, channel and class: that grows with the image."),
]


_check_net = FunctionProblem(
    "conv_net_params", "conv_net_params(side, head)", _NET_CASES, _net_params, mistakes=_NET_MISTAKES,
    otherwise="{call} returned {got:,}, which is not the parameter count of conv_net with that head on "
              "{case[0]}x{case[0]}x1 images ({wrong} of {total} cases are wrong). Count layer by layer, "
              "and compare one case with Keras: build the model and call count_params().")


q1 = Exercise(
    "01.1",
    "Write conv_net_params(side, head): the number of parameters of section 2's conv_net on images of "
    "shape (side, side, 1), with head 'flatten' (Flatten) or 'global' (GlobalMaxPooling2D).",
    _check_net,
    hint="Count layer by layer. A Conv2D layer has (3*3*in_channels + 1)*filters, whatever the image size. "
         "The head decides how many numbers reach Dense(10): work out the side of the feature map after "
         "each MaxPooling2D(2) (it rounds down).",
    solution=r"""def conv_net_params(side, head):
    trunk = (3 * 3 * 1 + 1) * 16 + (3 * 3 * 16 + 1) * 32 + (3 * 3 * 32 + 1) * 64   # any image size
    if head == "global":
        features = 64                            # one number per feature map
    else:
        features = (side // 2 // 2) ** 2 * 64    # two 2x2 poolings (rounding down), then Flatten
    return trunk + (features + 1) * 10

for side in (28, 32, 224, 1000):
    print(f"{side:>4} x {side:<4} flatten head {conv_net_params(side, 'flatten'):>12,}"
          f"   global head {conv_net_params(side, 'global'):>7,}")""",
    expects="a function conv_net_params(side, head) returning an int",
    level=1,
)


# --------------------------------------------------------------------------- 01.2 shift

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


q2 = Exercise(
    "01.2",
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


# --------------------------------------------------------------------------- 01.3 invariance

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


q3 = Exercise(
    "01.3",
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


# --------------------------------------------------------------------------- 01.4 shift period

def _rng_kernels(seed, c_in, c_out, f=3):
    return np.random.default_rng(seed).normal(size=(f, f, c_in, c_out)) / f


_K1, _K2, _K3 = _rng_kernels(11, 1, 4), _rng_kernels(12, 4, 4), _rng_kernels(13, 4, 4)


def _relu(z):
    return np.maximum(z, 0.0)


def _conv(x, k, stride=1):
    return _relu(ops.conv2d_fast(x, k, stride=stride, padding="same"))


# Feature extractors without biases: black stays black, so on images with a wide black frame the
# equivariant ones are exactly equivariant over the whole map (no border effect to step around).
_PERIOD_NETS = {
    "one 3x3 conv layer": (lambda x: _conv(x, _K1), 1),
    "conv + 2x2 max pooling": (lambda x: ops.max_pool2d(_conv(x, _K1)), 2),
    "two conv layers, the second with strides=2": (lambda x: _conv(_conv(x, _K1), _K2, stride=2), 2),
    "conv, pool, conv, pool (section 2's trunk)": (
        lambda x: _conv(ops.max_pool2d(_conv(ops.max_pool2d(_conv(x, _K1)), _K2)), _K3), 4),
    "three conv + pool stages": (
        lambda x: ops.max_pool2d(_conv(ops.max_pool2d(_conv(ops.max_pool2d(_conv(x, _K1)), _K2)), _K3)), 8),
    "a conv layer whose output is weighted by its column": (
        lambda x: _conv(x, _K1) * np.arange(1.0, x.shape[2] + 1)[None, None, :, None], None),
}


def period_images(n=3, size=48, ink=12, seed=5):
    """``n`` random 'digits' of ``ink`` x ``ink`` pixels in the middle of a black ``size`` x ``size`` frame."""
    rng = np.random.default_rng(seed)
    x = np.zeros((n, size, size, 1))
    lo = (size - ink) // 2
    x[:, lo:lo + ink, lo:lo + ink, 0] = rng.uniform(0.2, 1.0, size=(n, ink, ink))
    return x


def _read_period(got, call):
    if got is None:
        return None, None
    if isinstance(got, (bool, np.bool_)) or expect_int(got) is not None:
        return None, f"{call} returned {got!r:.60}; it should return a whole number of pixels, or None."
    return int(got), None


def _check_period(fn):
    problem = expect_callable(fn, "shift_period(f, x, margin=0)")
    if problem:
        return problem
    x = period_images()
    results = {}
    for name, (net, period) in _PERIOD_NETS.items():
        for margin in (0, 1):
            original = x.copy()
            call = f"shift_period({name}, x, margin={margin})"
            got, problem = try_call(fn, (net, x, margin), call)
            if problem:
                return problem
            if not np.array_equal(x, original):
                return f"{call} changed the images x: leave them as they are."
            value, problem = _read_period(got, call)
            if problem:
                return problem
            results[name, margin] = value
    got = {name: results[name, 0] for name in _PERIOD_NETS}
    right = {name: period for name, (net, period) in _PERIOD_NETS.items()}
    if got == right:
        for name in _PERIOD_NETS:
            if results[name, 1] != results[name, 0]:
                return (f"shift_period({name}, x) gives {results[name, 0]} with margin=0 but "
                        f"{results[name, 1]} with margin=1; leaving out a border that is black in both maps "
                        "should change nothing. Slice the same positions of both maps.")
        return None
    equivariant = [name for name, period in right.items() if period is not None]
    if all(got[name] is None for name in equivariant):
        return ("shift_period found no period for any network, not even for one 3x3 conv layer, which is "
                "equivariant. Compare f of the images moved right by s with f(x) moved right by one position "
                "(data.shift_images(f(x), 1, 0)): in the same direction, and not with f(x) itself "
                "(equivariance is not invariance).")
    if got["one 3x3 conv layer"] == 1 and all(got[name] is None for name in equivariant[1:]):
        return ("Right for one conv layer, None for the networks that pool or stride. A network with a "
                "total stride keeps one position in every few: when the input moves by s pixels, its "
                "feature maps move by one position per stride, not by s. Compare with f(x) moved by one "
                "position, and try every s up to 16.")
    if got == {name: (1 if period is None else period) for name, period in right.items()}:
        return ("shift_period finds a period even for a network that weights each position differently, "
                "which is not equivariant at all. Do you compare the whole maps, with np.allclose? Does your "
                "comparison leave out everything (a margin that eats the map)?")
    if all(got[name] == 1 for name in _PERIOD_NETS):
        return ("shift_period returns 1 for every network. Is the comparison empty (slices such as "
                "[m:-m] with m = 0 select nothing), or are both sides the same array?")
    name = next(name for name in _PERIOD_NETS if got[name] != right[name])
    if right[name] is None:
        return (f"shift_period({name}, x) returned {got[name]}: that network is not equivariant at all (it "
                "weights each position differently), so no shift should pass your comparison.")
    if got[name] is None:
        return (f"shift_period({name}, x) returned None: it is equivariant to some shift up to 16 pixels. "
                "Do you move the images right by s (dx=s) and the maps right by one position, the same "
                "direction?")
    return (f"shift_period({name}, x) returned {got[name]}, but moving x by {got[name]} pixels does not move "
            "that network's feature maps by exactly one position. Compare f of the moved images with f(x) "
            "moved by one position (not by two, not by s), trying s = 1, 2, 3, ... in order.")


q4 = Exercise(
    "01.4",
    "Write shift_period(f, x, margin=0): the smallest shift s in 1..16 pixels such that moving the images "
    "x right by s moves every feature map of f(x) right by exactly one position (compared with np.allclose, "
    "leaving out margin positions on each side of the maps), or None when no s does.",
    _check_period,
    hint="For each s: a = f(data.shift_images(x, s, 0)) and b = data.shift_images(f(x), 1, 0); compare "
         "a[:, m:h - m, m:w - m] with the same slice of b (h, w: the map's height and width; mind m = 0).",
    solution=r"""def shift_period(f, x, margin=0):
    fx = np.asarray(f(x))
    h, w = fx.shape[1:3]
    inner = (slice(None), slice(margin, h - margin), slice(margin, w - margin))   # works for margin 0 too
    for s in range(1, 17):
        moved = np.asarray(f(data.shift_images(x, s, 0)))        # the images, s pixels to the right
        if np.allclose(moved[inner], data.shift_images(fx, 1, 0)[inner], atol=1e-5):
            return s                                             # the maps moved by exactly one position
    return None

# the trunk of section 2's trained ConvNet (conv, pool, conv, pool, conv), on test digits in a wider frame
trunk = keras.Sequential(models["conv + GlobalMaxPool"].layers[:5])
framed = np.pad(x_test[:8], ((0, 0), (16, 16), (16, 16), (0, 0)))          # 64 x 64, black frame
for margin in (0, 3):   # with margin 0 the maps' edges, where the biases meet the zero padding, differ
    period = shift_period(lambda x: keras.ops.convert_to_numpy(trunk(x)), framed, margin=margin)
    print(f"margin={margin}: the trained trunk's maps move by one position when the digits move by {period} pixels")""",
    expects="a function shift_period(f, x, margin=0) returning an int or None",
    level=3,
)
