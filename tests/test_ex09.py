"""Checkers of notebook 09's exercises: right answers pass, typical mistakes get a precise message."""
import numpy as np

from exercise_helpers import message, passes  # noqa: E402
from cnncourse import applications as apps
from cnncourse.exercises import ex09 as ex

NONSENSE = [None, "0.5", 3.5, np.zeros((2, 2)), [1, 2], ...]


def right_iou(a, b):
    ih = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iw = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ih * iw
    area = lambda z: (z[2] - z[0]) * (z[3] - z[1])
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0


def test_q1_box_iou():
    assert passes(ex.q1, right_iou)
    assert passes(ex.q1, apps.box_iou)
    assert passes(ex.q1, lambda a, b: np.float32(right_iou(a, b)))
    area = lambda z: (z[2] - z[0]) * (z[3] - z[1])
    inter = lambda a, b: max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))
    assert "+1" in message(ex.q1, ex._inclusive)
    assert "clipped at 0" in message(ex.q1, ex._no_clamp)
    assert "counts the overlap twice" in message(ex.q1, lambda a, b: inter(a, b) / (area(a) + area(b)))
    assert "first box only" in message(ex.q1, lambda a, b: inter(a, b) / area(a))
    assert "overlap coefficient" in message(ex.q1, lambda a, b: inter(a, b) / min(area(a), area(b)))
    assert "between 0 and 1" in message(ex.q1, lambda a, b: 2.0)
    assert "squared paper" in message(ex.q1, lambda a, b: 0.5)
    assert "symmetric" in message(ex.q1, lambda a, b: right_iou(a, b) if (tuple(a), tuple(b)) in ex._IOU_CASES else 0.3)
    assert "raised" in message(ex.q1, lambda a: 0)
    assert "one number" in message(ex.q1, lambda a, b: "high")
    for bad in NONSENSE:
        assert not passes(ex.q1, bad)


def test_q1_swapped_boxes_are_checked_without_crashing():
    def one_way(a, b):
        if (tuple(a), tuple(b)) not in ex._IOU_CASES:
            raise ValueError("boxes in the other order")
        return right_iou(a, b)

    assert "raised ValueError: boxes in the other order" in message(ex.q1, one_way)
    assert "one number" in message(ex.q1, lambda a, b: right_iou(a, b) if (tuple(a), tuple(b)) in ex._IOU_CASES else None)


def test_q2_background_trap():
    truth = ex.TRAP_MASK > 0
    acc = (ex.TRAP_MASK == 0).mean()
    y0, x0, y1, x1 = apps.mask_to_box(truth)
    boxed = np.zeros_like(truth)
    boxed[y0:y1, x0:x1] = True
    box_iou = (boxed & truth).sum() / (boxed | truth).sum()
    assert 0.85 < acc < 0.95 and 0.2 < box_iou < 0.6      # the trap is real: high accuracy, IoU 0
    assert passes(ex.q2, (acc, 0.0, box_iou))
    assert passes(ex.q2, [float(acc), 0, np.float64(box_iou)])
    assert "share of digit pixels" in message(ex.q2, (1 - acc, 0.0, box_iou))
    assert "background class's IoU" in message(ex.q2, (acc, acc, box_iou))
    assert "pixel accuracy, not the digit's IoU" in message(ex.q2, (acc, 0.0, (boxed == truth).mean()))
    assert "IoU is below 1" in message(ex.q2, (acc, 0.0, 1.0))
    assert "percentages" in message(ex.q2, (100 * acc, 0.0, 100 * box_iou))
    both = message(ex.q2, (0.5, 0.3, box_iou))
    assert "pixel accuracy is not right" in both and "how many pixels" in both
    assert "3 numbers" in message(ex.q2, (acc, 0.0))
    assert "number" in message(ex.q2, (acc, "0", box_iou))
    for bad in NONSENSE:
        assert not passes(ex.q2, bad)


def test_q3_tight_box():
    assert passes(ex.q3, apps.mask_to_box)

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

    assert "one short" in message(ex.q3, inclusive)
    assert "swapped" in message(ex.q3, swapped)
    assert "height, width" in message(ex.q3, hw)
    assert "empty mask raised" in message(ex.q3, crashes_on_empty)
    assert "return None" in message(ex.q3, lambda m: apps.mask_to_box(m) or (0, 0, 0, 0))
    assert "Some boxes are wrong" in message(ex.q3, lambda m: None if not np.any(m) else (0, 0) + m.shape)
    assert "4 whole numbers" in message(ex.q3, lambda m: None if not np.any(m) else "box")
    assert "a box has 4" in message(ex.q3, lambda m: None if not np.any(m) else (1, 2))
    for bad in NONSENSE:
        assert not passes(ex.q3, bad)


def test_q4_valid_sides_match_a_real_unet():
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
    assert passes(ex.q4, works)
    assert passes(ex.q4, sorted(works))
    assert "three times" in message(ex.q4, {s for s in ex.CANDIDATE_SIDES if s % 4 == 0})
    assert "Not every size works" in message(ex.q4, set(ex.CANDIDATE_SIDES))
    assert "fail" in message(ex.q4, works | {50})
    assert "missing" in message(ex.q4, works - {64})
    assert "not among" in message(ex.q4, works | {48})
    for bad in NONSENSE + [{1.5}, {"64"}]:
        assert not passes(ex.q4, bad)
