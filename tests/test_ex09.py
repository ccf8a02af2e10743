"""Checkers of notebook 09's exercises: right answers pass, typical mistakes get a precise message."""
import numpy as np

from exercise_helpers import message, passes  # noqa: E402
from cnncourse import applications as apps
from cnncourse.exercises import ex09 as ex

NONSENSE = [None, "0.5", 3.5, np.zeros((2, 2)), [1, 2], ...]


def test_q1_background_trap():
    truth = ex.TRAP_MASK > 0
    acc = (ex.TRAP_MASK == 0).mean()
    y0, x0, y1, x1 = apps.mask_to_box(truth)
    boxed = np.zeros_like(truth)
    boxed[y0:y1, x0:x1] = True
    box_iou = (boxed & truth).sum() / (boxed | truth).sum()
    assert 0.85 < acc < 0.95 and 0.2 < box_iou < 0.6      # the trap is real: high accuracy, IoU 0
    assert passes(ex.q1, (acc, 0.0, box_iou))
    assert passes(ex.q1, [float(acc), 0, np.float64(box_iou)])
    assert "share of digit pixels" in message(ex.q1, (1 - acc, 0.0, box_iou))
    assert "background class's IoU" in message(ex.q1, (acc, acc, box_iou))
    assert "pixel accuracy, not the digit's IoU" in message(ex.q1, (acc, 0.0, (boxed == truth).mean()))
    assert "IoU is below 1" in message(ex.q1, (acc, 0.0, 1.0))
    assert "percentages" in message(ex.q1, (100 * acc, 0.0, 100 * box_iou))
    both = message(ex.q1, (0.5, 0.3, box_iou))
    assert "pixel accuracy is not right" in both and "how many pixels" in both
    assert "3 numbers" in message(ex.q1, (acc, 0.0))
    assert "number" in message(ex.q1, (acc, "0", box_iou))
    for bad in NONSENSE:
        assert not passes(ex.q1, bad)


def test_q2_tight_box():
    assert passes(ex.q2, apps.mask_to_box)

    def inclusive(m):
        b = apps.mask_to_box(m)
        return None if b is None else (b[0], b[1], b[2] - 1, b[3] - 1)

    def swapped(m):
        b = apps.mask_to_box(m)
        return None if b is None else (b[1], b[0], b[3], b[2])

    def hw(m):
        b = apps.mask_to_box(m)
        return None if b is None else (b[0], b[1], b[2] - b[0], b[3] - b[1])

    def crashes_on_empty(m):
        rows = np.flatnonzero(np.asarray(m).any(axis=1))
        cols = np.flatnonzero(np.asarray(m).any(axis=0))
        return rows[0], cols[0], rows[-1] + 1, cols[-1] + 1

    assert "one short" in message(ex.q2, inclusive)
    assert "swapped" in message(ex.q2, swapped)
    assert "height, width" in message(ex.q2, hw)
    assert "empty mask raised" in message(ex.q2, crashes_on_empty)
    assert "return None" in message(ex.q2, lambda m: apps.mask_to_box(m) or (0, 0, 0, 0))
    assert "Some boxes are wrong" in message(ex.q2, lambda m: None if not np.any(m) else (0, 0) + m.shape)
    assert "4 whole numbers" in message(ex.q2, lambda m: None if not np.any(m) else "box")
    assert "a box has 4" in message(ex.q2, lambda m: None if not np.any(m) else (1, 2))
    for bad in NONSENSE:
        assert not passes(ex.q2, bad)


def test_q3_valid_sides_match_a_real_unet():
    """The right answer is what a real 3-level U-Net of the notebook's shape accepts."""
    import keras
    from keras import layers

    inp = keras.Input((None, None, 1))
    c1 = layers.Conv2D(2, 3, padding="same")(inp)
    c2 = layers.Conv2D(2, 3, padding="same")(layers.MaxPooling2D()(c1))
    c3 = layers.Conv2D(2, 3, padding="same")(layers.MaxPooling2D()(c2))
    c4 = layers.Conv2D(2, 3, padding="same")(layers.MaxPooling2D()(c3))
    d3 = layers.Concatenate()([layers.Conv2DTranspose(2, 2, strides=2)(c4), c3])
    d2 = layers.Concatenate()([layers.Conv2DTranspose(2, 2, strides=2)(d3), c2])
    d1 = layers.Concatenate()([layers.Conv2DTranspose(2, 2, strides=2)(d2), c1])
    net = keras.Model(inp, d1)
    works = set()
    for side in ex.CANDIDATE_SIDES:
        try:
            net(np.zeros((1, side, side, 1), "float32"))
            works.add(side)
        except Exception:
            pass
    assert passes(ex.q3, works)
    assert passes(ex.q3, sorted(works))
    assert "three times" in message(ex.q3, {s for s in ex.CANDIDATE_SIDES if s % 4 == 0})
    assert "Not every size works" in message(ex.q3, set(ex.CANDIDATE_SIDES))
    assert "fail" in message(ex.q3, works | {50})
    assert "missing" in message(ex.q3, works - {64})
    assert "not among" in message(ex.q3, works | {48})
    for bad in NONSENSE + [{1.5}, {"64"}]:
        assert not passes(ex.q3, bad)


def iou(a, b):
    ih = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ih * iw
    area = lambda z: (z[2] - z[0]) * (z[3] - z[1])
    return inter / (area(a) + area(b) - inter)


def nms(boxes, scores, thr, *, order=None, against_all=False, ge=False, smaller=False, report=None, inverted=False):
    """A student's my_nms, right by default; each keyword is a typical mistake."""
    scores = np.asarray(scores)
    if order is None:
        order = sorted(range(len(scores)), key=lambda i: -scores[i])           # stable: ties keep index order
    elif order == "given":
        order = list(range(len(scores)))
    elif order == "argsort_reversed":
        order = list(np.argsort(scores, kind="stable")[::-1])                 # reverses ties
    elif order == "ascending":
        order = list(np.argsort(scores, kind="stable"))

    def overlap(a, b):
        if smaller:
            ih = max(0, min(a[2], b[2]) - max(a[0], b[0]))
            iw = max(0, min(a[3], b[3]) - max(a[1], b[1]))
            return ih * iw / min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
        return iou(a, b)

    kept = []
    for pos, i in enumerate(order):
        rivals = order[:pos] if against_all else kept
        if inverted:
            gone = any(overlap(boxes[i], boxes[k]) <= thr for k in rivals)
        else:
            gone = any(overlap(boxes[i], boxes[k]) >= thr if ge else overlap(boxes[i], boxes[k]) > thr
                       for k in rivals)
        if not gone:
            kept.append(int(i))
    if report == "sorted":
        return sorted(kept)
    if report == "positions":
        return [order.index(i) for i in kept]
    if report == "boxes":
        return np.asarray(boxes)[kept]
    if report == "mask":
        return np.isin(np.arange(len(scores)), kept)
    return kept


def test_q4_reference_apps_nms_on_cases_worked_out_by_hand():
    assert apps.nms([(0, 8, 10, 18), (0, 0, 10, 10), (0, 4, 10, 14)], [0.7, 0.9, 0.8], 0.3) == [1, 0]
    assert apps.nms([(0, 0, 4, 4), (0, 0, 4, 2)], [0.6, 0.9], 0.5) == [1, 0]          # IoU 0.5: kept
    assert apps.nms([(0, 0, 4, 4), (0, 0, 4, 2)], [0.6, 0.9], 0.49) == [1]
    assert apps.nms([(0, 0, 10, 10), (0, 1, 10, 11)], [0.7, 0.7], 0.5) == [0]          # tie: index 0
    assert apps.nms(np.zeros((0, 4)), [], 0.5) == []
    assert passes(ex.q4, nms)
    assert passes(ex.q4, lambda b, s, t: np.array(nms(b, s, t), dtype=np.int64))
    assert passes(ex.q4, lambda b, s, t: tuple(nms(b, s, t)))


def test_q4_each_typical_mistake_gets_its_own_diagnosis():
    said = {
        "order given": dict(order="given"),
        "*increasing* score": dict(order="ascending"),
        "sorted by index": dict(report="sorted"),
        "positions in the score-sorted order": dict(report="positions"),
        "strictly greater": dict(ge=True),
        "had itself been suppressed": dict(against_all=True),
        "smaller area": dict(smaller=True),
        "reverses ties": dict(order="argsort_reversed"),
        "kept the boxes that overlap": dict(inverted=True),
        "kept boxes themselves": dict(report="boxes"),
        "mask of": dict(report="mask"),
    }
    messages = set()
    for words, mistake in said.items():
        msg = message(ex.q4, lambda b, s, t, m=mistake: nms(b, s, t, **m))
        assert words in msg, (words, msg)
        messages.add(msg)
    assert len(messages) == len(said)


def test_q4_other_wrong_answers_and_nonsense():
    def no_empty(b, s, t):
        if len(s) == 0:
            raise IndexError("empty")
        return nms(b, s, t)

    assert "empty list" in message(ex.q4, no_empty)
    assert "returned None" in message(ex.q4, lambda b, s, t: None)
    assert "kept twice" in message(ex.q4, lambda b, s, t: nms(b, s, t) * 2 if len(s) else [])
    assert "not one of the" in message(ex.q4, lambda b, s, t: [len(s)])
    assert "whole numbers" in message(ex.q4, lambda b, s, t: [0.5] if len(s) else [])
    assert "right boxes in the wrong order" in message(
        ex.q4, lambda b, s, t: nms(b, s, t)[::-1] if len(s) == 8 else nms(b, s, t))
    assert "was kept" in message(ex.q4, lambda b, s, t: list(range(len(s))) if len(s) == 8 else nms(b, s, t))
    assert "was suppressed" in message(ex.q4, lambda b, s, t: nms(b, s, t)[:1] if len(s) == 8 else nms(b, s, t))

    def mutates(b, s, t):
        s[...] = 0
        return []
    assert "changed the boxes or the scores" in message(ex.q4, mutates)
    assert "raised TypeError" in message(ex.q4, lambda b, s: [])
    for bad in NONSENSE:
        assert not passes(ex.q4, bad)
    for wrong in [dict(order="given"), dict(ge=True), dict(report="sorted")]:     # no right list given away
        msg = message(ex.q4, lambda b, s, t, m=wrong: nms(b, s, t, **m))
        assert not any(str(right) in msg for right in ex._NMS_RIGHT if len(right) > 1)


def average_precision(scores, tp, n_gt, *, sort=True, ascending=False, envelope=True, by="gt", eleven=False):
    """A student's my_average_precision, right by default; each keyword is a typical mistake."""
    scores, tp = np.asarray(scores, float), np.asarray(tp, float)
    if len(scores) == 0:
        return 0.0
    if sort:
        order = np.argsort(scores if ascending else -scores, kind="stable")
        tp = tp[order]
    hits = np.cumsum(tp)
    precision = hits / np.arange(1, len(tp) + 1)
    recall = hits / {"gt": n_gt, "detections": len(tp), "hits": max(hits[-1], 1)}[by]
    if envelope:
        precision = np.array([precision[k:].max() for k in range(len(precision))])
    if eleven:
        return float(np.mean([max([p for p, r in zip(precision, recall) if r >= t], default=0.0)
                              for t in np.arange(11) / 10]))
    ap, previous = 0.0, 0.0
    for p, r in zip(precision, recall):
        ap += (r - previous) * p
        previous = r
    return ap


def test_q5_reference_apps_average_precision_on_cases_worked_out_by_hand():
    # TP, FP, TP, TP, FP with 4 objects: p = 1, 1/2, 2/3, 3/4, 3/5; r = 1/4, 1/4, 2/4, 3/4, 3/4
    # envelope: 1, 3/4, 3/4, 3/4, 3/5 -> AP = 1/4 * 1 + 1/4 * 3/4 + 1/4 * 3/4 = 0.625
    assert np.isclose(apps.average_precision([0.9, 0.8, 0.7, 0.6, 0.5], [1, 0, 1, 1, 0], 4), 0.625)
    assert np.isclose(apps.average_precision([0.5, 0.9], [1, 1], 2), 1.0)
    assert apps.average_precision([], [], 3) == 0.0
    try:    # the same number as scikit-learn's AP when every object is detected (there it has no envelope...)
        from sklearn.metrics import average_precision_score
        y, s = [1, 0, 1, 1], [0.9, 0.8, 0.7, 0.6]
        assert np.isclose(average_precision_score(y, s), average_precision(s, y, 3, envelope=False))
    except ImportError:
        pass
    assert passes(ex.q5, average_precision)
    assert passes(ex.q5, lambda s, t, n: np.float32(average_precision(s, t, n)))


def test_q5_each_typical_mistake_gets_its_own_diagnosis():
    said = {
        "no interpolation": dict(envelope=False),
        "divides by the number of detections": dict(by="detections"),
        "mean precision at the true positives": dict(by="hits", envelope=False),
        "divides by the number of true positives found": dict(by="hits"),
        "order given": dict(sort=False),
        "increasing score": dict(ascending=True),
        "11-point": dict(eleven=True),
    }
    messages = set()
    for words, mistake in said.items():
        msg = message(ex.q5, lambda s, t, n, m=mistake: average_precision(s, t, n, **m))
        assert words in msg, (words, msg)
        messages.add(msg)
    assert len(messages) == len(said)


def test_q5_other_wrong_answers_and_nonsense():
    def crashes_on_nothing(s, t, n):
        hits = np.cumsum(np.asarray(t, float))
        return float(hits[-1] / n)

    assert "no detections AP is 0" in message(ex.q5, crashes_on_nothing)
    assert "NaN" in message(ex.q5, lambda s, t, n: float("nan"))
    assert "between 0 and 1" in message(ex.q5, lambda s, t, n: 100 * average_precision(s, t, n))
    assert "one number" in message(ex.q5, lambda s, t, n: [0.5, 0.5])
    assert "Sort by decreasing score" in message(ex.q5, lambda s, t, n: 0.5)
    assert "raised TypeError" in message(ex.q5, lambda s, t: 0.5)
    for bad in NONSENSE:
        assert not passes(ex.q5, bad)
    import re
    for mistake in [dict(envelope=False), dict(eleven=True), dict(by="detections")]:
        msg = message(ex.q5, lambda s, t, n, m=mistake: average_precision(s, t, n, **m))
        said = [float(x) for x in re.findall(r"\d+\.\d+", msg)]
        assert not any(abs(x - v) < 1e-3 for x in said for v in ex._AP_RIGHT if 0 < v < 1), msg


def test_q4_q5_refuse_the_course_functions_the_lesson_uses():
    """09.4 and 09.5 ask for NMS and AP written by hand: calling apps.nms / apps.average_precision is refused,
    whether passed directly, wrapped, imported by name or reached through a closure."""
    from functools import partial
    from cnncourse.applications import average_precision as ap_imported, nms as nms_imported

    for fn in [apps.nms, lambda b, s, t: apps.nms(b, s, t), lambda b, s, t: nms_imported(b, s, t),
               partial(apps.nms)]:
        assert "calls apps.nms" in message(ex.q4, fn)

    def outer():
        from cnncourse import applications as a

        def my_nms(b, s, t):
            return a.nms(b, s, t)
        return my_nms
    assert "calls apps.nms" in message(ex.q4, outer())
    for fn in [apps.average_precision, lambda s, t, n: apps.average_precision(s, t, n),
               lambda s, t, n: ap_imported(s, t, n),
               lambda s, t, n: float(apps.precision_recall_curve(s, t, n)[0].sum() * 0)]:
        assert "calls apps." in message(ex.q5, fn)

    def nms(b, s, t):                                    # a student's own function that happens to be called nms
        return [int(i) for i in np.argsort(-np.asarray(s), kind="stable")
                if True] and _greedy(b, s, t)

    def _greedy(b, s, t):
        kept = []
        for i in np.argsort(-np.asarray(s), kind="stable"):
            if all(apps.box_iou(b[i], b[k]) <= t for k in kept):
                kept.append(int(i))
        return kept
    assert passes(ex.q4, lambda b, s, t: nms(b, s, t))
    # the mistake variants of the checkers agree with the course's functions when no mistake is made
    for case in ex._NMS_CASES:
        assert ex._nms(*case) == apps.nms(*case)
    for case in ex._AP_CASES:
        assert np.isclose(ex._average_precision(*case), apps.average_precision(*case))
