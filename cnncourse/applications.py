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
not enough when most pixels are background.

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

import numbers
from typing import NamedTuple

import numpy as np

__all__ = ["Canvases", "make_canvases", "mask_to_box", "box_iou", "mask_iou",
           "pixel_accuracy", "dice", "draw_box"]

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


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


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
    d = np.asarray(digits, dtype="float32")
    if d.ndim == 4 and d.shape[-1] == 1:
        d = d[..., 0]
    if d.ndim != 3:
        raise ValueError(f"digits must have shape (n, h, w) or (n, h, w, 1), got {np.shape(digits)}")
    y = np.asarray(labels)
    if y.shape != (len(d),) or not np.issubdtype(y.dtype, np.integer) or (len(y) and (y.min() < 0 or y.max() > 9)):
        raise ValueError(f"labels must be {len(d)} whole numbers 0-9 (one per digit), got shape {y.shape} "
                         f"dtype {y.dtype}")
    h, w = d.shape[1:]
    if not _is_int(canvas_size) or canvas_size < max(h, w):
        raise ValueError(f"canvas_size must be a whole number >= the digit size {max(h, w)}, got {canvas_size!r}")
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not noise >= 0:
        raise ValueError(f"noise must be a number >= 0, got {noise!r}")
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0 < threshold < 1:
        raise ValueError(f"threshold must be a number in (0, 1), got {threshold!r}")
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


def _check_boxes(boxes, name):
    try:
        b = np.asarray(boxes, dtype="float64")
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be boxes (y_min, x_min, y_max, x_max), got {type(boxes).__name__}") from None
    if b.shape[-1:] != (4,):
        raise ValueError(f"{name} must have shape (..., 4): (y_min, x_min, y_max, x_max), got {b.shape}")
    if np.any(b[..., 2] < b[..., 0]) or np.any(b[..., 3] < b[..., 1]):
        raise ValueError(f"{name} has a box with y_max < y_min or x_max < x_min")
    return b


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
    a = _check_boxes(a, "a")
    b = _check_boxes(b, "b")
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
            raise ValueError(f"{name} must hold class numbers (integers), got dtype {arr.dtype}; "
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
    if not _is_int(k) or k < 1 or k <= max(p.max(), t.max()) or min(p.min(), t.min()) < 0:
        raise ValueError(f"num_classes must be a whole number larger than every class in the maps "
                         f"(classes are 0..num_classes-1), got {num_classes!r}")
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


def draw_box(ax, box, color="lime", label=None, linewidth=1.5, linestyle="-"):
    """Draw a box ``(y_min, x_min, y_max, x_max)`` (pixels, max exclusive) on a matplotlib axes showing the image."""
    import matplotlib.patches as patches

    y0, x0, y1, x1 = (float(v) for v in _check_boxes(box, "box"))
    # pixel centres are at integers, so pixel edges at -0.5
    rect = patches.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                             edgecolor=color, linewidth=linewidth, linestyle=linestyle)
    ax.add_patch(rect)
    if label:
        ax.text(x0 - 0.5, y0 - 1.5, label, color=color, fontsize=7, va="bottom")
    return rect
