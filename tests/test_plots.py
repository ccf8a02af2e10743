"""cnncourse.plots: each function draws what it says (checked on the matplotlib objects it makes)."""
import matplotlib
import numpy as np
import pytest

from cnncourse import interpret, plots
from tiny_models import lenet_like, two_channel_cam_model

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ----------------------------------------------------------------------------- training and data

def test_plot_history_draws_each_metric_and_its_validation_curve():
    history = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.1, 0.7, 0.6], "accuracy": [0.5, 0.7, 0.9]}
    fig = plots.plot_history(history, title="run")
    assert len(fig.axes) == 2
    loss_ax, acc_ax = fig.axes
    assert loss_ax.get_ylabel() == "loss" and acc_ax.get_ylabel() == "accuracy"
    train, val = loss_ax.get_lines()
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])            # epochs count from 1
    np.testing.assert_array_equal(train.get_ydata(), history["loss"])
    np.testing.assert_array_equal(val.get_ydata(), history["val_loss"])
    assert [l.get_label() for l in loss_ax.get_lines()] == ["training", "validation"]
    assert len(acc_ax.get_lines()) == 1                                    # no val_accuracy: one curve
    assert fig._suptitle.get_text() == "run"


def test_plot_history_takes_a_keras_history_and_refuses_what_is_not_one():
    class History:                                 # what model.fit returns: .history is the dict
        history = {"loss": [3.0, 2.0], "accuracy": [0.1, 0.2]}

    fig = plots.plot_history(History())
    np.testing.assert_array_equal(fig.axes[1].get_lines()[0].get_ydata(), [0.1, 0.2])
    with pytest.raises(KeyError, match=r"metrics \['accuracy'\] are not in the history"):
        plots.plot_history({"loss": [1.0]})
    with pytest.raises(TypeError, match="history must be a keras History or a dict"):
        plots.plot_history([1.0, 0.5])


def test_show_images_draws_every_image_with_its_label_in_a_grid():
    images = np.random.default_rng(0).random((5, 4, 4, 1))
    fig = plots.show_images(images, labels=[10, 11, 12, 13, 14], ncols=2)
    assert len(fig.axes) == 6                                              # 3 rows of 2
    drawn = [ax for ax in fig.axes if ax.get_images()]
    assert len(drawn) == 5
    for ax, img, label in zip(drawn, images, [10, 11, 12, 13, 14]):
        np.testing.assert_array_equal(ax.get_images()[0].get_array(), img[..., 0])   # channel axis dropped
        assert ax.get_title() == str(label)
    colour = plots.show_images(np.zeros((2, 3, 3, 3)))
    assert colour.axes[0].get_images()[0].get_array().shape == (3, 3, 3)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(images=np.zeros((4, 4))), ValueError, r"images must have shape \(n, h, w\)"),
    (dict(labels=["a"]), ValueError, "labels has 1 entries for 2 images"),
    (dict(ncols=0), ValueError, "ncols must be a whole number >= 1"),
    (dict(ncols=2.0), TypeError, "ncols must be a whole number >= 1"),
])
def test_show_images_refuses_bad_arguments(kwargs, error, match):
    args = dict(images=np.zeros((2, 4, 4)))
    args.update(kwargs)
    with pytest.raises(error, match=match):
        plots.show_images(**args)


# ----------------------------------------------------------------------------- inside a ConvNet

def test_plot_filters_returns_what_it_draws():
    k = np.random.default_rng(0).normal(size=(5, 5, 3, 4))
    images, fig = plots.plot_filters(k)
    np.testing.assert_array_equal(images, interpret.filter_images(k))
    assert len(fig.axes) == 4
    images, fig = plots.plot_filters(np.ones((3, 3, 6, 2)), max_in=4)
    assert images.shape == (2, 6, 3, 3) and len(fig.axes) == 8
    with pytest.raises(ValueError, match="max_in"):
        plots.plot_filters(k, max_in=0)


def test_plot_feature_maps_draws_one_row_per_layer():
    model = lenet_like()
    maps, fig = plots.plot_feature_maps(model, np.ones((16, 16, 1)), max_channels=5)
    assert list(maps) == ["conv1", "pool1", "conv2"]
    assert len(fig.axes) == 4 * 5
    with pytest.raises(ValueError, match="max_channels"):
        plots.plot_feature_maps(model, np.ones((16, 16, 1)), max_channels=0)


def test_plot_patterns_stretches_each_image():
    imgs = np.stack([np.full((4, 4, 1), 0.2), np.linspace(0.3, 0.6, 16).reshape(4, 4, 1)])
    shown, fig = plots.plot_patterns(imgs, titles=["flat", "ramp"])
    np.testing.assert_array_equal(shown[0], 0.0)
    assert shown[1].min() == 0 and shown[1].max() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="titles"):
        plots.plot_patterns(imgs, titles=["one"])
    with pytest.raises(ValueError, match="images must have shape"):
        plots.plot_patterns(np.zeros((2, 4, 4, 2)))


def test_overlay_heatmap_blends():
    img = np.zeros((4, 4, 1))
    img[0, 0] = 1
    out = plots.overlay_heatmap(img, np.zeros((4, 4)), alpha=0.0)
    assert out.shape == (4, 4, 3)
    np.testing.assert_allclose(out[0, 0], 1.0)
    np.testing.assert_allclose(out[1, 1], 0.0)
    with pytest.raises(ValueError, match="heatmap must have the image's size"):
        plots.overlay_heatmap(img, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="alpha"):
        plots.overlay_heatmap(img, np.zeros((4, 4)), alpha=2)


def test_plot_attributions_returns_the_maps_it_draws():
    model = two_channel_cam_model()
    x = np.zeros((2, 10, 10, 2), dtype="float32")
    x[0, 3:7, 1:4, 0] = 1.0
    x[1, 3:7, 6:9, 1] = 1.0
    out, fig = plots.plot_attributions(model, x, "conv", labels=[0, 0])
    np.testing.assert_array_equal(out["predicted"], [0, 1])
    np.testing.assert_allclose(out["grad_cam"][1], interpret.grad_cam(model, x[1], "conv", 1))
    np.testing.assert_allclose(out["saliency"][0], interpret.saliency_map(model, x[0], 0))
    assert len(fig.axes) == 8
    with pytest.raises(ValueError, match="labels"):
        plots.plot_attributions(model, x, "conv", labels=[0])


# ----------------------------------------------------------------------------- applications

def test_draw_box_puts_the_rectangle_on_pixel_edges():
    fig, ax = plt.subplots()
    rect = plots.draw_box(ax, (2, 3, 5, 9), label="7")
    assert rect.get_xy() == (2.5, 1.5) and rect.get_width() == 6 and rect.get_height() == 3
    assert rect in ax.patches and ax.texts[0].get_text() == "7"
    with pytest.raises(ValueError, match="y_max < y_min"):
        plots.draw_box(ax, (5, 3, 2, 9))
