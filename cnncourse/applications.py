"""Localization and segmentation at laptop scale: real MNIST digits on a larger canvas.

A *canvas* is a black square bigger than a digit, with one real MNIST digit
pasted at a random place. Each canvas comes with the two answers a vision
system may be asked for besides "which digit":

* **where** — the digit's bounding box, the tightest box around its ink;
* **which pixels** — a segmentation mask: 0 for background, ``1 + digit`` for
  every pixel of the digit's ink.

Boxes are ``(y_min, x_min, y_max, x_max)`` in pixels, max **exclusive** like a
slice (``image[y_min:y_max, x_min:x_max]`` is the box's content, its area is
``(y_max - y_min) * (x_max - x_min)``). :func:`box_iou` and :func:`mask_iou`
measure how well a prediction overlaps the truth (intersection over union, the
measure PASCAL VOC and COCO use), :func:`pixel_accuracy` shows why accuracy is
not enough when most pixels are background. For detectors that score their boxes,
:func:`nms` removes duplicate boxes, :func:`detection_hits` matches detections to the
truth and :func:`precision_recall_curve` / :func:`average_precision` rank a detector
the way the benchmarks do.

The network that answers all three questions is :func:`cnncourse.models.scene_net`; boxes are
drawn with :func:`cnncourse.plots.draw_box`.

Example
-------
>>> digits = np.zeros((2, 28, 28, 1), "float32"); digits[:, 10:20, 12:16] = 1
>>> canv = make_canvases(digits, np.array([3, 7]), canvas_size=40, seed=0)
>>> canv.images.shape, canv.masks.shape, canv.boxes.shape
((2, 40, 40, 1), (2, 40, 40), (2, 4))
>>> y0, x0, y1, x1 = canv.boxes[0].tolist(); (y1 - y0, x1 - x0), sorted(np.unique(canv.masks[1]).tolist())
((10, 4), [0, 8])
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from cnncourse.checks import check_boxes, check_number, check_whole, is_whole

__all__ = ["Canvases", "make_canvases", "make_scene", "mask_to_box", "boxes_from_mask", "box_iou",
           "match_detections", "mask_iou", "pixel_accuracy", "dice", "nms", "detection_hits",
           "precision_recall_curve", "average_precision"]

#: Pixels whose ink is at least this bright belong to the digit in the mask.
INK_THRESHOLD = 0.3


class Canvases(NamedTuple):
    """What :func:`make_canvases` returns.

    images : float32 (n, S, S, 1) in [0, 1]
    masks : int64 (n, S, S) — 0 background, 1 + digit on the digit's ink
    boxes : int64 (n, 4) — (y_min, x_min, y_max, x_max), max exclusive, in pixels
    labels : int64 (n,) — the digit on each canvas
    """

    images: np.ndarray
    masks: np.ndarray
    boxes: np.ndarray
    labels: np.ndarray


def _digits_and_labels(digits, labels, at_least=0):
    """``(digits (n, h, w) float32, labels (n,))``, checked: MNIST-like digits and one label 0-9 each."""
    d = np.asarray(digits, dtype="float32")
    if d.ndim == 4 and d.shape[-1] == 1:
        d = d[..., 0]
    if d.ndim != 3 or len(d) < at_least:
        more = f" with n >= {at_least}" if at_least else ""
        raise ValueError(f"digits must have shape (n, h, w) or (n, h, w, 1){more}, got {np.shape(digits)}")
    y = np.asarray(labels)
    message = f"labels must be {len(d)} whole numbers 0-9 (one per digit), got shape {y.shape} dtype {y.dtype}"
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(message)
    if y.shape != (len(d),) or (len(y) and (y.min() < 0 or y.max() > 9)):
        raise ValueError(message)
    return d, y


def make_canvases(digits, labels, canvas_size=56, seed=0, noise=0.0, threshold=INK_THRESHOLD):
    """Paste each digit at a random place of a black ``canvas_size`` x ``canvas_size`` canvas.

    Parameters
    ----------
    digits : array (n, h, w) or (n, h, w, 1), values in [0, 1] — e.g. MNIST's 28x28 digits
    labels : int array (n,), 0-9
    canvas_size : int >= the digit's size
    seed : int — the placements are the same for the same seed
    noise : float >= 0 — standard deviation of Gaussian noise added to the canvas (clipped
        to [0, 1]); the mask and box come from the clean digit
    threshold : float in (0, 1) — ink at least this bright is "digit" in the mask and box

    Returns
    -------
    Canvases(images, masks, boxes, labels)
    """
    d, y = _digits_and_labels(digits, labels)
    h, w = d.shape[1:]
    canvas_size = check_whole(canvas_size, "canvas_size", max(h, w))
    seed = check_whole(seed, "seed", 0)
    noise = check_number(noise, "noise", 0)
    threshold = check_number(threshold, "threshold", 0, 1, low_open=True, high_open=True)
    rng = np.random.default_rng(seed)
    n, s = len(d), int(canvas_size)
    images = np.zeros((n, s, s), dtype="float32")
    masks = np.zeros((n, s, s), dtype="int64")
    boxes = np.zeros((n, 4), dtype="int64")
    top = rng.integers(0, s - h + 1, size=n)
    left = rng.integers(0, s - w + 1, size=n)
    for i in range(n):
        images[i, top[i]:top[i] + h, left[i]:left[i] + w] = d[i]
        ink = images[i] >= threshold
        masks[i][ink] = 1 + int(y[i])
        box = mask_to_box(ink)
        boxes[i] = box if box is not None else (top[i], left[i], top[i], left[i])
    if noise > 0:
        images = np.clip(images + rng.normal(0, noise, images.shape), 0, 1).astype("float32")
    return Canvases(images[..., None], masks, boxes, y.astype("int64"))


def mask_to_box(mask):
    """The tightest box ``(y_min, x_min, y_max, x_max)`` (max exclusive) around a mask's true pixels.

    ``mask`` is a 2-D array; non-zero counts as inside. Returns ``None`` for an empty mask.

    >>> m = np.zeros((5, 6), bool); m[1:3, 2:5] = True
    >>> mask_to_box(m)
    (1, 2, 3, 5)
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be a 2-D array (height, width), got shape {m.shape}")
    rows = np.flatnonzero(m.any(axis=1))
    cols = np.flatnonzero(m.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(cols[0]), int(rows[-1]) + 1, int(cols[-1]) + 1


def box_iou(a, b):
    """Intersection over union of boxes ``(y_min, x_min, y_max, x_max)``.

    ``a`` and ``b`` are ``(4,)`` or broadcastable ``(..., 4)`` arrays in the same units
    (pixels or fractions of the image). Two empty boxes have IoU 0.

    Returns
    -------
    float for two single boxes, else an array of the broadcast shape without the last axis.

    >>> box_iou((0, 0, 2, 2), (1, 1, 3, 3))   # overlap 1, union 4 + 4 - 1
    0.14285714285714285
    >>> box_iou([[0, 0, 2, 2], [0, 0, 2, 2]], (0, 0, 2, 2)).tolist()
    [1.0, 1.0]
    """
    a = check_boxes(a, "a")
    b = check_boxes(b, "b")
    ih = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    iw = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = ih * iw
    area = lambda z: (z[..., 2] - z[..., 0]) * (z[..., 3] - z[..., 1])
    union = area(a) + area(b) - inter
    iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
    return float(iou) if iou.ndim == 0 else iou


def _check_masks(pred, true):
    p, t = np.asarray(pred), np.asarray(true)
    if p.shape != t.shape:
        raise ValueError(f"pred and true must have the same shape, got {p.shape} and {t.shape}")
    if p.size == 0:
        raise ValueError("pred and true must not be empty")
    for name, arr in (("pred", p), ("true", t)):
        if not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool):
            raise TypeError(f"{name} must hold class numbers (integers), got dtype {arr.dtype}; "
                             "take the argmax of the model's per-pixel probabilities first")
    return p.astype("int64"), t.astype("int64")


def pixel_accuracy(pred, true):
    """Fraction of pixels whose predicted class is right (any shape, integer class maps).

    >>> pixel_accuracy(np.zeros((4, 4), int), np.eye(4, dtype=int))   # all background
    0.75
    """
    p, t = _check_masks(pred, true)
    return float((p == t).mean())


def mask_iou(pred, true, num_classes=None, ignore_background=False):
    """Per-class intersection over union of two class maps, and their mean.

    For class ``k``: ``|pred == k and true == k| / |pred == k or true == k|``. Classes
    absent from both maps are left out of the mean (their IoU is ``nan``).

    Parameters
    ----------
    pred, true : integer arrays of the same shape (one map, or a batch of maps)
    num_classes : int or None — default ``max(pred.max(), true.max()) + 1``
    ignore_background : bool — leave class 0 out of the mean

    Returns
    -------
    (per_class, mean) : float array (num_classes,) with ``nan`` for absent classes, and a float

    >>> per_class, mean = mask_iou(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]))
    >>> per_class.tolist(), round(mean, 4)
    ([0.5, 0.6666666666666666], 0.5833)
    """
    p, t = _check_masks(pred, true)
    k = int(max(p.max(), t.max())) + 1 if num_classes is None else num_classes
    message = (f"num_classes must be a whole number larger than every class in the maps "
               f"(classes are 0..num_classes-1), got {num_classes!r}")
    if not is_whole(k):
        raise TypeError(message)
    if k < 1 or k <= max(p.max(), t.max()) or min(p.min(), t.min()) < 0:
        raise ValueError(message)
    conf = np.bincount(t.ravel() * k + p.ravel(), minlength=k * k).reshape(k, k)
    inter = np.diag(conf).astype("float64")
    union = conf.sum(axis=0) + conf.sum(axis=1) - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(union > 0, inter / union, np.nan)
    used = per_class[1:] if ignore_background else per_class
    mean = float(np.nanmean(used)) if np.any(~np.isnan(used)) else float("nan")
    return per_class, mean


def dice(pred, true):
    """Dice coefficient ``2|P ∩ T| / (|P| + |T|)`` of two binary masks (medical imaging's favourite).

    It is a monotone function of IoU: ``dice = 2 IoU / (1 + IoU)``. Two empty masks score 1.

    >>> dice(np.array([1, 1, 0, 0]), np.array([0, 1, 1, 0]))
    0.5
    """
    p, t = _check_masks(pred, true)
    p, t = p != 0, t != 0
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * (p & t).sum() / total)


# ============================================================================ scenes with several digits

def make_scene(digits, labels, canvas_size=96, seed=0, max_tries=200):
    """Paste several digits on one canvas without their 28x28 patches overlapping.

    Parameters
    ----------
    digits : array (k, h, w) or (k, h, w, 1) — the digits to place, all of them
    labels : int array (k,)
    canvas_size : int
    seed : int
    max_tries : int — random placements tried per digit before giving up

    Returns
    -------
    image : float32 (S, S, 1); mask : int64 (S, S) (0 background, 1 + digit);
    boxes : int64 (k, 4) tight boxes; labels : int64 (k,)

    Raises
    ------
    ValueError when the digits do not fit on the canvas.
    """
    d, y = _digits_and_labels(digits, labels, at_least=1)
    h, w = d.shape[1:]
    canvas_size = check_whole(canvas_size, "canvas_size", max(h, w))
    max_tries = check_whole(max_tries, "max_tries", 1)
    rng = np.random.default_rng(seed)
    s = int(canvas_size)
    image = np.zeros((s, s), dtype="float32")
    mask = np.zeros((s, s), dtype="int64")
    placed, boxes = [], []
    for digit, label in zip(d, y):
        for _ in range(max_tries):
            top, left = (int(v) for v in rng.integers(0, [s - h + 1, s - w + 1]))
            patch = (top, left, top + h, left + w)
            if all(box_iou(patch, other) == 0 for other in placed):
                break
        else:
            raise ValueError(f"could not place {len(d)} digits of {h}x{w} on a {s}x{s} canvas without "
                             "overlap: use a larger canvas_size or fewer digits")
        placed.append(patch)
        image[top:top + h, left:left + w] = np.maximum(image[top:top + h, left:left + w], digit)
        ink = np.zeros((s, s), bool)
        ink[top:top + h, left:left + w] = digit >= INK_THRESHOLD
        mask[ink] = 1 + int(label)
        boxes.append(mask_to_box(ink) or (top, left, top, left))
    return image[..., None], mask, np.asarray(boxes, dtype="int64"), y.astype("int64")


def boxes_from_mask(mask, min_pixels=10):
    """Detections from a class map: one box per connected blob of non-background pixels.

    Each blob (8-connected) with at least ``min_pixels`` pixels gives its tight box and
    its class: the most frequent class among its pixels, minus 1 (the digit).

    Returns ``(boxes int64 (m, 4), labels int64 (m,), sizes int64 (m,))``.
    """
    from scipy import ndimage

    m = np.asarray(mask)
    message = f"mask must be a 2-D integer class map, got shape {m.shape} dtype {m.dtype}"
    if not np.issubdtype(m.dtype, np.integer):
        raise TypeError(message)
    if m.ndim != 2:
        raise ValueError(message)
    min_pixels = check_whole(min_pixels, "min_pixels", 1)
    blobs, n = ndimage.label(m > 0, structure=np.ones((3, 3)))
    boxes, labels, sizes = [], [], []
    for k in range(1, n + 1):
        where = blobs == k
        size = int(where.sum())
        if size < min_pixels:
            continue
        boxes.append(mask_to_box(where))
        labels.append(int(np.bincount(m[where]).argmax()) - 1)
        sizes.append(size)
    return (np.asarray(boxes, dtype="int64").reshape(-1, 4), np.asarray(labels, dtype="int64"),
            np.asarray(sizes, dtype="int64"))


def _boxes_and_labels(pred_boxes, pred_labels, true_boxes, true_labels):
    """Predicted and true boxes as ``(n, 4)`` float arrays and their labels as 1-D arrays, checked."""
    pb = check_boxes(np.asarray(pred_boxes, dtype="float64").reshape(-1, 4), "pred_boxes")
    tb = check_boxes(np.asarray(true_boxes, dtype="float64").reshape(-1, 4), "true_boxes")
    pl, tl = np.asarray(pred_labels).reshape(-1), np.asarray(true_labels).reshape(-1)
    if len(pl) != len(pb) or len(tl) != len(tb):
        raise ValueError("pred_labels and true_labels must have one label per box, got "
                         f"{len(pl)} for {len(pb)} and {len(tl)} for {len(tb)}")
    return pb, pl, tb, tl


def match_detections(pred_boxes, pred_labels, true_boxes, true_labels, threshold=0.5):
    """Count true positives, false positives and misses the way detection benchmarks do.

    A prediction is a true positive when it has the right class and IoU >= ``threshold``
    with a true object not matched yet (greedy, best IoU first). Every other prediction
    is a false positive; every unmatched true object is a miss (false negative).

    Returns ``(tp, fp, fn)``.

    >>> match_detections([(0, 0, 10, 10), (20, 20, 30, 30)], [3, 5], [(1, 1, 10, 10)], [3])
    (1, 1, 0)
    """
    pb, pl, tb, tl = _boxes_and_labels(pred_boxes, pred_labels, true_boxes, true_labels)
    threshold = check_number(threshold, "threshold", 0, 1, low_open=True)
    if len(pb) == 0 or len(tb) == 0:
        return 0, len(pb), len(tb)
    iou = box_iou(pb[:, None, :], tb[None, :, :])
    iou = np.where(pl[:, None] == tl[None, :], iou, 0.0)
    used_p, used_t, tp = set(), set(), 0
    for flat in np.argsort(iou, axis=None)[::-1]:
        i, j = np.unravel_index(flat, iou.shape)
        if iou[i, j] < threshold:
            break
        if i in used_p or j in used_t:
            continue
        used_p.add(i)
        used_t.add(j)
        tp += 1
    return tp, len(pb) - tp, len(tb) - tp


# ============================================================================ scored detections

def _scores(scores, n, name="scores"):
    s = np.asarray(scores)
    if isinstance(scores, (str, bytes)) or (s.size and s.dtype.kind not in "fiub"):
        raise TypeError(f"{name} must be an array of numbers, got {type(scores).__name__} of dtype {s.dtype}")
    s = s.astype("float64")
    if s.shape != (n,):
        raise ValueError(f"{name} must hold one number per box/detection: shape ({n},), got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name} must be finite numbers (no NaN or infinity)")
    return s


def nms(boxes, scores, iou_threshold=0.5):
    """Greedy non-maximum suppression: which of many overlapping scored boxes to keep.

    A detector that scores many candidate boxes lights up several boxes around each object.
    NMS visits the boxes by decreasing score (equal scores: lower index first) and keeps a box
    unless its IoU (:func:`box_iou`) with a box *already kept* is greater than ``iou_threshold``.
    It looks at boxes only: run it once per class to keep boxes of different classes apart.

    Parameters
    ----------
    boxes : array (n, 4) of ``(y_min, x_min, y_max, x_max)``
    scores : array (n,) — the detector's confidence in each box
    iou_threshold : float in [0, 1]

    Returns
    -------
    list of int — the indices of the kept boxes, in the order they were kept (highest score first)

    >>> boxes = [(0, 0, 10, 10), (0, 1, 10, 11), (20, 20, 30, 30)]
    >>> nms(boxes, [0.7, 0.9, 0.4], iou_threshold=0.5)   # box 0 overlaps box 1 by IoU 0.82: gone
    [1, 2]
    >>> nms(boxes, [0.7, 0.9, 0.4], iou_threshold=0.9)
    [1, 0, 2]
    """
    b = check_boxes(np.asarray(boxes, dtype="float64").reshape(-1, 4) if np.size(boxes) == 0 else boxes, "boxes")
    if b.ndim != 2:
        raise ValueError(f"boxes must have shape (n, 4), got {b.shape}")
    s = _scores(scores, len(b))
    iou_threshold = check_number(iou_threshold, "iou_threshold", 0, 1)
    kept = []
    for i in np.argsort(-s, kind="stable"):
        if not kept or np.all(box_iou(b[kept], b[i]) <= iou_threshold):
            kept.append(int(i))
    return kept


def detection_hits(pred_boxes, pred_labels, scores, true_boxes, true_labels, threshold=0.5):
    """Which detections are true positives, matched the way PASCAL VOC and COCO match them.

    The detections are visited by decreasing score; each one takes the true object of its
    class with the highest IoU that no earlier detection took, if that IoU is at least
    ``threshold``: a true positive. Otherwise (wrong place, wrong class, or a duplicate of an
    object already found) it is a false positive.

    Returns
    -------
    bool array (n_pred,) in the order given — feed it with the scores to
    :func:`average_precision`; ``len(true_boxes) - hits.sum()`` objects were missed.

    >>> detection_hits([(0, 0, 10, 10), (0, 1, 10, 11), (20, 20, 30, 30)], [3, 3, 5], [0.6, 0.9, 0.8],
    ...                [(0, 0, 10, 10)], [3]).tolist()    # the 0.9 box finds the 3; the 0.6 is a duplicate
    [False, True, False]
    """
    pb, pl, tb, tl = _boxes_and_labels(pred_boxes, pred_labels, true_boxes, true_labels)
    s = _scores(scores, len(pb))
    threshold = check_number(threshold, "threshold", 0, 1, low_open=True)
    hits = np.zeros(len(pb), dtype=bool)
    if len(pb) == 0 or len(tb) == 0:
        return hits
    iou = np.where(pl[:, None] == tl[None, :], box_iou(pb[:, None, :], tb[None, :, :]), -1.0)
    taken = np.zeros(len(tb), dtype=bool)
    for i in np.argsort(-s, kind="stable"):
        candidates = np.where(taken, -1.0, iou[i])
        j = int(np.argmax(candidates))
        if candidates[j] >= threshold:
            hits[i] = taken[j] = True
    return hits


def _ranked(scores, is_true_positive, n_ground_truth):
    t = np.asarray(is_true_positive)
    if t.dtype != bool and not (t.dtype.kind in "iuf" and np.all(np.isin(t, (0, 1)))):
        raise TypeError(f"is_true_positive must be booleans (or 0/1), got dtype {t.dtype}")
    t = t.reshape(-1).astype(bool)
    s = _scores(scores, len(t))
    n_ground_truth = check_whole(n_ground_truth, "n_ground_truth", 1)
    if t.sum() > n_ground_truth:
        raise ValueError(f"is_true_positive counts {int(t.sum())} true positives, more than the "
                         f"n_ground_truth={n_ground_truth} objects there are")
    return t[np.argsort(-s, kind="stable")], n_ground_truth


def precision_recall_curve(scores, is_true_positive, n_ground_truth):
    """Precision and recall after each detection, most confident first, and the precision envelope.

    Sorting the detections by decreasing score, after the ``k``-th: precision ``TP_k / k``,
    recall ``TP_k / n_ground_truth``. Every score threshold a user could pick is one of these
    points. The envelope replaces each precision by the largest one at the same or a higher
    recall (the curve benchmarks integrate).

    Returns
    -------
    (recall, precision, envelope) : three float arrays (n,)

    >>> r, p, e = precision_recall_curve([0.9, 0.8, 0.7], [True, False, True], 4)
    >>> r.tolist(), p.round(3).tolist(), e.round(3).tolist()
    ([0.25, 0.25, 0.5], [1.0, 0.5, 0.667], [1.0, 0.667, 0.667])
    """
    t, n = _ranked(scores, is_true_positive, n_ground_truth)
    hits = np.cumsum(t, dtype="float64")
    precision = hits / np.arange(1, len(t) + 1)
    envelope = np.maximum.accumulate(precision[::-1])[::-1] if len(t) else precision
    return hits / n, precision, envelope


def average_precision(scores, is_true_positive, n_ground_truth):
    """All-point interpolated average precision (PASCAL VOC since 2010): the area under the envelope.

    ``AP = sum_k (recall_k - recall_(k-1)) * envelope_k`` with ``recall_0 = 0``, over the curve
    of :func:`precision_recall_curve`, for the detections of one class (``is_true_positive``
    from :func:`detection_hits`). 1 when every object is found before any false positive;
    0 with no detections. PASCAL VOC's mAP is its mean over the classes at IoU 0.5; COCO's AP
    also averages over the IoU thresholds 0.5, 0.55, ..., 0.95.

    >>> average_precision([0.9, 0.8, 0.7, 0.6, 0.5], [True, False, True, True, False], 4)
    0.625
    >>> average_precision([], [], 3)
    0.0
    """
    recall, _, envelope = precision_recall_curve(scores, is_true_positive, n_ground_truth)
    return float(np.sum(np.diff(recall, prepend=0.0) * envelope))
