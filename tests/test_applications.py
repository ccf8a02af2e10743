"""Canvases, boxes and overlap measures for notebook 09."""
import numpy as np
import pytest
from sklearn.metrics import jaccard_score

from cnncourse import applications as apps


def digit_blocks(n=6, seed=0):
    rng = np.random.default_rng(seed)
    digits = np.zeros((n, 28, 28, 1), "float32")
    for i in range(n):
        y0, x0 = rng.integers(2, 10, size=2)
        digits[i, y0:y0 + 12, x0:x0 + 8] = rng.uniform(0.5, 1.0)
        digits[i, y0, x0] = 0.1          # faint ink below the threshold: not part of the digit
    return digits, np.arange(n) % 10


def test_canvases_hold_the_digit_its_mask_and_its_tight_box():
    digits, labels = digit_blocks()
    c = apps.make_canvases(digits, labels, canvas_size=50, seed=1)
    assert c.images.shape == (6, 50, 50, 1) and c.masks.shape == (6, 50, 50) and c.boxes.shape == (6, 4)
    for i in range(6):
        y0, x0, y1, x1 = c.boxes[i]
        assert (y1 - y0, x1 - x0) == (12, 8)                          # tight around the ink
        assert set(np.unique(c.masks[i])) == {0, 1 + labels[i]}
        assert (c.masks[i] > 0).sum() == 12 * 8 - 1                   # the faint pixel is excluded
        assert np.all(c.masks[i][y0:y1, x0:x1][1:, :] > 0)
        # the canvas holds exactly the digit's pixels, nothing else
        assert c.images[i].sum() == pytest.approx(digits[i].sum(), rel=1e-5)
        assert apps.mask_to_box(c.masks[i] > 0) == tuple(c.boxes[i])
    # placements vary and are reproducible
    assert len({tuple(b) for b in c.boxes}) > 3
    again = apps.make_canvases(digits, labels, canvas_size=50, seed=1)
    np.testing.assert_array_equal(again.images, c.images)


def test_canvases_from_real_mnist_with_noise():
    from cnncourse.data import load_mnist

    (x, y), _ = load_mnist(n_train=20, n_test=10)
    c = apps.make_canvases(x, y, canvas_size=56, seed=0, noise=0.1)
    assert c.images.min() >= 0 and c.images.max() <= 1
    assert np.all((c.boxes[:, 2:] - c.boxes[:, :2]) <= 28) and np.all(c.boxes[:, 2:] <= 56)
    np.testing.assert_array_equal(c.labels, y)
    assert np.all(c.masks.max(axis=(1, 2)) == y + 1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(digits=np.zeros((2, 28)), labels=np.zeros(2, int)), "digits"),
    (dict(labels=np.array([0, 10])), "labels"),
    (dict(labels=np.array([0])), "labels"),
    (dict(canvas_size=20), "canvas_size"),
    (dict(noise=-0.1), "noise"),
    (dict(threshold=1.5), "threshold"),
    (dict(seed=-1), "seed"),
])
def test_make_canvases_rejects_bad_arguments(kwargs, match):
    args = dict(digits=np.zeros((2, 28, 28)), labels=np.array([0, 1]))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        apps.make_canvases(**args)


def test_make_canvases_and_make_scene_take_integer_labels_only():
    with pytest.raises(TypeError, match="labels must be 2 whole numbers 0-9"):     # floats: a wrong type
        apps.make_canvases(np.zeros((2, 28, 28)), np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match="labels must be 2 whole numbers 0-9"):
        apps.make_scene(np.zeros((2, 28, 28)), np.array([0.0, 1.0]))


def test_mask_to_box():
    m = np.zeros((6, 7), bool)
    assert apps.mask_to_box(m) is None
    m[5, 6] = True
    assert apps.mask_to_box(m) == (5, 6, 6, 7)
    m[0, 1] = True
    assert apps.mask_to_box(m) == (0, 1, 6, 7)
    with pytest.raises(ValueError, match="mask must be a 2-D array"):
        apps.mask_to_box(np.zeros(3))


def box_iou_by_pixels(a, b, size=20):
    """Reference: paint both boxes on a pixel grid and count."""
    pa = np.zeros((size, size), bool); pa[a[0]:a[2], a[1]:a[3]] = True
    pb = np.zeros((size, size), bool); pb[b[0]:b[2], b[1]:b[3]] = True
    union = (pa | pb).sum()
    return (pa & pb).sum() / union if union else 0.0


def test_box_iou_matches_counting_pixels():
    rng = np.random.default_rng(0)
    for _ in range(200):
        a = np.sort(rng.integers(0, 20, (2, 2)), axis=0).T.reshape(-1)[[0, 2, 1, 3]]
        b = np.sort(rng.integers(0, 20, (2, 2)), axis=0).T.reshape(-1)[[0, 2, 1, 3]]
        assert apps.box_iou(a, b) == pytest.approx(box_iou_by_pixels(a, b))
        assert apps.box_iou(a, b) == pytest.approx(apps.box_iou(b, a))


def test_box_iou_special_cases_and_broadcasting():
    assert apps.box_iou((0, 0, 4, 4), (0, 0, 4, 4)) == 1.0
    assert apps.box_iou((0, 0, 2, 2), (2, 2, 4, 4)) == 0.0                 # touching corners
    assert apps.box_iou((0, 0, 4, 4), (0, 0, 2, 2)) == pytest.approx(0.25)  # nested
    assert apps.box_iou((1, 1, 1, 1), (1, 1, 1, 1)) == 0.0                 # empty boxes
    out = apps.box_iou(np.array([[0, 0, 2, 2], [0, 0, 1, 2], [5, 5, 6, 6]]), (0, 0, 2, 2))
    np.testing.assert_allclose(out, [1.0, 0.5, 0.0])
    frac = apps.box_iou((0.0, 0.0, 0.5, 0.5), (0.25, 0.0, 0.75, 0.5))
    assert frac == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match=r"a must have shape \(\.\.\., 4\)"):
        apps.box_iou((0, 0, 1), (0, 0, 1, 1))
    with pytest.raises(ValueError, match="y_max < y_min"):
        apps.box_iou((3, 0, 1, 1), (0, 0, 1, 1))
    with pytest.raises(TypeError, match="b must be boxes"):
        apps.box_iou((0, 0, 1, 1), "box")


def test_mask_iou_matches_scikit_learn():
    rng = np.random.default_rng(1)
    true = rng.integers(0, 4, (3, 9, 9))
    pred = np.where(rng.random(true.shape) < 0.7, true, rng.integers(0, 4, true.shape))
    per_class, mean = apps.mask_iou(pred, true, num_classes=4)
    expected = jaccard_score(true.ravel(), pred.ravel(), average=None, labels=range(4))
    np.testing.assert_allclose(per_class, expected)
    assert mean == pytest.approx(expected.mean())
    _, no_bg = apps.mask_iou(pred, true, num_classes=4, ignore_background=True)
    assert no_bg == pytest.approx(expected[1:].mean())


def test_mask_iou_leaves_absent_classes_out_and_exposes_the_background_trap():
    true = np.zeros((20, 20), int)
    true[5:9, 5:8] = 4                                # a small object: 12 of 400 pixels
    all_background = np.zeros_like(true)
    per_class, mean = apps.mask_iou(all_background, true, num_classes=11)
    assert per_class[4] == 0.0 and np.isnan(per_class[1]) and np.isnan(per_class[10])
    assert mean == pytest.approx((388 / 400 + 0.0) / 2)
    assert apps.pixel_accuracy(all_background, true) == pytest.approx(0.97)
    assert apps.mask_iou(all_background, true, num_classes=11, ignore_background=True)[1] == 0.0


@pytest.mark.parametrize("pred, true, match", [
    (np.zeros((2, 2), int), np.zeros((2, 3), int), "same shape"),
    (np.zeros((2, 2)), np.zeros((2, 2), int), "integers"),
    (np.zeros(0, int), np.zeros(0, int), "empty"),
])
def test_mask_measures_reject_bad_input(pred, true, match):
    error = TypeError if match == "integers" else ValueError     # float maps are a wrong type
    with pytest.raises(error, match=match):
        apps.mask_iou(pred, true)
    with pytest.raises(error, match=match):
        apps.pixel_accuracy(pred, true)


def test_mask_iou_num_classes_is_checked():
    with pytest.raises(ValueError, match="num_classes"):
        apps.mask_iou(np.array([0, 3]), np.array([0, 1]), num_classes=3)


def test_dice_is_a_function_of_iou():
    rng = np.random.default_rng(2)
    for _ in range(20):
        p, t = rng.random((2, 8, 8)) < 0.4
        iou = (p & t).sum() / (p | t).sum()
        assert apps.dice(p, t) == pytest.approx(2 * iou / (1 + iou))
    assert apps.dice(np.zeros(4, int), np.zeros(4, int)) == 1.0


# ----------------------------------------------------------------------------- scenes, detections, network

def test_make_scene_places_every_digit_apart():
    digits, labels = digit_blocks(n=4, seed=3)
    image, mask, boxes, lab = apps.make_scene(digits, labels, canvas_size=96, seed=2)
    assert image.shape == (96, 96, 1) and mask.shape == (96, 96) and boxes.shape == (4, 4)
    np.testing.assert_array_equal(lab, labels)
    ious = apps.box_iou(boxes[:, None], boxes[None, :])
    assert np.allclose(ious[~np.eye(4, dtype=bool)], 0)
    for b, label in zip(boxes, labels):
        assert set(np.unique(mask[b[0]:b[2], b[1]:b[3]])) <= {0, 1 + label}
    assert image.sum() == pytest.approx(digits.sum(), rel=1e-5)
    with pytest.raises(ValueError, match="could not place"):
        apps.make_scene(np.ones((9, 28, 28)), np.zeros(9, int), canvas_size=56, max_tries=20)
    with pytest.raises(ValueError, match="labels"):
        apps.make_scene(digits, labels[:2])


def test_boxes_from_mask_finds_each_blob_and_its_majority_class():
    mask = np.zeros((30, 30), int)
    mask[2:10, 3:7] = 4
    mask[3, 3] = 2                       # a few wrong pixels inside the blob
    mask[15:25, 15:28] = 8
    mask[28, 28] = 5                     # a speck below min_pixels
    boxes, labels, sizes = apps.boxes_from_mask(mask, min_pixels=5)
    order = np.argsort(boxes[:, 0])
    np.testing.assert_array_equal(boxes[order], [[2, 3, 10, 7], [15, 15, 25, 28]])
    np.testing.assert_array_equal(labels[order], [3, 7])
    np.testing.assert_array_equal(sizes[order], [32, 130])
    empty = apps.boxes_from_mask(np.zeros((5, 5), int))
    assert empty[0].shape == (0, 4) and empty[1].shape == (0,)
    with pytest.raises(TypeError, match="mask must be a 2-D integer class map"):     # floats: a wrong type
        apps.boxes_from_mask(np.zeros((5, 5)))
    with pytest.raises(ValueError, match="mask must be a 2-D integer class map"):
        apps.boxes_from_mask(np.zeros(5, int))
    with pytest.raises(ValueError, match="min_pixels"):
        apps.boxes_from_mask(mask, min_pixels=0)


def test_match_detections_counts_like_a_benchmark():
    truth = [(0, 0, 10, 10), (20, 20, 30, 30)]
    assert apps.match_detections(truth, [1, 2], truth, [1, 2]) == (2, 0, 0)
    assert apps.match_detections(truth, [1, 3], truth, [1, 2]) == (1, 1, 1)     # wrong class
    shifted = [(0, 5, 10, 15), (20, 20, 30, 30)]                                 # IoU 1/3 < 0.5
    assert apps.match_detections(shifted, [1, 2], truth, [1, 2]) == (1, 1, 1)
    assert apps.match_detections(shifted, [1, 2], truth, [1, 2], threshold=0.3) == (2, 0, 0)
    dup = [(0, 0, 10, 10), (0, 0, 10, 9)]                                        # one object, two boxes
    assert apps.match_detections(dup, [1, 1], truth[:1], [1]) == (1, 1, 0)
    assert apps.match_detections(np.zeros((0, 4)), [], truth, [1, 2]) == (0, 0, 2)
    with pytest.raises(ValueError, match="threshold"):
        apps.match_detections(truth, [1, 2], truth, [1, 2], threshold=0)
    with pytest.raises(ValueError, match="one label per box"):
        apps.match_detections(truth, [1], truth, [1, 2])


# ---------------------------------------------------------------- scored detections: nms, matching, AP

def nms_by_brute_force(boxes, scores, thr):
    """NMS from its definition: a box is kept iff no higher-ranked *kept* box overlaps it by more than thr."""
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    kept = []
    for i in order:
        if all(apps.box_iou(boxes[i], boxes[k]) <= thr for k in kept):
            kept.append(i)
    return kept


def test_nms_keeps_one_box_per_object_in_score_order():
    boxes = np.array([(10, 10, 30, 30), (11, 10, 31, 30), (10, 12, 30, 32), (50, 50, 70, 70), (51, 51, 71, 71)])
    scores = np.array([0.6, 0.9, 0.7, 0.5, 0.8])
    assert apps.nms(boxes, scores, 0.5) == [1, 4]                         # the best box of each object
    assert apps.nms(boxes, scores, 1.0) == [1, 4, 2, 0, 3]                # nothing suppressed: all, by score
    assert apps.nms(boxes, scores, 0.0) == [1, 4]                         # any overlap suppresses
    assert apps.nms([(0, 0, 4, 4), (0, 0, 4, 2)], [0.6, 0.9], 0.5) == [1, 0]   # IoU exactly 0.5 stays
    assert apps.nms([(0, 0, 4, 4), (0, 0, 4, 2)], [0.6, 0.9], 0.49) == [1]
    assert apps.nms([(0, 0, 10, 10), (0, 1, 10, 11)], [0.7, 0.7], 0.5) == [0]  # ties: lower index first
    # a chain: 1 suppresses 2; 2 would have suppressed 0, but a suppressed box suppresses nothing
    assert apps.nms([(0, 8, 10, 18), (0, 0, 10, 10), (0, 4, 10, 14)], [0.7, 0.9, 0.8], 0.3) == [1, 0]
    assert apps.nms(np.zeros((0, 4)), [], 0.5) == [] and apps.nms([(1, 1, 3, 3)], [0.2]) == [0]
    rng = np.random.default_rng(0)
    for _ in range(20):
        corner = rng.integers(0, 30, size=(15, 2))
        boxes = np.concatenate([corner, corner + rng.integers(3, 12, size=(15, 2))], axis=1)
        scores = rng.choice([0.2, 0.5, 0.7, 0.9], size=15)               # ties included
        for thr in (0.1, 0.3, 0.5):
            assert apps.nms(boxes, scores, thr) == nms_by_brute_force(boxes, scores, thr)


@pytest.mark.parametrize("args, error, match", [
    (([(0, 0, 2, 2)], [0.5, 0.4]), ValueError, "one number per box"),
    (([(0, 0, 2)], [0.5]), ValueError, r"\(\.\.\., 4\)"),
    (([(0, 0, 2, 2)], ["high"]), TypeError, "scores"),
    (([(0, 0, 2, 2)], [np.nan]), ValueError, "finite"),
    (([(0, 0, 2, 2)], [0.5], 1.5), ValueError, "iou_threshold"),
    (([(2, 0, 0, 2)], [0.5]), ValueError, "y_max < y_min"),
])
def test_nms_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        apps.nms(*args)


def test_detection_hits_match_in_score_order_like_pascal_voc():
    truth, labels = [(0, 0, 10, 10), (20, 20, 30, 30)], [3, 5]
    pred = [(0, 0, 10, 10), (0, 1, 10, 11), (20, 20, 30, 30), (20, 20, 30, 30), (40, 40, 50, 50)]
    hits = apps.detection_hits(pred, [3, 3, 5, 4, 5], [0.6, 0.9, 0.8, 0.95, 0.7], truth, labels)
    # the 0.9 box takes the 3 first, so the exact 0.6 box is a duplicate; wrong class and wrong place miss
    assert hits.tolist() == [False, True, True, False, False]
    assert apps.detection_hits(pred[:1], [3], [0.5], truth, labels, threshold=1.0).tolist() == [True]
    assert apps.detection_hits([], [], [], truth, labels).shape == (0,)
    assert apps.detection_hits(pred[:1], [3], [0.5], np.zeros((0, 4)), []).tolist() == [False]
    # as many hits as match_detections counts when every detection has a different score
    rng = np.random.default_rng(1)
    for _ in range(10):
        corner = rng.integers(0, 40, size=(8, 2))
        boxes = np.concatenate([corner, corner + 10], axis=1)
        tb, tl = boxes[:3], np.array([1, 2, 1])
        pb = boxes[3:] if rng.random() < 0.5 else np.concatenate([tb + rng.integers(-2, 3, size=(3, 4)), boxes[5:]])
        pb = np.concatenate([np.minimum(pb[:, :2], pb[:, 2:]), np.maximum(pb[:, :2], pb[:, 2:])], axis=1)
        pl = rng.integers(1, 3, size=len(pb))
        tp, fp, fn = apps.match_detections(pb, pl, tb, tl)
        hits = apps.detection_hits(pb, pl, rng.permutation(len(pb)) / len(pb), tb, tl)
        assert abs(int(hits.sum()) - tp) <= 1 and len(pb) - hits.sum() >= 0
    with pytest.raises(ValueError, match="one label per box"):
        apps.detection_hits(pred, [3], [0.5] * 5, truth, labels)
    with pytest.raises(ValueError, match="one number per"):
        apps.detection_hits(pred[:1], [3], [0.5, 0.4], truth, labels)


def test_precision_recall_curve_and_average_precision_by_hand():
    # TP, FP, TP, TP, FP (in score order) with 4 objects: p = 1, 1/2, 2/3, 3/4, 3/5; r = 1/4, 1/4, 1/2, 3/4, 3/4
    recall, precision, envelope = apps.precision_recall_curve([0.5, 0.9, 0.6, 0.8, 0.7], [0, 1, 1, 0, 1], 4)
    np.testing.assert_allclose(recall, [0.25, 0.25, 0.5, 0.75, 0.75])
    np.testing.assert_allclose(precision, [1, 1 / 2, 2 / 3, 3 / 4, 3 / 5])
    np.testing.assert_allclose(envelope, [1, 3 / 4, 3 / 4, 3 / 4, 3 / 5])
    assert apps.average_precision([0.5, 0.9, 0.6, 0.8, 0.7], [0, 1, 1, 0, 1], 4) == pytest.approx(0.625)
    assert apps.average_precision([0.9, 0.8], [True, True], 2) == 1.0          # all found, none wrong
    assert apps.average_precision([0.9, 0.8], [True, True], 4) == 0.5          # half of the objects missed
    assert apps.average_precision([0.9, 0.8], [False, True], 1) == 0.5         # a false alarm ranked first
    assert apps.average_precision([0.9, 0.8], [False, False], 1) == 0.0
    assert apps.average_precision([], [], 3) == 0.0
    r, p, e = apps.precision_recall_curve([], [], 3)
    assert r.shape == p.shape == e.shape == (0,)


def test_average_precision_equals_scikit_learn_when_every_object_is_detected():
    """scikit-learn's AP uses the raw precisions (no envelope); on a curve whose precision only falls
    with recall the two agree, and with the envelope ours is never lower."""
    from sklearn.metrics import average_precision_score

    rng = np.random.default_rng(0)
    for _ in range(20):
        hits = rng.random(12) < 0.6
        hits[0] = True
        scores = rng.permutation(12) / 12
        ours = apps.average_precision(scores, hits, int(hits.sum()))
        assert ours >= average_precision_score(hits, scores) - 1e-12
        monotone = np.sort(hits)[::-1]                                     # every hit ranked before every miss
        assert apps.average_precision(scores[np.argsort(-scores)], monotone, int(hits.sum())) == pytest.approx(
            average_precision_score(monotone, scores[np.argsort(-scores)]))


@pytest.mark.parametrize("args, error, match", [
    (([0.5, 0.4], [True], 2), ValueError, "one number per"),
    (([0.5], [True], 0), ValueError, "n_ground_truth"),
    (([0.5], [True], 1.5), TypeError, "n_ground_truth"),
    (([0.5, 0.4], [True, True], 1), ValueError, "more than"),
    (([0.5], ["yes"], 1), TypeError, "is_true_positive"),
    (([0.5], [2], 3), TypeError, "is_true_positive"),
])
def test_average_precision_rejects_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        apps.average_precision(*args)
