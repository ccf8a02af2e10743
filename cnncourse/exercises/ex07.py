"""Exercises of notebook 07, *VGG-16*: stacks of 3x3 convolutions, receptive fields, where parameters sit.

In the notebook::

    from cnncourse.exercises import ex07 as ex
    ex.q1.check(stack_params)       # a function (n_layers, kernel, channels) -> int
    ex.q2.check(stack_field)        # a function (n_layers) -> int
    ex.q3.check(field_block3)       # an int
    ex.q4.check(fc1_after_gap)      # an int

Each checker returns ``None`` when the answer is right, or a message saying what is
wrong without giving the answer away.

>>> q2.evaluate(lambda n: 3 * n)[1]  # doctest: +ELLIPSIS
'...overlap...'
"""
from __future__ import annotations

from cnncourse.exercises import Exercise, FunctionProblem, ValueProblem

__all__ = ["q1", "q2", "q3", "q4"]


# --------------------------------------------------------------------------- 07.1 stack params

_STACK_CASES = [(2, 3, 256), (1, 5, 256), (3, 3, 64), (1, 7, 64), (1, 3, 1), (4, 3, 10)]

_STACK_MISTAKES = [
    (lambda n, k, c: n * k * k * c * c, "the weights are right; each filter of each layer also has a bias."),
    (lambda n, k, c: k * k * c * c + c, "that is one layer; the stack has n_layers of them."),
    (lambda n, k, c: n * (k * c * c + c), "a kernel is k x k: it has k * k weights per input channel."),
    (lambda n, k, c: n * (k * k * c + c), "each of the `channels` filters looks at all `channels` input channels."),
    (lambda n, k, c: n * (k * k * c * c + 1), "one bias per filter, and there are `channels` filters."),
]


_check_stack = FunctionProblem(
    "stack_params", "stack_params(n_layers, kernel, channels)", _STACK_CASES, lambda n, k, c: n * (k * k * c * c + c),
    mistakes=_STACK_MISTAKES,
    otherwise="{call} is wrong. Build that stack in Keras (Conv2D(channels, kernel, padding='same') "
              "n_layers times on a (8, 8, channels) input) and compare with count_params().")


q1 = Exercise(
    "07.1",
    "Write stack_params(n_layers, kernel, channels): the parameters (biases included) of n_layers "
    "stacked kernel x kernel convolutions, each with `channels` input and `channels` output channels. "
    "Then compare two 3x3 with one 5x5, and three 3x3 with one 7x7, for 256 channels.",
    _check_stack,
    hint="One layer: every filter has kernel*kernel weights for each input channel and one bias; "
         "there are `channels` filters. The layers of the stack are alike.",
    solution=r"""def stack_params(n_layers, kernel, channels):
    return n_layers * (kernel * kernel * channels * channels + channels)
print(f"{stack_params(2, 3, 256):,} vs {stack_params(1, 5, 256):,}; "
      f"{stack_params(3, 3, 256):,} vs {stack_params(1, 7, 256):,}")""",
    expects="a function stack_params(n_layers, kernel, channels) returning an int",
    level=1,
)


# --------------------------------------------------------------------------- 07.2 receptive field

_FIELD_CASES = [(1,), (2,), (3,), (5,), (10,)]

_FIELD_MISTAKES = [
    (lambda n: 3 * n, "the windows of neighbouring units overlap: each extra layer widens the view by "
                      "2 pixels, not 3."),
    (lambda n: 2 * n, "one short: a single 3x3 layer already sees 3 pixels."),
    (lambda n: 2 * n - 1, "too small: a single 3x3 layer sees 3 pixels, two see 5."),
    (lambda n: 3 ** n, "the field grows by addition, not multiplication, when the stride is 1."),
    (lambda n: (2 * n + 1) ** 2, "give the side of the square window, not its area."),
]


_check_field = FunctionProblem(
    "stack_field", "stack_field(n_layers)", _FIELD_CASES, lambda n: 2 * n + 1, mistakes=_FIELD_MISTAKES,
    otherwise="{call} is wrong. Draw one unit of the last layer and mark, layer by layer going down, "
              "which pixels it depends on.")


q2 = Exercise(
    "07.2",
    "Write stack_field(n_layers): the side of the input window that one unit sees after n_layers "
    "stacked 3x3 convolutions with stride 1.",
    _check_field,
    hint="One 3x3 layer sees 3 pixels. A unit of the second layer sees 3 units of the first, which "
         "overlap: how many pixels do they cover together?",
    solution=r"""def stack_field(n_layers):
    return 2 * n_layers + 1
print([stack_field(n) for n in range(1, 6)])""",
    expects="a function stack_field(n_layers) returning an int",
    level=1,
)


# --------------------------------------------------------------------------- 07.3 VGG block 3

_FIELD_B3 = 40     # conv,conv,pool,conv,conv,pool,conv,conv,conv


_check_block3 = ValueProblem("field_block3", _FIELD_B3, [
    (15, "the poolings are left out: they widen the view too, and double the step of every "
         "layer after them."),
    (17, "the poolings' strides are ignored: after a 2x2 pooling with stride 2, neighbouring units "
         "are 2 input pixels apart (4 after the second), so later 3x3 layers widen the view faster."),
    (44, "block3_pool is not part of it: stop at block3_conv3's output."),
    ((48, 30, 32), "close, but recount: each layer adds (kernel - 1) x (product of the strides of the layers "
                   "before it)."),
], otherwise="{value} is not it. Walk through the nine layers up to block3_conv3 with the formula "
             "r += (kernel - 1) * jump; jump *= stride.")


q3 = Exercise(
    "07.3",
    "How large (side, in input pixels) is the window seen by one unit of VGG-16's block3_conv3 output? "
    "Count the layers up to it: two 3x3 convolutions, a 2x2 pooling with stride 2, two 3x3 "
    "convolutions, a pooling, three 3x3 convolutions. Give field_block3 as an int.",
    _check_block3,
    hint="Keep two numbers while walking up: the field r (start 1) and the jump, the input distance "
         "between two neighbouring units (start 1). A layer adds (kernel - 1) * jump to r; a stride "
         "multiplies the jump.",
    solution=r"""field_block3 = receptive_field([(3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (2, 2), (3, 1), (3, 1), (3, 1)])
print(field_block3)""",
    expects="an int",
    level=1,
)


# --------------------------------------------------------------------------- 07.4 global pooling

_GAP = 512 * 4096 + 4096      # 2,101,248


_check_gap = ValueProblem("fc1_after_gap", _GAP, [
    (512 * 4096, "the weights are right; the 4096 units also have a bias each."),
    (7 * 7 * 512 * 4096 + 4096,
     "that is fc1 after Flatten; global average pooling first averages each of the 512 maps to one number."),
    (7 * 7 * 4096 + 4096, "global pooling removes the 7x7 positions, not the 512 channels."),
    (512 + 4096, "a Dense layer has a weight for every (input, unit) pair."),
], otherwise="{value:,} is not it. After GlobalAveragePooling2D the vector has one number per channel of "
             "block5_pool; count fc1's weights and biases on that.")


q4 = Exercise(
    "07.4",
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
