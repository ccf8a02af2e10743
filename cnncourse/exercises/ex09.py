"""Exercises of notebook 09, *Applications*: box IoU, the background trap, tight boxes, FCN input sizes.

In the notebook::

    from cnncourse.exercises import ex09 as ex
    ex.q1.check(my_box_iou)        # a function (box_a, box_b) -> float
    ex.q2.check(trap_scores)       # a tuple of 3 numbers computed on ex.TRAP_MASK
    ex.q3.check(my_tight_box)      # a function (mask) -> (y_min, x_min, y_max, x_max) or None
    ex.q4.check(valid_sides)       # a set of ints

Boxes are ``(y_min, x_min, y_max, x_max)`` in pixels with the max **exclusive**, as in
:mod:`cnncourse.applications`.

>>> q1.evaluate(lambda a, b: 1.0)[1]  # doctest: +ELLIPSIS
'...'
"""
from __future__ import annotations

import numpy as np

from cnncourse.applications import box_iou, mask_to_box
from cnncourse.exercises import Exercise, FunctionProblem, expect_callable, to_float, try_call

__all__ = ["q1", "q2", "q3", "q4", "TRAP_MASK", "CANDIDATE_SIDES"]


def _sentence(parts):
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


# --------------------------------------------------------------------------- 09.1 box IoU

_IOU_CASES = [
    ((0, 0, 4, 4), (2, 2, 6, 6)),       # partial overlap
    ((0, 0, 4, 4), (0, 0, 4, 4)),       # identical
    ((0, 0, 2, 2), (5, 5, 8, 9)),       # far apart
    ((0, 0, 4, 4), (4, 0, 8, 4)),       # touching edge
    ((1, 1, 9, 9), (3, 3, 5, 5)),       # nested
    ((0, 0, 10, 2), (0, 0, 2, 10)),     # a cross
    ((2, 0, 5, 6), (0, 4, 3, 12)),      # corner overlap, boxes of different shapes
]


def _inclusive(a, b):
    ay0, ax0, ay1, ax1 = a
    by0, bx0, by1, bx1 = b
    ih = max(0, min(ay1, by1) - max(ay0, by0) + 1)
    iw = max(0, min(ax1, bx1) - max(ax0, bx0) + 1)
    inter = ih * iw
    area = lambda z: (z[2] - z[0] + 1) * (z[3] - z[1] + 1)
    return inter / (area(a) + area(b) - inter)


def _no_clamp(a, b):
    ih = min(a[2], b[2]) - max(a[0], b[0])
    iw = min(a[3], b[3]) - max(a[1], b[1])
    inter = ih * iw
    area = lambda z: (z[2] - z[0]) * (z[3] - z[1])
    union = area(a) + area(b) - inter
    return inter / union if union else 0.0


def _union_without_subtracting(a, b):
    area = lambda z: (z[2] - z[0]) * (z[3] - z[1])
    ih = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ih * iw
    return inter / (area(a) + area(b))


def _over_area_a(a, b):
    ih = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return ih * iw / ((a[2] - a[0]) * (a[3] - a[1]))


def _over_min_area(a, b):
    ih = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda z: (z[2] - z[0]) * (z[3] - z[1])
    return ih * iw / min(area(a), area(b))


_IOU_MISTAKES = [
    (_inclusive, "your boxes count the max row/column as inside (a +1 in the sizes); here the max "
                 "is exclusive, like a slice: a box (0, 0, 4, 4) covers 4x4 pixels."),
    (_no_clamp, "boxes that do not overlap must have intersection 0: a negative height or width "
                "has to be clipped at 0 before multiplying."),
    (_union_without_subtracting, "the union counts the overlap twice: area(a) + area(b) includes the "
                                 "intersection once in each."),
    (_over_area_a, "you divide by the area of the first box only; IoU divides by the union of both."),
    (_over_min_area, "you divide by the smaller box's area (that is the 'overlap coefficient'); "
                     "IoU divides by the union."),
]


def _iou_otherwise(call, got, results, **_):
    if any(v < 0 or v > 1 for v in results):
        return f"{call} returned {got:.4g}: an IoU lies between 0 and 1."
    return (f"{call} returned {got:.4g}, which is wrong. Draw the two boxes on "
            "squared paper and count the pixels of their intersection and of their union.")


_IOU = FunctionProblem("my_box_iou", "(box_a, box_b) -> float", _IOU_CASES, box_iou, returns="number",
                       same=lambda got, want: bool(np.isclose(got, want, atol=1e-6)), mistakes=_IOU_MISTAKES,
                       said="{mistake}", otherwise=_iou_otherwise)


def _check_iou(fn):
    problem = _IOU(fn)
    if problem is None:     # right on every case: and with the boxes swapped?
        swapped, problem = _IOU.run(fn, [(b, a) for a, b in _IOU_CASES], _IOU.wants)
        if problem is None and not np.allclose(swapped, _IOU.wants, atol=1e-6):
            return "IoU is symmetric, but my_box_iou(b, a) differs from my_box_iou(a, b) on some boxes."
    return problem


q1 = Exercise(
    key="09.1",
    statement=("Write my_box_iou(box_a, box_b) for boxes (y_min, x_min, y_max, x_max) in pixels, max "
               "exclusive, returning intersection area / union area (0 when they do not overlap)."),
    checker=_check_iou,
    hint=("The intersection is itself a box: its top is the larger of the two tops, its bottom the "
          "smaller of the two bottoms. Its height may come out negative..."),
    solution=(r"""def my_box_iou(a, b):
    ih = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ih * iw
    area = lambda z: (z[2] - z[0]) * (z[3] - z[1])
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0"""),
    expects="a function (box_a, box_b) -> float",
    level=1,
)


# --------------------------------------------------------------------------- 09.2 the background trap

#: A 10x10 segmentation mask: 0 is background, 8 marks the pixels of a digit (class 1 + 7).
TRAP_MASK = np.zeros((10, 10), dtype="int64")
TRAP_MASK[2:8, 4] = 8
TRAP_MASK[2, 3:7] = 8
TRAP_MASK[7, 3:6] = 8

_TRAP_ACC = float((TRAP_MASK == 0).mean())                 # all-background pixel accuracy
_box = mask_to_box(TRAP_MASK > 0)
_box_mask = np.zeros_like(TRAP_MASK, dtype=bool)
_box_mask[_box[0]:_box[2], _box[1]:_box[3]] = True
_TRAP_BOX_IOU = float((_box_mask & (TRAP_MASK > 0)).sum() / (_box_mask | (TRAP_MASK > 0)).sum())
_TRAP_BOX_ACC = float(((TRAP_MASK > 0) == _box_mask).mean())


def _check_trap(answer):
    if isinstance(answer, (str, bytes)) or not hasattr(answer, "__len__") or len(answer) != 3:
        return ("Expected a tuple of 3 numbers: (pixel accuracy of the all-background prediction, "
                "the digit's IoU for that prediction, the digit's IoU when its whole bounding box is "
                "predicted as digit).")
    values = [to_float(v) for v in answer]
    if any(v is None for v in values):
        return "Each of the 3 entries should be a number."
    acc, iou_bg, iou_box = values
    if any(v > 1 for v in values) and all(v <= 100 for v in values):
        return "Give fractions between 0 and 1, not percentages."
    problems = []
    if not np.isclose(acc, _TRAP_ACC, atol=1e-3):
        if np.isclose(acc, 1 - _TRAP_ACC, atol=1e-3):
            problems.append("the pixel accuracy you gave is the share of digit pixels: the lazy model "
                            "is right on every pixel that is background")
        else:
            problems.append("the pixel accuracy is not right: count the pixels whose true class is 0")
    if not np.isclose(iou_bg, 0.0, atol=1e-6):
        if np.isclose(iou_bg, _TRAP_ACC, atol=1e-3):
            problems.append("the second entry is the background class's IoU; the question asks for the "
                            "digit class's IoU (its predicted pixels and true pixels)")
        else:
            problems.append("the digit's IoU of the all-background prediction is not right: how many "
                            "pixels does it predict as digit?")
    if not np.isclose(iou_box, _TRAP_BOX_IOU, atol=1e-3):
        if np.isclose(iou_box, _TRAP_BOX_ACC, atol=1e-3):
            problems.append("the third entry is the box prediction's pixel accuracy, not the digit's IoU")
        elif np.isclose(iou_box, 1.0):
            problems.append("the box prediction also marks the background inside the box as digit, so "
                            "its IoU is below 1")
        else:
            problems.append("the third entry is not right: the prediction is every pixel of the tight "
                            "box (use mask_to_box), the truth is the digit's pixels")
    return None if not problems else _sentence(problems)


q2 = Exercise(
    key="09.2",
    statement=("On ex.TRAP_MASK (0 = background, 8 = digit), compute (a) the pixel accuracy of a model "
               "that predicts background everywhere, (b) that prediction's IoU for the digit class, "
               "(c) the digit's IoU when the model predicts every pixel of the digit's tight bounding "
               "box as digit. Answer (a, b, c) as fractions."),
    checker=_check_trap,
    hint="Pixel accuracy counts right pixels over all pixels; IoU looks only at pixels where the class "
         "is predicted or true.",
    solution=(r"""trap_truth = ex.TRAP_MASK > 0
y0, x0, y1, x1 = apps.mask_to_box(trap_truth)
trap_boxed = np.zeros_like(trap_truth)
trap_boxed[y0:y1, x0:x1] = True
trap_scores = ((ex.TRAP_MASK == 0).mean(), 0.0,
               (trap_boxed & trap_truth).sum() / (trap_boxed | trap_truth).sum())"""),
    expects="a tuple of 3 numbers between 0 and 1",
    level=2,
)


# --------------------------------------------------------------------------- 09.3 tight box

def _tight_cases():
    cases = []
    m = np.zeros((8, 9), bool); m[2:5, 3:7] = True; cases.append(m)
    m = np.zeros((8, 9), bool); m[0, 0] = True; cases.append(m)
    m = np.zeros((8, 9), bool); m[7, 8] = True; m[3, 1] = True; cases.append(m)
    m = np.zeros((8, 9), int); m[1:7, 5] = 4; m[6, 2:6] = 4; cases.append(m)
    m = np.zeros((6, 12), bool); m[1:3, 0:12] = True; cases.append(m)
    return cases


def _check_tight(fn):
    problem = expect_callable(fn, "(mask) -> (y_min, x_min, y_max, x_max) or None")
    if problem:
        return problem
    empty, problem = try_call(fn, (np.zeros((5, 5), bool),), "my_tight_box on an empty mask")
    if problem:
        return problem + "; it should return None."
    got_all = []
    for m in _tight_cases():
        got, problem = try_call(fn, (m.copy(),), "my_tight_box")
        if problem:
            return problem
        try:
            got = tuple(int(v) for v in got)
        except (TypeError, ValueError):
            return f"my_tight_box returned {got!r:.60}; it should return 4 whole numbers (or None when empty)."
        if len(got) != 4:
            return f"my_tight_box returned {len(got)} numbers; a box has 4: (y_min, x_min, y_max, x_max)."
        got_all.append(got)
    right = [mask_to_box(m) for m in _tight_cases()]
    if got_all == right:
        return None if empty is None else "On an empty mask there is no box: return None."
    if all(g == (r[0], r[1], r[2] - 1, r[3] - 1) for g, r in zip(got_all, right)):
        return ("y_max and x_max are one short: here the max is exclusive, like a slice, so "
                "mask[y_min:y_max, x_min:x_max] must hold every true pixel.")
    if all(g == (r[1], r[0], r[3], r[2]) for g, r in zip(got_all, right)):
        return "x and y are swapped: rows (axis 0) are y, columns (axis 1) are x."
    if all(g == (r[0], r[1], r[2] - r[0], r[3] - r[1]) for g, r in zip(got_all, right)):
        return "you returned (y, x, height, width); the course's boxes are (y_min, x_min, y_max, x_max)."
    return ("Some boxes are wrong: the box must hold every non-zero pixel and be as small as possible "
            "(try np.flatnonzero(mask.any(axis=1)))." )


q3 = Exercise(
    key="09.3",
    statement=("Write my_tight_box(mask): the smallest box (y_min, x_min, y_max, x_max), max exclusive, "
               "holding every non-zero pixel of a 2-D mask, or None when the mask is empty. This is how "
               "a segmentation mask gives a box for free."),
    checker=_check_tight,
    hint="mask.any(axis=1) says which rows hold a pixel of the object; the first and last such row "
         "give y_min and y_max - 1.",
    solution=(r"""def my_tight_box(mask):
    rows = np.flatnonzero(np.asarray(mask).any(axis=1))
    cols = np.flatnonzero(np.asarray(mask).any(axis=0))
    if rows.size == 0:
        return None
    return rows[0], cols[0], rows[-1] + 1, cols[-1] + 1"""),
    expects="a function (mask) -> 4 ints or None",
    level=1,
)


# --------------------------------------------------------------------------- 09.4 FCN input sides

#: Canvas sides offered in 09.4.
CANDIDATE_SIDES = (40, 50, 60, 64, 72, 84, 100, 120)
_VALID = {s for s in CANDIDATE_SIDES if s % 8 == 0}


def _check_sides(answer):
    if isinstance(answer, (str, bytes)) or not hasattr(answer, "__iter__"):
        return f"Expected a set of whole numbers taken from ex.CANDIDATE_SIDES {CANDIDATE_SIDES}."
    try:
        chosen = {int(v) for v in answer if not isinstance(v, bool) and float(v) == int(v)}
        if len(chosen) != len(set(answer)):
            raise ValueError
    except (TypeError, ValueError):
        return f"Expected a set of whole numbers taken from ex.CANDIDATE_SIDES {CANDIDATE_SIDES}."
    strangers = chosen - set(CANDIDATE_SIDES)
    if strangers:
        return f"{sorted(strangers)} are not among ex.CANDIDATE_SIDES; choose from {CANDIDATE_SIDES}."
    if chosen == _VALID:
        return None
    by4 = {s for s in CANDIDATE_SIDES if s % 4 == 0}
    if chosen == by4:
        return ("Count the poolings again: the network halves the size three times before it doubles "
                "it back three times.")
    if chosen == set(CANDIDATE_SIDES):
        return ("Not every size works: a pooling rounds an odd side down, and the upsampled map then no "
                "longer matches the skip connection it is concatenated with.")
    missing, extra = _VALID - chosen, chosen - _VALID
    parts = []
    if extra:
        parts.append(f"{len(extra)} of your sides fail: follow one of them through the three poolings "
                     "and the three upsamplings")
    if missing:
        parts.append(f"{len(missing)} side(s) that work are missing")
    return _sentence(parts)


q4 = Exercise(
    key="09.4",
    statement=("The segmentation network has no Dense layer, so it takes canvases of other sizes. Which "
               "square sides in ex.CANDIDATE_SIDES can it take without a shape error at a skip "
               "connection? Answer a set of ints (check your answer by running `segmenter` on zeros)."),
    checker=_check_sides,
    hint="MaxPooling2D(2) turns a side s into s // 2; Conv2DTranspose(stride 2) doubles it. The "
         "concatenation needs both sides equal at every level.",
    solution=r"""valid_sides = set()
for side in ex.CANDIDATE_SIDES:
    try:
        segmenter(np.zeros((1, side, side, 1), "float32"))
        valid_sides.add(side)
    except Exception:
        pass""",
    expects="a set of ints",
    level=2,
)
