"""Exercises of notebook 07, *VGG-16*: receptive fields, VGG blocks, where parameters sit.

- ``q1`` (07.1, ★★): ``my_receptive_field(layers)``, the field of any stack of convolutions and
  poolings, written without ``cnncourse.ops.receptive_field`` and checked against it.
- ``q2`` (07.2, ★★): ``vgg_block(x, filters, n_convs)``, VGG's building block with the functional
  API, checked block by block against VGG-16 as ``cnncourse.models.vgg`` defines it.
- ``q3`` (07.3, ★): fc1's parameters after global average pooling.
- ``q4`` (07.4, ★★): ``small_vgg``, a VGG of one's own for CIFAR-10, checked against VGG's rules.

In the notebook::

    from cnncourse.exercises import ex07 as ex
    ex.q1.check(my_receptive_field)   # a function (layers) -> int
    ex.q2.check(vgg_block)            # a function (x, filters, n_convs) -> Keras tensor
    ex.q3.check(fc1_after_gap)        # an int
    ex.q4.check(small_vgg)            # a Keras model, input (32, 32, 3), 10 outputs

Each checker returns ``None`` when the answer is right, or a message saying what is
wrong without giving the answer away.

>>> q1.evaluate(lambda layers: 1 + sum(k - 1 for k, s in layers))[1]  # doctest: +ELLIPSIS
'...strides are ignored...'
"""
from __future__ import annotations

import copy
import functools

from cnncourse.exercises import Exercise, FunctionProblem, ValueProblem, calls, expect_callable, try_call

__all__ = ["q1", "q2", "q3", "q4"]


# --------------------------------------------------------------------------- 07.1 receptive field

def _field(layers):
    # the reference, written out here so that the checker does not lean on the function it checks against;
    # tests/test_ex07.py checks it equals cnncourse.ops.receptive_field on every case
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field


_VGG_TO_BLOCK3 = [(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (3, 1)]
_FIELD_CASES = [([(3, 1)],), ([(3, 1)] * 3,), ([(11, 4), (3, 2)],), ([(5, 1), (2, 2), (5, 1), (2, 2)],),
                (_VGG_TO_BLOCK3,), ([(7, 2), (3, 2), (3, 1), (3, 1)],), ([(2, 2)] * 3,)]


def _strides_ignored(layers):
    return 1 + sum(k - 1 for k, _ in layers)


def _own_stride(layers):
    field, jump = 1, 1
    for k, s in layers:
        jump *= s
        field += (k - 1) * jump
    return field


def _previous_stride_only(layers):
    field, before = 1, 1
    for k, s in layers:
        field += (k - 1) * before
        before = s
    return field


def _backward_in_forward_order(layers):
    field = 1
    for k, s in layers:
        field = (field - 1) * s + k
    return field


_FIELD_MISTAKES = [
    (_strides_ignored, "the strides are ignored: after a layer with stride 2, neighbouring units are 2 input "
                       "pixels apart, so every later window spans twice as many pixels."),
    (_own_stride, "a layer's own stride does not widen its own window: multiply the jump by the stride "
                  "after adding that layer's (kernel - 1) * jump."),
    (_previous_stride_only, "the jump is the product of the strides of all the layers before, not the "
                            "stride of the one just before."),
    (_backward_in_forward_order, "r = (r - 1) * stride + kernel walks backwards: it must start at the last "
                                 "layer and go down to the first (reverse the list), or walk forwards with a jump."),
    (lambda layers: _field(layers) - 1, "one short: a single 3x3 layer sees 3 pixels (start from a field of 1)."),
    (lambda layers: _field(layers) ** 2, "give the side of the square window, not its area."),
]

_field_problem = FunctionProblem(
    "my_receptive_field", "my_receptive_field(layers), layers a list of (kernel, stride) pairs, returning an int",
    _FIELD_CASES, _field, mistakes=_FIELD_MISTAKES,
    otherwise="{call} returned {got!r}, which is wrong ({wrong} of {total} stacks). Keep two numbers while "
              "walking up the list: the field and the jump (the input distance between neighbouring units).")


def _check_field(fn):
    problem = expect_callable(fn, _field_problem.signature)
    if problem:
        return problem
    if calls(fn, _package_field()):
        return ("my_receptive_field calls cnncourse.ops.receptive_field: write the loop yourself "
                "(the checker compares your function with that one).")
    # a fresh copy of every stack for each call: a function that pops from its list must not spoil the cases
    return _field_problem(lambda layers: fn(copy.deepcopy(layers)))


def _package_field():
    from cnncourse.ops import receptive_field

    return receptive_field


q1 = Exercise(
    "07.1",
    "Write my_receptive_field(layers): layers is a list of (kernel, stride) pairs, the convolutions and "
    "poolings of a stack from first to last; return the side of the input window that one unit of the last "
    "layer sees. Do not call cnncourse.ops.receptive_field (the checker compares with it). Then use it on "
    "VGG-16's layers up to block3_conv3, and up to block5_pool.",
    _check_field,
    hint="Walk up the list keeping the field r (start 1) and the jump j, the distance in input pixels between "
         "two neighbouring units of the current layer (start 1). A layer adds (kernel - 1) * j to r; then its "
         "stride multiplies j.",
    solution=r"""def my_receptive_field(layers):
    field, jump = 1, 1
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
    return field

vgg16_trunk = []
for n_convs in (2, 2, 3, 3, 3):
    vgg16_trunk += [(3, 1)] * n_convs + [(2, 2)]
print("block3_conv3 sees", my_receptive_field(vgg16_trunk[:9]), "pixels;",
      "block5_pool sees", my_receptive_field(vgg16_trunk), "of the 224")""",
    expects="a function my_receptive_field(layers) returning an int",
    level=2,
)


# --------------------------------------------------------------------------- 07.2 VGG block

@functools.lru_cache(maxsize=1)
def _vgg_blocks():
    """``[(input shape, filters, n_convs, output shape, parameters, block name)]`` of VGG-16's five blocks,
    read from ``cnncourse.models.vgg16`` built on 32x32 inputs (the blocks do not depend on the input side)."""
    from cnncourse.models import vgg16
    from cnncourse.models.vgg import CONVS, WIDTHS

    model = vgg16(input_shape=(32, 32, 3), num_classes=2, dropout=0.0)
    blocks, shape = [], (32, 32, 3)
    for b, (filters, n_convs) in enumerate(zip(WIDTHS, CONVS), start=1):
        mine = [layer for layer in model.layers if layer.name.startswith(f"block{b}_")]
        out = tuple(model.get_layer(f"block{b}_pool").output.shape[1:])
        blocks.append((shape, filters, n_convs, out, sum(layer.count_params() for layer in mine), f"block{b}"))
        shape = out
    return blocks


def _leaves(model):
    import keras

    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        out.extend(_leaves(layer) if isinstance(layer, keras.Model) else [layer])
    return out


def _is_relu(layer):
    import keras

    if isinstance(layer, keras.layers.ReLU):
        return True
    return isinstance(layer, keras.layers.Activation) and getattr(layer.activation, "__name__", "") == "relu"


def _block_problem(layers, call, filters, n_convs):
    import keras

    convs = [layer for layer in layers if isinstance(layer, keras.layers.Conv2D)]
    pools = [layer for layer in layers if isinstance(layer, keras.layers.Layer) and "Pooling" in type(layer).__name__]
    others = [layer for layer in layers if layer not in convs and layer not in pools and not _is_relu(layer)]
    if len(convs) != n_convs:
        return f"{call} has {len(convs)} convolution(s); a block has n_convs of them (use the argument)."
    for conv in convs:
        if tuple(conv.kernel_size) != (3, 3):
            return (f"{call}: convolution {conv.name!r} has a {conv.kernel_size[0]}x{conv.kernel_size[1]} kernel; "
                    "VGG uses only 3x3.")
        if conv.padding != "same":
            return (f"{call}: convolution {conv.name!r} has padding {conv.padding!r}, which shrinks the map by 2 "
                    "pixels per layer; VGG keeps the side through a block (padding='same').")
        if tuple(conv.strides) != (1, 1):
            return f"{call}: convolution {conv.name!r} moves by {conv.strides}; VGG's convolutions move by 1."
        if conv.filters != filters:
            return f"{call}: convolution {conv.name!r} has {conv.filters} filters; each should have `filters`."
        if not conv.use_bias:
            return f"{call}: convolution {conv.name!r} has no bias; VGG's convolutions have one per filter."
        after = layers[layers.index(conv) + 1] if layers.index(conv) + 1 < len(layers) else None
        if getattr(conv.activation, "__name__", "") != "relu" and not _is_relu(after):
            return (f"{call}: convolution {conv.name!r} has no ReLU after it: without one, the stacked 3x3 "
                    "layers collapse into a single linear filter (activation='relu').")
    if others:
        return (f"{call} has layer(s) VGG-16's block does not have: {', '.join(type(o).__name__ for o in others)}. "
                "Only 3x3 convolutions with ReLU, then one max pooling.")
    if not pools:
        return (f"{call} has no pooling: a VGG block ends with a 2x2 max pooling of stride 2, which halves the map "
                "(the next block doubles the filters).")
    if len(pools) > 1:
        return f"{call} has {len(pools)} poolings; a block has one, at its end."
    pool = pools[0]
    if not isinstance(pool, keras.layers.MaxPooling2D):
        return f"{call} pools with {type(pool).__name__}; VGG takes the maximum (MaxPooling2D)."
    if tuple(pool.pool_size) != (2, 2) or tuple(pool.strides) != (2, 2):
        return (f"{call} pools {pool.pool_size[0]}x{pool.pool_size[1]} windows with stride {pool.strides[0]}; "
                "VGG's pooling is 2x2 with stride 2 (AlexNet's was 3x3, overlapping).")
    if layers.index(pool) < layers.index(convs[-1]):
        return f"{call} pools before its last convolution; the pooling closes the block."
    return None


def _check_block(fn):
    import keras

    problem = expect_callable(fn, "vgg_block(x, filters, n_convs) returning the block's output tensor")
    if problem:
        return problem
    for in_shape, filters, n_convs, out_shape, params, name in _vgg_blocks():
        x = keras.Input(in_shape)
        call = f"vgg_block(x of shape {in_shape}, {filters}, {n_convs})"
        got, problem = try_call(fn, (x, filters, n_convs), call)
        if problem:
            return problem
        if got is x:
            return f"{call} returned x itself: apply the layers to it (x = layer(x)) and return the last output."
        if not isinstance(got, keras.KerasTensor):
            kind = ("a layer or model: call it on x and return what it returns"
                    if isinstance(got, keras.layers.Layer) else "not a tensor")
            return (f"{call} returned {type(got).__name__} ({kind}). With the functional API a block takes "
                    "the tensor x and returns the tensor its last layer outputs.")
        try:
            block = keras.Model(x, got)
        except Exception:
            return (f"{call} returned a tensor that does not come from x: apply the layers to x rather than "
                    "to a keras.Input of its own.")
        problem = _block_problem(_leaves(block), call, filters, n_convs)
        if problem:
            return problem
        got_shape = tuple(block.output.shape[1:])
        if got_shape != out_shape:
            return f"{call} outputs shape {got_shape}, not the shape of VGG-16's {name} for that input."
        if block.count_params() != params:
            return (f"{call} has {block.count_params():,} parameters, not as many as VGG-16's {name}: compare "
                    "its layers with the statement.")
    return None


q2 = Exercise(
    "07.2",
    "Write vgg_block(x, filters, n_convs) with the functional API: x is a Keras tensor (batch, h, w, c); apply "
    "n_convs 3x3 convolutions with `filters` filters (stride 1, 'same' padding, ReLU), then a 2x2 max pooling "
    "of stride 2, and return the output tensor. Five blocks (64, 2), (128, 2), (256, 3), (512, 3), (512, 3) "
    "make VGG-16's convolutional part: the checker builds them on VGG-16's shapes and compares each with "
    "cnncourse.models.vgg16. Then stack them on a 224x224x3 input.",
    _check_block,
    hint="for _ in range(n_convs): x = layers.Conv2D(...)(x), then return layers.MaxPooling2D(...)(x). "
         "keras.Model(inputs, x).summary() shows what you built.",
    solution=r"""from keras import layers

def vgg_block(x, filters, n_convs):
    for _ in range(n_convs):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return layers.MaxPooling2D(2, strides=2)(x)

inputs = keras.Input((224, 224, 3))
x = inputs
for filters, n_convs in [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]:
    x = vgg_block(x, filters, n_convs)
trunk = keras.Model(inputs, x)
conv_part = sum(n for name, n in params.items() if name.startswith("block"))
print(f"five blocks: output {tuple(trunk.output.shape[1:])}, {trunk.count_params():,} parameters "
      f"(VGG-16's convolutions: {conv_part:,})")""",
    expects="a function vgg_block(x, filters, n_convs) returning a Keras tensor",
    level=2,
)


# --------------------------------------------------------------------------- 07.3 global pooling

_GAP = 512 * 4096 + 4096      # 2,101,248


_check_gap = ValueProblem("fc1_after_gap", _GAP, [
    (512 * 4096, "the weights are right; the 4096 units also have a bias each."),
    (7 * 7 * 512 * 4096 + 4096,
     "that is fc1 after Flatten; global average pooling first averages each of the 512 maps to one number."),
    (7 * 7 * 4096 + 4096, "global pooling removes the 7x7 positions, not the 512 channels."),
    (512 + 4096, "a Dense layer has a weight for every (input, unit) pair."),
], otherwise="{value:,} is not it. After GlobalAveragePooling2D the vector has one number per channel of "
             "block5_pool; count fc1's weights and biases on that.")


q3 = Exercise(
    "07.3",
    "Most of VGG-16's parameters sit in fc1 because Flatten hands it 7x7x512 numbers. Later networks "
    "(GoogLeNet, ResNet) put GlobalAveragePooling2D there instead. How many parameters would fc1 "
    "(4096 units) have then? Give fc1_after_gap as an int.",
    _check_gap,
    hint="GlobalAveragePooling2D turns a (7, 7, 512) map into a vector: how long is it?",
    solution=r"""fc1_after_gap = 512 * 4096 + 4096
print(f"{fc1_after_gap:,} ({params['fc1'] / fc1_after_gap:.0f} times fewer)")""",
    expects="an int",
    level=1,
)


# --------------------------------------------------------------------------- 07.4 a VGG of your own

SMALL_VGG_MAX_PARAMS = 1_000_000


def _check_small_vgg(model):
    import keras

    if not isinstance(model, keras.Model):
        return f"small_vgg should be a Keras model, got {type(model).__name__} {model!r:.60}."
    try:
        if len(model.inputs) != 1 or len(model.outputs) != 1:
            raise ValueError("several inputs or outputs")
        in_shape, out_shape = tuple(model.inputs[0].shape), tuple(model.outputs[0].shape)
    except (AttributeError, ValueError, TypeError):
        return "small_vgg has no single input and output: build it from keras.Input((32, 32, 3))."
    if in_shape != (None, 32, 32, 3):
        return f"small_vgg's input has shape {in_shape[1:]}; expected (32, 32, 3)."
    if out_shape != (None, 10):
        return f"small_vgg's output has shape {out_shape[1:]}; expected 10 class probabilities."
    flat = _leaves(model)
    convs = [layer for layer in flat if isinstance(layer, keras.layers.Conv2D)]
    for conv in convs:
        if tuple(conv.kernel_size) != (3, 3) or tuple(conv.strides) != (1, 1) or conv.padding != "same":
            return (f"convolution {conv.name!r} is {conv.kernel_size[0]}x{conv.kernel_size[1]}, stride "
                    f"{conv.strides[0]}, padding {conv.padding!r}; VGG's rule is 3x3, stride 1, 'same'.")
        after = flat[flat.index(conv) + 1] if flat.index(conv) + 1 < len(flat) else None
        after2 = flat[flat.index(conv) + 2] if flat.index(conv) + 2 < len(flat) else None
        relu_follows = _is_relu(after) or (isinstance(after, keras.layers.BatchNormalization) and _is_relu(after2))
        if getattr(conv.activation, "__name__", "") != "relu" and not relu_follows:
            return f"convolution {conv.name!r} has no ReLU after it."
    pools = [layer for layer in flat if "Pooling2D" in type(layer).__name__ and "Global" not in type(layer).__name__]
    for pool in pools:
        if not isinstance(pool, keras.layers.MaxPooling2D) or tuple(pool.pool_size) != (2, 2) \
                or tuple(pool.strides) != (2, 2):
            return (f"{pool.name!r} is a {type(pool).__name__} of {pool.pool_size[0]}x{pool.pool_size[1]} with stride "
                    f"{pool.strides[0]}; VGG's blocks end with a 2x2 max pooling of stride 2.")
    # blocks: the convolutions between two poolings
    blocks, current = [], []
    for layer in flat:
        if layer in convs:
            current.append(layer)
        elif layer in pools:
            if not current:
                return f"{layer.name!r} follows another pooling: every block has at least one convolution."
            blocks.append(current)
            current = []
    if current:
        return ("the last convolution(s) are not followed by a pooling: end every block with one "
                "(then the classifier).")
    if len(blocks) < 3:
        return f"small_vgg has {len(blocks)} block(s) (convolutions then a pooling); it needs at least 3."
    for b, block in enumerate(blocks, start=1):
        widths = {conv.filters for conv in block}
        if len(widths) != 1:
            return f"block {b} mixes convolutions of {sorted(widths)} filters; within a block they are all alike."
    widths = [block[0].filters for block in blocks]
    for b in range(1, len(widths)):
        if widths[b] != 2 * widths[b - 1]:
            return (f"the blocks have {widths} filters: VGG doubles the filters from one block to the next, "
                    "as the pooling halves the map.")
    n = model.count_params()
    if n > SMALL_VGG_MAX_PARAMS:
        return (f"small_vgg has {n:,} parameters; keep it at {SMALL_VGG_MAX_PARAMS:,} or fewer (fewer filters, "
                "a smaller classifier, or global average pooling instead of Flatten).")
    import numpy as np

    x = np.random.default_rng(0).random((2, 32, 32, 3)).astype("float32")
    probs = keras.ops.convert_to_numpy(model(x, training=False)).astype("float64")
    if not np.allclose(probs.sum(axis=1), 1.0, atol=1e-2) or (probs < 0).any():
        return "the outputs are not probabilities: end with a 10-unit Dense layer with a softmax."
    return None


q4 = Exercise(
    "07.4",
    "Build small_vgg, an untrained Keras model for CIFAR-10 (32x32x3 in, 10 probabilities out) that follows "
    "VGG's rules: at least three blocks, each of 3x3 convolutions (stride 1, 'same', ReLU; batch normalization "
    "allowed) ending in a 2x2 max pooling of stride 2, the filters doubling from block to block, then a classifier "
    "with a softmax; at most 1,000,000 parameters.",
    _check_small_vgg,
    hint="vgg_block(x, 32, 2), vgg_block(x, 64, 2), vgg_block(x, 128, 2), then GlobalAveragePooling2D (or Flatten) "
         "and Dense(10, activation='softmax'); model.count_params() tells you when you are under the limit.",
    solution=r"""inputs = keras.Input((32, 32, 3))
x = inputs
for filters in (32, 64, 128):
    x = vgg_block(x, filters, 2)
x = keras.layers.GlobalAveragePooling2D()(x)
outputs = keras.layers.Dense(10, activation="softmax", dtype="float32")(x)
small_vgg = keras.Model(inputs, outputs, name="small_vgg")
print(f"{small_vgg.count_params():,} parameters, {count_macs(small_vgg) / 1e6:.0f} million multiply-adds per image "
      f"(vgg7_cifar: {model.count_params():,} and {count_macs(model) / 1e6:.0f} million)")""",
    expects="a Keras model with input (32, 32, 3) and 10 outputs",
    level=2,
)
