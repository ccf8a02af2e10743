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

__all__ = ["Canvases", "make_canvases", "make_scene", "mask_to_box", "boxes_from_mask", "box_iou",
           "match_detections", "mask_iou", "scene_net", "mask_network",
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
    d = np.asarray(digits, dtype="float32")
    if d.ndim == 4 and d.shape[-1] == 1:
        d = d[..., 0]
    if d.ndim != 3 or len(d) == 0:
        raise ValueError(f"digits must have shape (k, h, w) or (k, h, w, 1) with k >= 1, got {np.shape(digits)}")
    y = np.asarray(labels)
    if y.shape != (len(d),) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9:
        raise ValueError(f"labels must be {len(d)} whole numbers 0-9, got {labels!r:.80}")
    h, w = d.shape[1:]
    if not _is_int(canvas_size) or canvas_size < max(h, w):
        raise ValueError(f"canvas_size must be a whole number >= the digit size {max(h, w)}, got {canvas_size!r}")
    if not _is_int(max_tries) or max_tries < 1:
        raise ValueError(f"max_tries must be a whole number >= 1, got {max_tries!r}")
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
    if m.ndim != 2 or not np.issubdtype(m.dtype, np.integer):
        raise ValueError(f"mask must be a 2-D integer class map, got shape {m.shape} dtype {m.dtype}")
    if not _is_int(min_pixels) or min_pixels < 1:
        raise ValueError(f"min_pixels must be a whole number >= 1, got {min_pixels!r}")
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


def match_detections(pred_boxes, pred_labels, true_boxes, true_labels, threshold=0.5):
    """Count true positives, false positives and misses the way detection benchmarks do.

    A prediction is a true positive when it has the right class and IoU >= ``threshold``
    with a true object not matched yet (greedy, best IoU first). Every other prediction
    is a false positive; every unmatched true object is a miss (false negative).

    Returns ``(tp, fp, fn)``.

    >>> match_detections([(0, 0, 10, 10), (20, 20, 30, 30)], [3, 5], [(1, 1, 10, 10)], [3])
    (1, 1, 0)
    """
    pb = _check_boxes(np.asarray(pred_boxes, dtype="float64").reshape(-1, 4), "pred_boxes")
    tb = _check_boxes(np.asarray(true_boxes, dtype="float64").reshape(-1, 4), "true_boxes")
    pl, tl = np.asarray(pred_labels).reshape(-1), np.asarray(true_labels).reshape(-1)
    if len(pl) != len(pb) or len(tl) != len(tb):
        raise ValueError("pred_labels and true_labels must have one label per box, got "
                         f"{len(pl)} for {len(pb)} and {len(tl)} for {len(tb)}")
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0 < threshold <= 1:
        raise ValueError(f"threshold must be a number in (0, 1], got {threshold!r}")
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


# ============================================================================ the network

def scene_net(canvas_size=48, width=8, num_classes=10):
    """A small U-Net-style fully convolutional network with three heads: what, where, which pixels.

    Encoder: three blocks "3x3 conv + ReLU, 2x2 max pooling" (``width``, ``2 width``, ``4 width``
    filters) and a bottleneck conv (``8 width``) at 1/8 of the input size. Decoder: three
    blocks "2x2 transposed conv (stride 2), concatenate the encoder map of the same size
    (skip connection), 3x3 conv + ReLU". Heads:

    * ``"mask"`` (segmentation): 1x1 conv to ``num_classes + 1`` per-pixel probabilities
      (class 0 background) — shape ``(batch, S, S, num_classes + 1)``;
    * ``"digit"`` (classification): global max pooling of the bottleneck, Dense softmax;
    * ``"box"`` (localization): flatten the bottleneck, Dense 64, Dense 4 sigmoid:
      ``(y_min, x_min, y_max, x_max)`` as fractions of the canvas side.

    Returns an uncompiled ``keras.Model`` with a dict of outputs. The canvas side must be a
    multiple of 8. See :func:`mask_network` for the same weights on any canvas size.

    >>> scene_net().count_params()
    207969
    """
    import keras
    from keras import layers

    if not _is_int(canvas_size) or canvas_size < 8 or canvas_size % 8:
        raise ValueError(f"canvas_size must be a whole multiple of 8 (three poolings), got {canvas_size!r}")
    if not _is_int(width) or width < 1:
        raise ValueError(f"width must be a whole number >= 1, got {width!r}")
    if not _is_int(num_classes) or num_classes < 1:
        raise ValueError(f"num_classes must be a whole number >= 1, got {num_classes!r}")
    inp = keras.Input((canvas_size, canvas_size, 1), name="canvas")
    c4, mask = _fcn_body(inp, _scene_layers(width, num_classes))
    b = layers.Flatten(name="box_flatten")(c4)
    b = layers.Dense(64, activation="relu", name="box_fc")(b)
    box = layers.Dense(4, activation="sigmoid", name="box")(b)
    digit = layers.GlobalMaxPooling2D(name="digit_pool")(c4)
    digit = layers.Dense(num_classes, activation="softmax", name="digit")(digit)
    return keras.Model(inp, {"mask": mask, "box": box, "digit": digit}, name="scene_net")


_BODY = ("enc1", "pool1", "enc2", "pool2", "enc3", "pool3", "enc4", "up3", "skip3", "dec3",
         "up2", "skip2", "dec2", "up1", "skip1", "dec1", "mask")


def _scene_layers(width, num_classes):
    from keras import layers

    conv = lambda f, name: layers.Conv2D(f, 3, padding="same", activation="relu", name=name)
    return {
        "enc1": conv(width, "enc1"), "pool1": layers.MaxPooling2D(name="pool1"),
        "enc2": conv(2 * width, "enc2"), "pool2": layers.MaxPooling2D(name="pool2"),
        "enc3": conv(4 * width, "enc3"), "pool3": layers.MaxPooling2D(name="pool3"),
        "enc4": conv(8 * width, "enc4"),
        "up3": layers.Conv2DTranspose(4 * width, 2, strides=2, name="up3"),
        "skip3": layers.Concatenate(name="skip3"), "dec3": conv(4 * width, "dec3"),
        "up2": layers.Conv2DTranspose(2 * width, 2, strides=2, name="up2"),
        "skip2": layers.Concatenate(name="skip2"), "dec2": conv(2 * width, "dec2"),
        "up1": layers.Conv2DTranspose(width, 2, strides=2, name="up1"),
        "skip1": layers.Concatenate(name="skip1"), "dec1": conv(width, "dec1"),
        "mask": layers.Conv2D(num_classes + 1, 1, activation="softmax", name="mask"),
    }


def _fcn_body(inp, L):
    c1 = L["enc1"](inp)
    c2 = L["enc2"](L["pool1"](c1))
    c3 = L["enc3"](L["pool2"](c2))
    c4 = L["enc4"](L["pool3"](c3))
    d3 = L["dec3"](L["skip3"]([L["up3"](c4), c3]))
    d2 = L["dec2"](L["skip2"]([L["up2"](d3), c2]))
    d1 = L["dec1"](L["skip1"]([L["up1"](d2), c1]))
    return c4, L["mask"](d1)


def mask_network(model):
    """The segmentation path of a :func:`scene_net` model, for canvases of any size (multiple of 8).

    The returned model *shares* the layers (and so the trained weights) of ``model``: it is
    the same network, wired to an input of unknown height and width. It works because no
    layer on the path from the canvas to the mask depends on the image size — the
    definition of a fully convolutional network.
    """
    import keras

    if not isinstance(model, keras.Model) or any(name not in [l.name for l in model.layers] for name in _BODY):
        raise ValueError("model must be a network made by scene_net()")
    inp = keras.Input((None, None, 1), name="any_canvas")
    _, mask = _fcn_body(inp, {name: model.get_layer(name) for name in _BODY})
    return keras.Model(inp, mask, name="mask_network")
