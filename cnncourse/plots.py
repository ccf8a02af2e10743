"""Everything the course draws. Each function draws with matplotlib and returns the figure.

Functions that draw something computed (filters, feature maps, patterns, attributions)
compute it with :mod:`cnncourse.interpret` and return ``(what they drew, figure)``, so the
numbers behind a picture can be checked.

Training and data
    :func:`plot_history`, :func:`show_images`.
Inside a ConvNet
    :func:`plot_filters`, :func:`plot_feature_maps`, :func:`plot_patterns`,
    :func:`plot_attributions`, :func:`overlay_heatmap` (the RGB blend it draws).
Applications
    :func:`draw_box` (a bounding box on an axes).

>>> import matplotlib; matplotlib.use("Agg")
>>> fig = show_images(np.zeros((3, 4, 4)), labels=["a", "b", "c"])
>>> [ax.get_title() for ax in fig.axes]
['a', 'b', 'c']
"""
from __future__ import annotations

import numpy as np

from cnncourse import interpret
from cnncourse.checks import check_boxes, check_number, check_whole

__all__ = ["plot_history", "show_images", "plot_filters", "plot_feature_maps", "plot_patterns",
           "overlay_heatmap", "plot_attributions", "draw_box"]


# ============================================================================ training and data

def plot_history(history, metrics=("loss", "accuracy"), title=None):
    """Training (and validation, when present) curves of a Keras ``History`` or its ``.history`` dict.

    Returns the matplotlib figure, one panel per metric.
    """
    import matplotlib.pyplot as plt

    hist = getattr(history, "history", history)
    if not isinstance(hist, dict):
        raise TypeError(f"history must be a keras History or a dict of lists, got {type(history).__name__}")
    missing = [m for m in metrics if m not in hist]
    if missing:
        raise KeyError(f"metrics {missing} are not in the history; it has {sorted(hist)}")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 3.5), squeeze=False)
    for ax, name in zip(axes[0], metrics):
        epochs = np.arange(1, len(hist[name]) + 1)
        ax.plot(epochs, hist[name], "o-", label="training")
        if f"val_{name}" in hist:
            ax.plot(epochs, hist[f"val_{name}"], "s--", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def show_images(images, labels=None, ncols=10, cmap="gray", size=1.2, title=None):
    """A grid of images ``(n, h, w)`` or ``(n, h, w, c)`` with optional labels above each."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(f"images must have shape (n, h, w) or (n, h, w, c), got {images.shape}")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"labels has {len(labels)} entries for {len(images)} images")
    ncols = check_whole(ncols, "ncols", 1)
    n = len(images)
    ncols = min(ncols, max(n, 1))
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.3 if title else 0)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = images[i]
        if img.ndim == 3 and img.shape[-1] == 1:
            img = img[..., 0]
        ax.imshow(img, cmap=cmap if img.ndim == 2 else None)
        if labels is not None:
            ax.set_title(str(labels[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ============================================================================ inside a ConvNet

def plot_filters(kernel, rgb=None, normalize="each", max_in=8, size=0.8, title=None):
    """Draw :func:`filter_images` as a grid: one column per filter, one row per input channel.

    Colour filters (``rgb``) are drawn in one row. At most ``max_in`` input channels are drawn.
    Returns ``(images, figure)``.
    """
    import matplotlib.pyplot as plt

    images = interpret.filter_images(kernel, rgb=rgb, normalize=normalize)
    max_in = check_whole(max_in, "max_in", 1)
    colour = bool(rgb) if rgb is not None else _in_channels(kernel) == 3
    n_out = len(images)
    rows = 1 if colour else min(images.shape[1], max_in)
    fig, axes = plt.subplots(rows, n_out, figsize=(size * n_out + 0.6, size * rows + 0.5),
                             squeeze=False)
    for j in range(n_out):
        for i in range(rows):
            ax = axes[i, j]
            if colour:
                ax.imshow(images[j], interpolation="nearest")
            else:
                ax.imshow(images[j, i], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(str(j), fontsize=7)
            if j == 0 and rows > 1:
                ax.set_ylabel(f"in {i}", fontsize=7)
    fig.suptitle(title or f"{n_out} filters (grey = 0, bright = positive, dark = negative)",
                 fontsize=10)
    fig.tight_layout()
    return images, fig


def _in_channels(kernel):
    if hasattr(kernel, "get_weights"):
        kernel = kernel.get_weights()[0]
    return np.shape(kernel)[2]


def plot_feature_maps(model, x, layers=None, max_channels=16, size=0.9, cmap="viridis"):
    """Draw :func:`feature_maps`: the input, then one row per layer, up to ``max_channels`` maps each.

    Each map is scaled on its own (bright = strong activation); the row title gives the
    layer's output shape so one sees the maps shrink and multiply layer after layer.
    Returns ``(maps, figure)``.
    """
    import matplotlib.pyplot as plt

    maps = interpret.feature_maps(model, x, layers)
    max_channels = check_whole(max_channels, "max_channels", 1)
    ncols = min(max_channels, max(m.shape[-1] for m in maps.values()))
    nrows = len(maps) + 1
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + 1.2, size * nrows * 1.15),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    img = np.asarray(x, dtype="float32")
    axes[0, 0].imshow(img[..., 0] if img.shape[-1] == 1 else np.clip(img, 0, 1),
                      cmap="gray" if img.shape[-1] == 1 else None)
    axes[0, 0].set_title(f"input {img.shape[0]}x{img.shape[1]}x{img.shape[2]}", fontsize=8, loc="left")
    for row, (name, m) in enumerate(maps.items(), start=1):
        for c in range(min(ncols, m.shape[-1])):
            axes[row, c].imshow(m[..., c], cmap=cmap, interpolation="nearest")
        h, w, ch = m.shape
        shown = f" (first {ncols})" if ch > ncols else ""
        axes[row, 0].set_title(f"{name}: {h}x{w}x{ch}{shown}", fontsize=8, loc="left")
    fig.tight_layout()
    return maps, fig


def plot_patterns(images, titles=None, value_range=(0.0, 1.0), ncols=8, size=1.3, title=None):
    """Draw patterns from :func:`activation_maximization`, each stretched to full contrast.

    ``images`` is ``(n, h, w, c)``. Returns ``(shown, figure)`` where ``shown`` are the
    stretched images in [0, 1] as drawn.
    """
    import matplotlib.pyplot as plt

    arr = np.asarray(images, dtype="float32")
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] not in (1, 3):
        raise ValueError(f"images must have shape (n, h, w, 1 or 3), got {np.shape(images)}")
    if titles is not None and len(titles) != len(arr):
        raise ValueError(f"titles has {len(titles)} entries for {len(arr)} images")
    ncols = check_whole(ncols, "ncols", 1)
    lo = arr.min(axis=(1, 2, 3), keepdims=True)
    hi = arr.max(axis=(1, 2, 3), keepdims=True)
    shown = (arr - lo) / np.where(hi > lo, hi - lo, 1.0)
    ncols = min(ncols, len(arr))
    nrows = -(-len(arr) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + (0.4 if title else 0.1)),
                             squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.axis("off")
        if k < len(arr):
            ax.imshow(shown[k, ..., 0] if shown.shape[-1] == 1 else shown[k],
                      cmap="gray" if shown.shape[-1] == 1 else None)
            if titles is not None:
                ax.set_title(str(titles[k]), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return shown, fig


def overlay_heatmap(image, heatmap, alpha=0.45, cmap="jet"):
    """Blend a heatmap ``(h, w)`` in [0, 1] over an image ``(h, w, 1 or 3)`` in [0, 1]; returns RGB ``(h, w, 3)``."""
    import matplotlib

    img = np.asarray(image, dtype="float32")
    heat = np.asarray(heatmap, dtype="float32")
    if img.ndim == 2:
        img = img[..., None]
    if img.ndim != 3 or img.shape[-1] not in (1, 3):
        raise ValueError(f"image must have shape (h, w, 1 or 3), got {np.shape(image)}")
    if heat.shape != img.shape[:2]:
        raise ValueError(f"heatmap must have the image's size {img.shape[:2]}, got {heat.shape}")
    alpha = check_number(alpha, "alpha", 0, 1)
    rgb = np.repeat(img, 3, axis=-1) if img.shape[-1] == 1 else img
    lo, hi = rgb.min(), rgb.max()
    rgb = (rgb - lo) / (hi - lo) if hi > lo else np.zeros_like(rgb)
    colours = matplotlib.colormaps[cmap](np.clip(heat, 0, 1))[..., :3]
    return ((1 - alpha) * rgb + alpha * colours).astype("float32")


def plot_attributions(model, images, layer_name, labels=None, class_names=None, size=1.9):
    """Saliency and Grad-CAM side by side for a few images, explaining the *predicted* class.

    One row per image: the image (title: true and predicted class), its saliency map, its
    Grad-CAM heatmap for ``layer_name`` and the heatmap over the image.

    Returns ``({"saliency": (n, h, w), "grad_cam": (n, h, w), "predicted": (n,)}, figure)``.
    """
    import keras
    import matplotlib.pyplot as plt

    model = interpret.inspectable_model(model)
    arr = np.asarray(images, dtype="float32")
    if arr.ndim != 4:
        raise ValueError(f"images must be a batch (n, h, w, c), got shape {arr.shape}")
    if labels is not None and len(labels) != len(arr):
        raise ValueError(f"labels has {len(labels)} entries for {len(arr)} images")
    interpret.layer_named(model, layer_name)
    names = class_names if class_names is not None else [str(i) for i in range(int(model.outputs[0].shape[-1]))]
    predicted = np.argmax(keras.ops.convert_to_numpy(model(arr, training=False)), axis=-1)
    sal = np.stack([interpret.saliency_map(model, img, int(p)) for img, p in zip(arr, predicted)])
    cams = np.stack([interpret.grad_cam(model, img, layer_name, int(p)) for img, p in zip(arr, predicted)])
    fig, axes = plt.subplots(len(arr), 4, figsize=(4 * size, len(arr) * size * 1.05), squeeze=False)
    for k, img in enumerate(arr):
        if img.shape[-1] != 3:               # grey, or channels that are not colours: their mean
            img = img.mean(axis=-1, keepdims=True)
        show = img[..., 0] if img.shape[-1] == 1 else np.clip(img, 0, 1)
        cm = "gray" if img.shape[-1] == 1 else None
        head = f"pred {names[predicted[k]]}"
        if labels is not None:
            ok = "✓" if int(labels[k]) == int(predicted[k]) else "✗"
            head = f"true {names[int(labels[k])]}, {head} {ok}"
        panels = [(show, cm, head), (sal[k], "hot", "saliency"),
                  (cams[k], "jet", f"Grad-CAM ({layer_name})"),
                  (overlay_heatmap(img, cams[k]), None, "Grad-CAM over image")]
        for ax, (data, cmap, ttl) in zip(axes[k], panels):
            ax.imshow(data, cmap=cmap)
            ax.set_title(ttl, fontsize=8)
            ax.axis("off")
    fig.tight_layout()
    return {"saliency": sal, "grad_cam": cams, "predicted": predicted}, fig


# ============================================================================ applications

def draw_box(ax, box, color="lime", label=None, linewidth=1.5, linestyle="-"):
    """Draw a box ``(y_min, x_min, y_max, x_max)`` (pixels, max exclusive) on a matplotlib axes showing the image."""
    import matplotlib.patches as patches

    y0, x0, y1, x1 = (float(v) for v in check_boxes(box, "box"))
    # pixel centres are at integers, so pixel edges at -0.5
    rect = patches.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False,
                             edgecolor=color, linewidth=linewidth, linestyle=linestyle)
    ax.add_patch(rect)
    if label:
        ax.text(x0 - 0.5, y0 - 1.5, label, color=color, fontsize=7, va="bottom")
    return rect
