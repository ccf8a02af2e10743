"""Exercises of notebook 05 (LeNet-5).

- ``q1`` (05.1, ★): every layer's output shape when LeNet-5 is fed unpadded 28x28 MNIST digits.
- ``q2`` (05.2, ★★): ``shift_batch(images, dy, dx)``, the recipe's augmentation written in NumPy.
- ``q3`` (05.3, ★★): trainable parameters of the 1998 paper's partially connected C3 layer.
- ``q4`` (05.4, ★★): the classic variant built by hand with Keras layers.
- ``q5`` (05.5, ★★): LeNet-5 with tanh activations (as in 1998), trained with the ReLU model's schedule
  and compared with it on the validation digits.
"""
from __future__ import annotations

import numbers

import numpy as np

from cnncourse.exercises import Exercise, FunctionProblem, ValueProblem, expect_array, expect_keys

LAYERS = ("conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "fc2", "output")


# ------------------------------------------------------------------ 05.1 shapes for 28x28
_SHAPES_28 = {
    "conv1": (24, 24, 6), "pool1": (12, 12, 6), "conv2": (8, 8, 16), "pool2": (4, 4, 16),
    "flatten": (256,), "fc1": (120,), "fc2": (100,), "output": (10,),
}


def _as_shape(value):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value),)
    shape = tuple(value)
    if not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in shape):
        raise TypeError
    return tuple(int(s) for s in shape)


def _check_shapes_28(answer):
    problem = expect_keys(answer, LAYERS, "shapes_28",
                          f"a dict mapping each layer name ({', '.join(LAYERS)}) to its output shape",
                          missing="lacks the layer(s) {joined}", extra="has keys that are not LeNet-5 layers: {list!r:.80}")
    if problem:
        return problem
    for name in LAYERS:
        try:
            shape = _as_shape(answer[name])
        except TypeError:
            return (f"shapes_28[{name!r}] should be a tuple of whole numbers such as (h, w, c), "
                    f"got {answer[name]!r:.60}.")
        want = _SHAPES_28[name]
        if shape == want:
            continue
        if len(shape) == len(want) + 1 and shape[1:] == want:
            return f"shapes_28[{name!r}] seems to include a batch axis; give the shape without it."
        if len(shape) != len(want):
            return (f"shapes_28[{name!r}] has {len(shape)} axes; that layer's output has {len(want)} "
                    "(not counting the batch axis).")
        if name in ("conv1", "conv2") and shape[:2] == tuple(s + 4 for s in want[:2]):
            return (f"shapes_28[{name!r}]: that is the size 'same' padding would keep; LeNet's "
                    "convolutions use no padding ('valid'), so a 5x5 kernel loses pixels at the border.")
        if name in ("conv1", "conv2") and shape[:2] == tuple(s + 2 for s in want[:2]):
            return (f"shapes_28[{name!r}]: off by 2 — a 5x5 kernel without padding fits "
                    "(n - 5) + 1 times along a side of n pixels.")
        if name in ("pool1", "pool2") and shape[:2] == tuple(2 * s for s in want[:2]):
            return (f"shapes_28[{name!r}] has the height and width of the layer before it: "
                    "2x2 pooling with stride 2 halves them.")
        if len(want) == 3 and shape[:2] == want[:2]:
            return (f"shapes_28[{name!r}] has the right height and width but the wrong number of "
                    "channels: count the filters of the last convolution.")
        if len(want) == 3 and shape[2] == want[2]:
            return f"shapes_28[{name!r}] has the right channels but the wrong height/width."
        if name == "flatten":
            return ("shapes_28['flatten'] should hold height x width x channels of pool2's output "
                    "as one number.")
        return (f"shapes_28[{name!r}] = {shape} is not that layer's output shape for a 28x28x1 input; "
                "the fully connected layers' sizes do not depend on the input size.")
    return None


q1 = Exercise(
    "05.1",
    "Without padding, an MNIST digit is 28x28x1. Give the output shape of every LeNet-5 layer "
    "(course variant) for that input, as a dict {layer name: shape without the batch axis}.",
    _check_shapes_28,
    hint="A 5x5 'valid' convolution maps n pixels to n - 4; 2x2 pooling with stride 2 halves; "
         "flatten multiplies the three numbers.",
    solution=r"""def out_side(n, k, s=1):
    return (n - k) // s + 1

side = 28
c1 = out_side(side, 5); p1 = out_side(c1, 2, 2); c2 = out_side(p1, 5); p2 = out_side(c2, 2, 2)
shapes_28 = {"conv1": (c1, c1, 6), "pool1": (p1, p1, 6), "conv2": (c2, c2, 16), "pool2": (p2, p2, 16),
             "flatten": (p2 * p2 * 16,), "fc1": (120,), "fc2": (100,), "output": (10,)}
print("fc1 parameters at 28x28:", lenet5(input_shape=(28, 28, 1)).get_layer("fc1").count_params())""",
    expects="a dict mapping 'conv1' ... 'output' to shape tuples such as (24, 24, 6)",
    level=1,
)


# ------------------------------------------------------------------ 05.2 the recipe's shift, by hand
def _shift(images, dy, dx):
    """``images`` (n, h, w, c) moved ``dy`` rows down and ``dx`` columns right, zeros entering."""
    x = np.asarray(images, dtype=float)
    out = np.zeros_like(x)
    h, w = x.shape[1:3]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        x[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def _shift_axes01(images, dy, dx):
    """The mistake of shifting the first two axes (the batch and the rows), as if there were no batch axis."""
    moved = _shift(np.moveaxis(np.asarray(images, dtype=float), 0, 1)[None], dy, dx)[0]
    return np.moveaxis(moved, 1, 0)


_rng = np.random.default_rng(5)
_SHIFT_CASES = [(_rng.integers(1, 10, size).astype(float), dy, dx) for size, dy, dx in (
    ((2, 5, 7, 1), 1, 2), ((1, 6, 4, 2), -2, 1), ((3, 5, 5, 1), 0, -3), ((1, 4, 6, 3), 2, 0),
    ((2, 7, 5, 1), -1, -2), ((2, 4, 4, 1), 0, 0))]

_SHIFT_MISTAKES = [
    (lambda x, dy, dx: np.roll(x, (dy, dx), axis=(1, 2)),
     "the pixels that leave on one side come back on the other (np.roll wraps around); the rows and columns "
     "that enter should be zeros."),
    (lambda x, dy, dx: _shift(x, -dy, -dx),
     "the content moves the wrong way: with dy > 0 it moves down (row i goes to row i + dy), with dx > 0 right."),
    (lambda x, dy, dx: _shift(x, dx, dy), "dy and dx are swapped: dy moves along the rows (axis 1), dx along the "
                                          "columns (axis 2)."),
    (lambda x, dy, dx: _shift(x, -dx, -dy), "dy and dx are swapped, and the content moves the wrong way."),
    (_shift_axes01, "the shift moves the batch axis: images are (n, height, width, channels), so rows are axis 1 "
                    "and columns axis 2."),
]


class _ShiftProblem(FunctionProblem):
    """Calls are shown with the batch's shape, not its values; every call gets a fresh copy of the batch."""

    def label(self, case):
        images, dy, dx = case
        return f"{self.name}(images of shape {images.shape}, dy={dy}, dx={dx})"

    def run(self, fn, cases, wants=None):
        return super().run(lambda images, dy, dx: fn(np.array(images, copy=True), dy, dx), cases, wants)


def _read_batch(got, call, want):
    problem = expect_array(got, want.shape, f"{call}'s result")
    return (None, problem) if problem else (np.asarray(got, dtype=float), None)


_check_shift = _ShiftProblem(
    "shift_batch", "shift_batch(images, dy, dx) returning an array shaped like images", _SHIFT_CASES, _shift,
    returns=_read_batch, same=lambda got, want: bool(np.array_equal(got, want)), mistakes=_SHIFT_MISTAKES,
    said="{call}: {mistake}",
    otherwise="{call} returned the wrong pixels ({wrong} of {total} cases wrong). Output pixel (i, j) should "
              "be input pixel (i - dy, j - dx) where that lies inside the image, and 0 elsewhere.")


q2 = Exercise(
    "05.2",
    "Write shift_batch(images, dy, dx) in NumPy, the recipe's augmentation: images is a batch (n, height, width, "
    "channels); return an array of the same shape whose content is moved dy rows down and dx columns right "
    "(negative: up, left), the rows and columns that enter being zeros. Then measure how much ink the padded "
    "digits lose when shifted by the recipe's 2 pixels, and by more.",
    _check_shift,
    hint="Start from np.zeros_like(images) and copy one rectangle into it: the rows max(dy, 0) ... "
         "height + min(dy, 0) of the output come from the rows max(-dy, 0) ... height + min(-dy, 0) of the input "
         "(the same for the columns).",
    solution=r"""def shift_batch(images, dy, dx):
    images = np.asarray(images)
    out = np.zeros_like(images)
    h, w = images.shape[1:3]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        images[:, max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out

total_ink = x_train.sum()
for s in (2, 3, 4):
    lost = max(1 - shift_batch(x_train, dy, dx).sum() / total_ink for dy in (-s, s) for dx in (-s, s))
    print(f"all training digits shifted by {s} pixels towards a corner: at most {lost:.3%} of their ink "
          "leaves the 32x32 frame")
plots.show_images(np.stack([shift_batch(x_train[:1], dy, dx)[0] for dy, dx in
                            [(0, 0), (-2, -2), (-2, 2), (2, -2), (2, 2)]]),
                  ["original", "up-left", "up-right", "down-left", "down-right"], ncols=5, size=1.2,
                  title="one padded digit shifted by 2 pixels");""",
    expects="a function shift_batch(images, dy, dx) returning a NumPy array shaped like images",
    level=2,
)


# ------------------------------------------------------------------ 05.3 C3 of the 1998 paper
#: LeCun et al. (1998), Table I: which of S2's six maps each of C3's sixteen maps reads.
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)
_C3_CONNECTIONS = sum(len(row) for row in C3_TABLE)  # 60 input maps read, over all 16 filters
_C3_PARAMS = _C3_CONNECTIONS * 25 + len(C3_TABLE)  # 1,516


_check_c3_params = ValueProblem("c3_params", _C3_PARAMS, [
    (5 * 5 * 6 * 16 + 16, "That is the count of the course's conv2, where every filter reads all 6 maps. "
                          "In C3 each filter reads only the maps its row of the table lists."),
    (_C3_CONNECTIONS * 25, "Close: you forgot the biases — one per output map."),
    (_C3_CONNECTIONS * 26, "Too many biases: a filter has one bias, however many input maps it reads."),
    (5 * 5 * 6 * 16, "That is the fully connected conv2 without biases; C3 reads fewer maps per filter."),
], otherwise="{value} is not C3's parameter count. Count the input maps each of the 16 filters "
             "reads, multiply by the kernel's size, and add the biases.")


q3 = Exercise(
    "05.3",
    "In the 1998 paper, C3 (our conv2) is not fully connected to S2's 6 maps: filter k reads only "
    "the maps listed in ex.C3_TABLE[k] (6 filters read 3 maps, 9 read 4, one reads all 6). "
    "How many trainable parameters does C3 have (5x5 kernels, one bias per filter)? Give an int.",
    _check_c3_params,
    hint="A filter reading m maps has 5 * 5 * m weights and 1 bias.",
    solution=r"""c3_params = sum(5 * 5 * len(maps) + 1 for maps in ex.C3_TABLE)
print(c3_params, "instead of", lenet5().get_layer("conv2").count_params())""",
    expects="an int",
    level=2,
)


# ------------------------------------------------------------------ 05.4 classic variant by hand
_CLASSIC = (("conv2d", (28, 28, 6), 156), ("pool", (14, 14, 6), 0), ("conv2d", (10, 10, 16), 2416),
            ("pool", (5, 5, 16), 0), ("flatten", (400,), 0), ("dense", (120,), 48120),
            ("dense", (84,), 10164), ("dense", (10,), 850))


def _kind(layer):
    import keras

    if isinstance(layer, keras.layers.Conv2D):
        return "conv2d"
    if isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)):
        return "pool"
    if isinstance(layer, keras.layers.Flatten):
        return "flatten"
    if isinstance(layer, keras.layers.Dense):
        return "dense"
    return type(layer).__name__


def _check_classic(answer):
    import keras

    if not isinstance(answer, keras.Model):
        return f"classic should be a keras.Model (Sequential or functional), got {type(answer).__name__}."
    if not answer.built or not answer.inputs:
        return "classic has no input yet: start it with keras.Input(shape=(32, 32, 1))."
    in_shape = tuple(answer.inputs[0].shape[1:])
    if in_shape != (32, 32, 1):
        return f"classic takes inputs of shape {in_shape}; LeNet-5 takes padded digits, (32, 32, 1)."
    layers = [layer for layer in answer.layers if not isinstance(layer, keras.layers.InputLayer)]
    kinds = [_kind(layer) for layer in layers]
    want_kinds = [k for k, _, _ in _CLASSIC]
    if kinds != want_kinds:
        return (f"classic's layers are {kinds}; LeNet-5 is conv, pool, conv, pool, flatten, "
                "dense, dense, dense (no other layers).")
    for i, (layer, (kind, shape, params)) in enumerate(zip(layers, _CLASSIC), start=1):
        got = tuple(layer.output.shape[1:])
        if got != shape:
            hint = ""
            if kind == "conv2d" and getattr(layer, "padding", "") == "same":
                hint = " Its padding is 'same'; LeNet's convolutions use 'valid'."
            return f"Layer {i} ({layer.name}) outputs {got}; it should output {shape}.{hint}"
        if layer.count_params() != params:
            extra = "" if getattr(layer, "use_bias", True) else " It has no bias."
            return f"Layer {i} ({layer.name}) has {layer.count_params()} parameters, not {params}.{extra}"
    last = layers[-1]
    if last.activation is not keras.activations.softmax:
        return "The output layer should turn its 10 scores into probabilities: activation='softmax'."
    for layer in layers[:-1]:
        act = getattr(layer, "activation", None)
        if act is not None and act is keras.activations.linear:
            return (f"Layer {layer.name} has no activation: without one, stacked layers collapse "
                    "into a single linear map.")
    return None


q4 = Exercise(
    "05.4",
    "Build the classic LeNet-5 shape by hand with keras.layers (not with lenet5()): 32x32x1 input, "
    "6 filters 5x5, 2x2 pooling, 16 filters 5x5, 2x2 pooling, flatten, dense 120, dense 84, "
    "dense 10 softmax. It has 61,706 parameters.",
    _check_classic,
    hint="keras.Sequential([keras.Input(...), layers.Conv2D(...), layers.MaxPooling2D(2), ...]); "
         "no padding argument means 'valid'.",
    solution=r"""from keras import layers

classic_by_hand = keras.Sequential([
    keras.Input(shape=(32, 32, 1)),
    layers.Conv2D(6, 5, activation="relu"), layers.MaxPooling2D(2),
    layers.Conv2D(16, 5, activation="relu"), layers.MaxPooling2D(2),
    layers.Flatten(),
    layers.Dense(120, activation="relu"), layers.Dense(84, activation="relu"),
    layers.Dense(10, activation="softmax"),
])
print(classic_by_hand.count_params(), "parameters")""",
    expects="a keras.Model",
    level=2,
)


# ------------------------------------------------------------------ 05.5 tanh LeNet, trained
#: Accuracy on training digits that a trained model must beat (chance is 0.10).
TANH_MIN_ACCURACY = 0.5
_N_CHECK = 500


def _expected_steps():
    """Training steps of the ReLU model of section 3: ``lenet_epochs`` epochs of the notebook's split."""
    import math

    from cnncourse.config import budget
    from cnncourse.train import LENET5_RECIPE

    n_train = budget("mnist_train") - budget("lenet_val")
    return budget("lenet_epochs") * math.ceil(n_train / LENET5_RECIPE["batch_size"])


def _check_tanh_model(answer):
    import keras

    if not isinstance(answer, keras.Model):
        return f"tanh_model should be a trained keras.Model, got {type(answer).__name__}."
    names = [layer.name for layer in answer.layers]
    missing = [n for n in ("conv1", "conv2", "fc1", "fc2", "output") if n not in names]
    if missing:
        return (f"tanh_model has no layer(s) named {', '.join(missing)}: build it with "
                "lenet5(activation=...).")
    for name in ("conv1", "conv2", "fc1", "fc2"):
        act = answer.get_layer(name).activation
        if act is not keras.activations.tanh:
            return (f"Layer {name} uses {getattr(act, '__name__', act)}; this exercise is about "
                    "the tanh, the activation of 1998.")
    if tuple(answer.inputs[0].shape[1:]) != (32, 32, 1) or tuple(answer.output.shape[1:]) != (10,):
        return "tanh_model should take (32, 32, 1) digits and output 10 probabilities."
    optimizer = getattr(answer, "optimizer", None)
    steps = int(np.asarray(keras.ops.convert_to_numpy(optimizer.iterations))) if optimizer is not None else 0
    want = _expected_steps()
    if steps == 0:
        return "tanh_model has not been trained: compile it with train.compile_lenet5 and fit it."
    if steps != want:
        return (f"tanh_model took {steps:,} training steps, and the ReLU model of section 3 took {want:,} "
                "(epochs x steps_per_epoch). A fair comparison trains both with the same schedule and data, "
                "from a fresh model (fitting twice adds up the steps).")
    from cnncourse.data import load_mnist

    # training digits: the check only asks whether the model learned; the test set stays for the notebook's end
    (x, y), _ = load_mnist(pad=True, n_train=_N_CHECK, n_test=10, seed=5)
    probs = np.asarray(answer.predict(x, batch_size=250, verbose=0))
    if not np.all(np.isfinite(probs)):
        return "tanh_model outputs NaN: its training diverged; lower the learning rate."
    accuracy = float(np.mean(probs.argmax(axis=1) == y))
    if accuracy < TANH_MIN_ACCURACY:
        return (f"tanh_model reads fewer than {TANH_MIN_ACCURACY:.0%} of {_N_CHECK} training digits right "
                "(chance is 10%). Was it compiled with the recipe's schedule, and trained on train_ds's digits?")
    return None


q5 = Exercise(
    "05.5",
    "Build LeNet-5 with activation='tanh' (LeNet-5's activation in 1998), compile it with the course's recipe "
    "for the same number of epochs as the ReLU model of section 3, and train it on the same pipeline. Plot both "
    "validation accuracies epoch by epoch, and print which is ahead at the end and whether the difference is "
    "larger than the noise of the validation set. Hand in the trained model.",
    _check_tanh_model,
    hint="lenet5(activation='tanh'), then train.compile_lenet5(model, steps_per_epoch, epochs) and "
         "model.fit(train.batch_shift_dataset(x_train, y_train, seed=0), epochs=epochs, validation_data=(x_val, y_val)). "
         "An accuracy p measured on n digits has a standard error of sqrt(p (1 - p) / n).",
    solution=r"""keras.utils.set_random_seed(0)                    # as for the ReLU model: same seed, schedule and batches
tanh_model = train.compile_lenet5(lenet5(activation="tanh"), steps_per_epoch, epochs)
tanh_history = tanh_model.fit(train.batch_shift_dataset(x_train, y_train, seed=0), epochs=epochs,
                              validation_data=(x_val, y_val), shuffle=False, verbose=train.verbose())
relu_val, tanh_val = history.history["val_accuracy"], tanh_history.history["val_accuracy"]
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(np.arange(1, epochs + 1), relu_val, "o-", label="ReLU")
ax.plot(np.arange(1, epochs + 1), tanh_val, "s--", label="tanh")
ax.set_xlabel("epoch"); ax.set_ylabel("validation accuracy"); ax.grid(alpha=0.3); ax.legend()
ax.set_title(f"the same {epochs}-epoch schedule")
diff = relu_val[-1] - tanh_val[-1]
se = math.sqrt((relu_val[-1] * (1 - relu_val[-1]) + tanh_val[-1] * (1 - tanh_val[-1])) / len(x_val))
print(f"after {epochs} epochs on {len(x_val):,} validation digits: ReLU {relu_val[-1]:.2%}, tanh {tanh_val[-1]:.2%}, "
      f"difference {diff:+.2%} (standard error {se:.2%})")
print("within two standard errors: this validation set cannot tell the two apart (and one seed each)."
      if abs(diff) < 2 * se else
      f"more than two standard errors: {'ReLU' if diff > 0 else 'tanh'} is ahead after the same training "
      "(one seed each: a second seed would show how much of it is luck).")""",
    expects="a trained keras.Model",
    level=2,
)
