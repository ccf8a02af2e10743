"""Exercises of notebook 09, *Applications*: the background trap, tight boxes, FCN input sizes, NMS, AP.

In the notebook::

    from cnncourse.exercises import ex09 as ex
    ex.q1.check(trap_scores)            # a tuple of 3 numbers computed on ex.TRAP_MASK
    ex.q2.check(my_tight_box)           # a function (mask) -> (y_min, x_min, y_max, x_max) or None
    ex.q3.check(valid_sides)            # a set of ints
    ex.q4.check(my_nms)                 # a function (boxes, scores, iou_threshold) -> list of indices
    ex.q5.check(my_average_precision)   # a function (scores, is_true_positive, n_ground_truth) -> float

Boxes are ``(y_min, x_min, y_max, x_max)`` in pixels with the max **exclusive**, as in
:mod:`cnncourse.applications`. The references of 09.4 and 09.5 are the course's
:func:`cnncourse.applications.nms` and :func:`cnncourse.applications.average_precision`, which the
notebook's lesson uses; the exercises ask the student to write them, so a function that calls them
is refused.

>>> from cnncourse import applications as apps
>>> q4.evaluate(lambda boxes, scores, t: [int(i) for i in np.argsort(-np.asarray(scores), kind="stable")])[0]
False
>>> q4.evaluate(apps.nms)[1].startswith("my_nms calls apps.nms")
True
"""
from __future__ import annotations

import numpy as np

from cnncourse import applications as _applications
from cnncourse.applications import average_precision, mask_to_box, nms
from cnncourse.exercises import Exercise, calls, expect_callable, to_float, try_call

__all__ = ["q1", "q2", "q3", "q4", "q5", "TRAP_MASK", "CANDIDATE_SIDES"]


def _calls_course(fn, name):
    """Whether ``fn`` is, or calls by name, ``cnncourse.applications.<name>`` (the exercise's reference)."""
    return calls(fn, getattr(_applications, name))


def _sentence(parts):
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + "."


# --------------------------------------------------------------------------- 09.1 the background trap

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


q1 = Exercise(
    key="09.1",
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


# --------------------------------------------------------------------------- 09.2 tight box

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


q2 = Exercise(
    key="09.2",
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


# --------------------------------------------------------------------------- 09.3 FCN input sides

#: Canvas sides offered in 09.3.
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


q3 = Exercise(
    key="09.3",
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


# --------------------------------------------------------------------------- 09.4 non-maximum suppression

def _as_boxes(boxes):
    return np.asarray(boxes, dtype="float64").reshape(-1, 4)


def _overlap(a, b, kind="iou"):
    ih = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ih * iw
    area = lambda z: (z[2] - z[0]) * (z[3] - z[1])
    if kind == "smaller":
        return inter / min(area(a), area(b))
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


def _nms(boxes, scores, iou_threshold, *, order="score", against="kept", suppress=np.greater, kind="iou",
         ties="first", report="indices"):
    """Greedy NMS (the reference) and its typical variants (the mistakes of 09.4).

    ``order``: "score" (descending), "index" (as given) or "ascending"; ``against``: "kept" (the boxes kept so
    far) or "all" (every box of higher score, kept or not); ``suppress(iou, threshold)``: when a box goes;
    ``ties``: "first" (lower index first among equal scores) or "last"; ``report``: "indices", "positions"
    (positions in the sorted order) or "sorted" (the kept indices in increasing order).
    """
    boxes, scores = _as_boxes(boxes), np.asarray(scores, dtype="float64").reshape(-1)
    n = len(scores)
    if order == "index":
        ranking = list(range(n))
    else:
        key = -scores if order == "score" else scores
        ranking = list(np.lexsort((np.arange(n) if ties == "first" else -np.arange(n), key)))
    keep = []
    for pos, i in enumerate(ranking):
        rivals = keep if against == "kept" else ranking[:pos]
        if not any(suppress(_overlap(boxes[i], boxes[k], kind), iou_threshold) for k in rivals):
            keep.append(int(i))
    if report == "positions":
        return [ranking.index(i) for i in keep]
    return sorted(keep) if report == "sorted" else keep


def _case(boxes, scores, threshold):
    return np.array(boxes, dtype="float64").reshape(-1, 4), np.array(scores, dtype="float64"), threshold


_NMS_CASES = [
    # a chain: 1 suppresses 2, 2 would suppress 0, but 2 is gone; the indices are not in score order
    _case([(0, 8, 10, 18), (0, 0, 10, 10), (0, 4, 10, 14)], [0.7, 0.9, 0.8], 0.3),
    # IoU exactly at the threshold (8 / 16 = 0.5) stays; a far box in between
    _case([(0, 0, 4, 4), (0, 0, 4, 2), (10, 10, 12, 12)], [0.6, 0.9, 0.8], 0.5),
    # equal scores: the lower index goes first, and it suppresses the other
    _case([(0, 0, 10, 10), (0, 1, 10, 11), (20, 20, 25, 25)], [0.7, 0.7, 0.4], 0.5),
    # a small box inside a big one: IoU 25 / 400, far below the threshold, although it lies entirely inside
    _case([(0, 0, 20, 20), (5, 5, 10, 10), (30, 0, 34, 4), (31, 0, 35, 4)], [0.6, 0.9, 0.5, 0.55], 0.5),
    # a crowd of boxes around two objects
    _case([(2, 2, 12, 12), (3, 2, 13, 12), (2, 3, 12, 14), (20, 20, 30, 28), (21, 19, 31, 29),
           (0, 0, 12, 12), (22, 22, 30, 30), (40, 40, 44, 44)],
          [0.55, 0.92, 0.61, 0.88, 0.47, 0.33, 0.71, 0.2], 0.45),
    _case([(1, 1, 5, 5)], [0.3], 0.5),                       # one box
    _case(np.zeros((0, 4)), [], 0.5),                         # no boxes
]
_NMS_RIGHT = [nms(*case) for case in _NMS_CASES]
_NMS_MISTAKES = [(variant, message, [_nms(*case, **variant) for case in _NMS_CASES]) for variant, message in [
    (dict(order="index"), "the boxes are taken in the order given, not by decreasing score: NMS visits the "
                          "highest-scoring box first."),
    (dict(order="ascending"), "the boxes are taken by *increasing* score: the highest score must go first."),
    (dict(report="sorted"), "the right boxes, but the indices are sorted by index; return them in decreasing "
                            "score order (the order in which NMS keeps them)."),
    (dict(report="positions"), "those are positions in the score-sorted order; return the indices of the boxes "
                               "in the arrays given (order[k], not k)."),
    (dict(suppress=np.greater_equal), "a box whose IoU is exactly the threshold is suppressed; the rule is IoU "
                                      "> iou_threshold (strictly greater)."),
    (dict(against="all"), "a box was suppressed by a box that had itself been suppressed: compare each box with "
                          "the boxes *kept* so far only."),
    (dict(kind="smaller"), "the overlap is measured as intersection / smaller area: a small box inside a big "
                           "one is suppressed, though their IoU is small. Use IoU."),
    (dict(ties="last"), "with equal scores the higher index went first (np.argsort(scores)[::-1] reverses ties); "
                        "the statement asks lower index first: np.argsort(-scores, kind='stable')."),
    (dict(suppress=np.less_equal), "you kept the boxes that overlap and suppressed those that do not: a box goes "
                                   "when its IoU with a kept box is *greater* than the threshold."),
]]


def _nms_label(case):
    return f"my_nms(<{len(case[1])} boxes>, scores, iou_threshold={case[2]})"


def _read_indices(got, call, n):
    """``(list of ints, None)`` or ``(None, message)``."""
    if got is None:
        return None, f"{call} returned None; it should return a list of indices (an empty list when nothing is kept)."
    if isinstance(got, (str, bytes, dict, set)):
        return None, f"{call} returned a {type(got).__name__}; it should return a list of indices, in order."
    try:
        arr = np.asarray(got)
    except Exception:
        return None, f"{call} returned {type(got).__name__}; it should return a list of indices."
    if arr.dtype == bool and arr.ndim == 1 and len(arr) == n and n > 0:
        return None, (f"{call} returned a mask of {n} booleans; return the *indices* of the kept boxes, in "
                      "decreasing score order (np.flatnonzero loses that order).")
    if arr.ndim == 2 and arr.shape[1:] == (4,):
        return None, f"{call} returned the kept boxes themselves; return their indices (a list of ints)."
    if arr.ndim != 1 and arr.size > 0:
        return None, f"{call} returned an array of shape {arr.shape}; it should return a flat list of indices."
    values = arr.reshape(-1)
    if values.size and (values.dtype.kind not in "iuf" or np.any(values != np.round(values))):
        return None, f"{call} returned {got!r:.60}; it should return whole numbers (indices of boxes)."
    values = [int(v) for v in values]
    if any(v < 0 or v >= n for v in values):
        return None, f"{call} returned {values}: an index is not one of the {n} boxes (0 to {n - 1})."
    if len(set(values)) != len(values):
        return None, f"{call} returned {values}: a box is kept twice."
    return values, None


def _check_nms(fn):
    problem = expect_callable(fn, "my_nms(boxes, scores, iou_threshold) -> list of indices")
    if problem:
        return problem
    if _calls_course(fn, "nms"):
        return ("my_nms calls apps.nms, the course's own NMS that the notebook uses: the point is to write "
                "it yourself (apps.box_iou is allowed).")
    results = []
    for case in _NMS_CASES:
        call = _nms_label(case)
        boxes, scores = case[0].copy(), case[1].copy()
        got, problem = try_call(fn, (boxes, scores, case[2]), call)
        if problem:
            return problem + (" With no boxes it should return an empty list." if len(scores) == 0 else "")
        if not (np.array_equal(boxes, case[0]) and np.array_equal(scores, case[1])):
            return f"{call} changed the boxes or the scores it was given: work on copies."
        values, problem = _read_indices(got, call, len(scores))
        if problem:
            return problem
        results.append(values)
    wrong = [k for k, (got, want) in enumerate(zip(results, _NMS_RIGHT)) if got != want]
    if not wrong:
        return None
    call = f"{_nms_label(_NMS_CASES[wrong[0]])} returned {results[wrong[0]]}"
    for _, message, values in _NMS_MISTAKES:
        if all(got == v for got, v in zip(results, values)):
            return f"{call}: {message}"
    k = wrong[0]
    got, want = results[k], _NMS_RIGHT[k]
    if set(got) == set(want):
        return f"{call}: the right boxes in the wrong order; return them in decreasing score order."
    if set(want) < set(got):
        return f"{call}: a box that overlaps a higher-scoring kept box by more than the threshold was kept."
    if set(got) < set(want):
        return f"{call}: a box was suppressed that no kept box overlaps by more than the threshold."
    return (f"{call}, which is not what greedy NMS keeps: visit the boxes by decreasing score, keep a box unless "
            "its IoU with a box already kept is greater than iou_threshold.")


q4 = Exercise(
    key="09.4",
    statement=("Write my_nms(boxes, scores, iou_threshold): boxes is an (n, 4) array of (y_min, x_min, y_max, x_max), "
               "scores an (n,) array. Visit the boxes by decreasing score (equal scores: lower index first); keep a "
               "box unless its IoU with a box kept before it is greater than iou_threshold. Return the list of the "
               "kept boxes' indices, in the order they were kept (an empty list for no boxes). Write it yourself: "
               "do not call apps.nms (apps.box_iou is allowed)."),
    checker=_check_nms,
    hint=("order = np.argsort(-scores, kind='stable') gives the visiting order; keep a list `kept`, and for each "
          "index in order test apps.box_iou(boxes[i], boxes[k]) against every k already in `kept`."),
    solution=r"""def my_nms(boxes, scores, iou_threshold):
    kept = []
    for i in np.argsort(-np.asarray(scores), kind="stable"):
        if all(apps.box_iou(boxes[i], boxes[k]) <= iou_threshold for k in kept):
            kept.append(int(i))
    return kept

# three boxes on one digit and one elsewhere: NMS keeps one box per object
nms_boxes = np.array([(10, 10, 30, 28), (11, 9, 31, 29), (9, 11, 29, 30), (40, 40, 60, 58)])
nms_scores = np.array([0.81, 0.93, 0.64, 0.77])
print("kept:", my_nms(nms_boxes, nms_scores, 0.5))""",
    expects="a function my_nms(boxes, scores, iou_threshold) -> list of indices",
    level=2,
)


# --------------------------------------------------------------------------- 09.5 average precision

def _average_precision(scores, is_true_positive, n_ground_truth, *, sort="descending", envelope=True,
                       recall_over="ground_truth", points="all"):
    """All-point interpolated AP (the reference) and its typical variants (the mistakes of 09.5)."""
    scores = np.asarray(scores, dtype="float64").reshape(-1)
    tp = np.asarray(is_true_positive, dtype="float64").reshape(-1)
    if sort != "none":
        order = np.argsort(-scores if sort == "descending" else scores, kind="stable")
        tp = tp[order]
    if len(tp) == 0:
        return 0.0
    hits = np.cumsum(tp)
    precision = hits / np.arange(1, len(tp) + 1)
    total = {"ground_truth": n_ground_truth, "detections": len(tp), "hits": max(hits[-1], 1.0)}[recall_over]
    recall = hits / total
    if envelope:
        precision = np.maximum.accumulate(precision[::-1])[::-1]
    if points == "11":
        return float(np.mean([precision[recall >= r].max() if np.any(recall >= r) else 0.0
                              for r in np.linspace(0, 1, 11)]))
    steps = np.diff(np.concatenate([[0.0], recall]))
    return float(np.sum(steps * precision))


_AP_CASES = [
    ([0.9, 0.8, 0.7, 0.6, 0.5], [True, False, True, True, False], 4),
    ([0.3, 0.95, 0.6, 0.8, 0.1, 0.7], [True, True, False, False, True, True], 5),
    ([0.91, 0.85, 0.8, 0.62, 0.6, 0.55, 0.5, 0.41, 0.33, 0.3, 0.22, 0.1],
     [True, False, False, True, True, False, True, False, False, True, False, True], 8),
    ([0.2, 0.7, 0.4, 0.9, 0.55], [False, True, False, True, True], 3),
    ([0.5, 0.4], [False, False], 2),
    ([0.9, 0.8], [True, True], 2),
    ([], [], 3),
]
_AP_RIGHT = [average_precision(*case) for case in _AP_CASES]
_AP_MISTAKES = [(message, [_average_precision(*case, **variant) for case in _AP_CASES]) for variant, message in [
    (dict(envelope=False), "no interpolation: each precision must first be replaced by the largest precision at "
                           "the same or a higher recall (the envelope), then summed over the recall steps."),
    (dict(recall_over="detections"), "recall divides by the number of detections; it divides by n_ground_truth "
                                     "(the objects missed by every detection count too)."),
    (dict(recall_over="hits", envelope=False), "that is the mean precision at the true positives found, divided by "
                                               "their number; AP divides the recall by n_ground_truth, so missed "
                                               "objects lower it."),
    (dict(recall_over="hits"), "recall divides by the number of true positives found; it divides by "
                               "n_ground_truth, so missed objects lower AP."),
    (dict(sort="none"), "the detections are taken in the order given; sort them by decreasing score first."),
    (dict(sort="ascending"), "the detections are sorted by increasing score; the most confident must come first."),
    (dict(points="11"), "that is the 11-point interpolation (PASCAL VOC 2007); the exercise asks for all-point "
                        "interpolation: sum the envelope over every recall step."),
]]


def _ap_label(case):
    return f"my_average_precision(<{len(case[0])} scores>, is_true_positive, n_ground_truth={case[2]})"


def _check_ap(fn):
    problem = expect_callable(fn, "my_average_precision(scores, is_true_positive, n_ground_truth) -> float")
    if problem:
        return problem
    for name in ("average_precision", "precision_recall_curve"):
        if _calls_course(fn, name):
            return (f"my_average_precision calls apps.{name}, which the notebook uses: the point is to write "
                    "the ranking, the precisions, the envelope and the sum yourself, with NumPy.")
    results = []
    for scores, tp, n_gt in _AP_CASES:
        call = _ap_label((scores, tp, n_gt))
        got, problem = try_call(fn, (np.array(scores, dtype="float64"), np.array(tp, dtype=bool), n_gt), call)
        if problem:
            return problem + (" With no detections AP is 0." if not scores else "")
        value = to_float(got)
        if value is None:
            return f"{call} returned {got!r:.60}; it should return one number."
        if not np.isfinite(value):
            return f"{call} returned {value}: NaN or infinite. A division by 0 (no detections?) hiding in it?"
        results.append(value)
    same = lambda a, b: abs(a - b) <= 1e-6
    wrong = [k for k, (got, want) in enumerate(zip(results, _AP_RIGHT)) if not same(got, want)]
    if not wrong:
        return None
    call = f"{_ap_label(_AP_CASES[wrong[0]])} returned {results[wrong[0]]:.4g}"
    if any(v < -1e-9 or v > 1 + 1e-9 for v in results):
        bad = next(v for v in results if v < -1e-9 or v > 1 + 1e-9)
        return f"One call returned {bad:.4g}: an average precision lies between 0 and 1."
    for message, values in _AP_MISTAKES:
        if all(same(got, v) for got, v in zip(results, values)):
            return f"{call}: {message}"
    return (f"{call}, which is wrong. Sort by decreasing score, cumulate true and false positives, precision = "
            "TP / (TP + FP), recall = TP / n_ground_truth, take the envelope, sum (recall step) x precision.")


q5 = Exercise(
    key="09.5",
    statement=("Write my_average_precision(scores, is_true_positive, n_ground_truth): the detections of one class on "
               "a test set, already matched (is_true_positive[k] says whether detection k found a true object), "
               "and the number of true objects (at least 1). Sort the detections by decreasing score; after the "
               "k-th, precision_k = TP_k / k and recall_k = TP_k / n_ground_truth; replace each precision by the "
               "largest precision at the same or a higher recall (the envelope); return the sum over k of "
               "(recall_k - recall_(k-1)) x envelope_k, with recall_0 = 0 (all-point AP, PASCAL VOC 2010+ and "
               "COCO at one IoU threshold). No detections: 0. Write it yourself with NumPy: do not call "
               "apps.average_precision or apps.precision_recall_curve."),
    checker=_check_ap,
    hint=("np.cumsum of the sorted is_true_positive gives TP_k; np.maximum.accumulate on the reversed precisions "
          "(then reversed back) gives the envelope; np.diff of recall with a 0 in front gives the steps."),
    solution=r"""def my_average_precision(scores, is_true_positive, n_ground_truth):
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    hits = np.cumsum(np.asarray(is_true_positive, dtype=float)[order])
    if hits.size == 0:
        return 0.0
    precision = hits / np.arange(1, hits.size + 1)
    recall = hits / n_ground_truth
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum(np.diff(np.concatenate([[0.0], recall])) * envelope))

# 6 detections of one class, 4 true objects: AP rewards finding them all, with the confident ones right
print(f"AP = {my_average_precision([0.9, 0.8, 0.7, 0.6, 0.5, 0.4], [1, 1, 0, 1, 0, 0], 4):.3f}")""",
    expects="a function my_average_precision(scores, is_true_positive, n_ground_truth) -> float",
    level=3,
)
