"""Exercises of notebook 05 (LeNet-5).

- ``q1`` (05.1): every layer's output shape when LeNet-5 is fed unpadded 28x28 MNIST digits.
- ``q2`` (05.2): the receptive field of one conv2 unit, in input pixels.
- ``q3`` (05.3): trainable parameters of the 1998 paper's partially connected C3 layer.
- ``q4`` (05.4): the classic variant built by hand with Keras layers.
- ``q5`` (05.5): LeNet-5 with tanh activations (as in 1998), trained.
"""
from __future__ import annotations

import numbers

import numpy as np

from cnncourse.exercises import Exercise, ValueProblem, expect_keys

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


# ------------------------------------------------------------------ 05.2 receptive field
_check_receptive_field = ValueProblem("rf_conv2", 14, [
    (5, "5 is the window of conv2 on pool1's map; follow it back through pool1 and conv1 "
        "to the input pixels."),
    (9, "9 = 5 + 4 would be right if pool1 were absent; pooling with stride 2 spreads "
        "conv2's window over twice as many conv1 positions."),
    (10, "10 covers the conv1 positions conv2 depends on; each conv1 unit itself looks at "
         "a 5x5 patch of the input, which adds 4 more pixels."),
    ((196, 100, 25), "Give the side of the square patch in pixels, not its area."),
    ((16, 18), "Too large: neighbouring pool1 windows do not overlap, and neighbouring conv1 "
               "windows share 4 of their 5 columns."),
    (32, "32 is the whole input; a conv2 unit sees only a patch of it."),
], otherwise="{value} pixels is not the side of the input patch that one conv2 unit depends on; "
             "work backwards one layer at a time.")


q2 = Exercise(
    "05.2",
    "One unit of conv2's output depends on a square patch of the 32x32 input. How many pixels "
    "wide is that patch (its receptive field)? Give an int.",
    _check_receptive_field,
    hint="Work backwards: r units of a layer depend on (r - 1) * stride + window units of the "
         "layer below. Start with r = 1 at conv2.",
    solution=r"""r = 1                        # one conv2 unit
r = (r - 1) * 1 + 5          # conv2: 5x5, stride 1  -> pool1 units
r = (r - 1) * 2 + 2          # pool1: 2x2, stride 2  -> conv1 units
r = (r - 1) * 1 + 5          # conv1: 5x5, stride 1  -> input pixels
rf_conv2 = r""",
    expects="an int (pixels)",
    level=1,
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
#: Accuracy on held-out digits that a trained model must beat (chance is 0.10).
TANH_MIN_ACCURACY = 0.5
_N_CHECK = 500


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
    from cnncourse.data import load_mnist

    _, (x, y) = load_mnist(pad=True, n_train=10, n_test=_N_CHECK, seed=5)
    probs = np.asarray(answer.predict(x, batch_size=250, verbose=0))
    if not np.all(np.isfinite(probs)):
        return "tanh_model outputs NaN: its training diverged; lower the learning rate."
    accuracy = float(np.mean(probs.argmax(axis=1) == y))
    if accuracy < TANH_MIN_ACCURACY:
        return (f"tanh_model gets {accuracy:.1%} of {_N_CHECK} test digits right "
                f"(chance is 10%; at least {TANH_MIN_ACCURACY:.0%} expected). Was it trained, "
                "and compiled with the recipe's schedule?")
    return None


q5 = Exercise(
    "05.5",
    "Build LeNet-5 with activation='tanh' (LeNet-5's activation in 1998), compile it with the "
    "course's recipe and train it on the same pipeline. Plot its validation accuracy against the "
    "ReLU model's and explain the difference. Hand in the trained model.",
    _check_tanh_model,
    hint="lenet5(activation='tanh'), then lenet.compile_lenet5(model, steps_per_epoch, epochs) "
         "and model.fit(train_ds, validation_data=(x_val, y_val), ...). The tanh's slope is 1 "
         "at 0 and vanishes for large inputs.",
    solution=r"""tanh_epochs = config.budget("lenet_tanh_epochs")
keras.utils.set_random_seed(0)
tanh_model = train.compile_lenet5(lenet5(activation="tanh"), steps_per_epoch, tanh_epochs)
tanh_history = tanh_model.fit(train_ds, epochs=tanh_epochs, validation_data=(x_val, y_val),
                              shuffle=False, verbose=train.verbose())
fig, ax = plt.subplots(figsize=(6, 3))
ax.plot(np.arange(1, epochs + 1), history.history["val_accuracy"], "o-", label=f"ReLU, {epochs}-epoch schedule")
ax.plot(np.arange(1, tanh_epochs + 1), tanh_history.history["val_accuracy"], "s--",
        label=f"tanh, {tanh_epochs}-epoch schedule")
ax.set_xlabel("epoch"); ax.set_ylabel("validation accuracy"); ax.grid(alpha=0.3); ax.legend()
print(f"tanh after {tanh_epochs} epochs: {tanh_history.history['val_accuracy'][-1]:.2%}; "
      f"ReLU after {epochs}: {history.history['val_accuracy'][-1]:.2%}")""",
    expects="a trained keras.Model",
    level=2,
)
