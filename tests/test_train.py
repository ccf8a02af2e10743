"""cnncourse.train: compile helpers, schedules, the epoch timer and the data pipelines."""
import time

import numpy as np
import pytest

import keras  # noqa: E402  (required: requirements.txt)

from cnncourse import train  # noqa: E402
from cnncourse.train import FlipShiftBatches, TriangularSchedule, one_cycle_schedule  # noqa: E402
from cnncourse.models import lenet5  # noqa: E402
from tiny_models import labelled_images  # noqa: E402


def tiny_model():
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="d")])


# ----------------------------------------------------------------------------- modes and compiling

def test_verbose_is_silent_in_fast_mode_and_one_line_per_epoch_in_full_mode(monkeypatch):
    monkeypatch.setenv("CNNCOURSE_FAST", "1")
    assert train.verbose() == 0
    monkeypatch.setenv("CNNCOURSE_FAST", "0")
    assert train.verbose() == 2


@pytest.mark.parametrize("optimizer, kind", [("adam", keras.optimizers.Adam), ("sgd", keras.optimizers.SGD)])
def test_compile_classifier_sets_the_optimizer_loss_and_metric(optimizer, kind):
    model = train.compile_classifier(tiny_model(), learning_rate=0.01, optimizer=optimizer)
    assert isinstance(model.optimizer, kind)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    assert model.loss == "sparse_categorical_crossentropy"
    x = np.random.default_rng(0).random((8, 4)).astype("float32")
    logs = model.evaluate(x, np.arange(8) % 3, verbose=0, return_dict=True)
    assert set(logs) == {"loss", "accuracy"}
    if optimizer == "sgd":
        assert float(model.optimizer.momentum) == pytest.approx(0.9)


def test_compile_classifier_refuses_bad_arguments():
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'sgd'"):
        train.compile_classifier(tiny_model(), optimizer="rmsprop")
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        train.compile_classifier("lenet")


def test_compile_sgd_decays_kernels_not_biases_and_switches_xla_off():
    model = train.compile_sgd(tiny_model(), 0.1, momentum=0.8, weight_decay=5e-3)
    opt = model.optimizer
    assert opt.nesterov and float(opt.momentum) == pytest.approx(0.8)
    assert opt.weight_decay == pytest.approx(5e-3)
    layer = model.get_layer("d")
    assert opt._use_weight_decay(layer.kernel) and not opt._use_weight_decay(layer.bias)
    assert model.jit_compile is train.jit_compile_default()
    assert train.jit_compile_default() is (keras.backend.backend() == "jax")   # XLA off on TF, jax.jit on JAX
    plain = train.compile_sgd(tiny_model(), 0.1, weight_decay=0.0)
    assert plain.optimizer.weight_decay is None
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        train.compile_sgd(None, 0.1)
    with pytest.raises(TypeError, match="weight_decay must be a number"):
        train.compile_sgd(tiny_model(), 0.1, weight_decay="big")


# ----------------------------------------------------------------------------- schedules

def test_warmup_cosine_schedule_follows_its_formula():
    peak, total, warm, final = 0.4, 50, 10, 0.1
    s = train.warmup_cosine_schedule(peak, total, warmup_steps=warm, final_fraction=final)
    for step in range(0, total + 1, 5):
        if step < warm:
            expected = peak * step / warm
        else:
            cosine = 0.5 * (1 + np.cos(np.pi * (step - warm) / (total - warm)))
            expected = peak * ((1 - final) * cosine + final)
        assert float(s(step)) == pytest.approx(expected, rel=1e-5, abs=1e-7), step
    assert float(s(10 * total)) == pytest.approx(peak * final)            # stays at the floor
    assert float(train.warmup_cosine_schedule(0.3, 10)(0)) == pytest.approx(0.3)   # no warm-up


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(peak_learning_rate=-1.0), ValueError, "peak_learning_rate must be a number > 0"),
    (dict(total_steps=0), ValueError, "total_steps must be a whole number >= 1"),
    (dict(warmup_steps=11), ValueError, r"warmup_steps must be a whole number in \[0, 10\]"),
    (dict(warmup_steps=1.5), TypeError, "warmup_steps"),
    (dict(final_fraction=1.0), ValueError, r"final_fraction must be a number in \[0, 1\)"),
])
def test_warmup_cosine_schedule_refuses_bad_arguments(kwargs, error, match):
    args = dict(peak_learning_rate=0.1, total_steps=10)
    args.update(kwargs)
    with pytest.raises(error, match=match):
        train.warmup_cosine_schedule(**args)


def test_one_cycle_and_lenet5_schedules_are_the_warmup_cosine_in_other_units():
    one = train.one_cycle_schedule(0.2, 100, warmup_fraction=0.25, final_fraction=0.05)
    same = train.warmup_cosine_schedule(0.2, 100, warmup_steps=25, final_fraction=0.05)
    by_epochs = train.lenet5_schedule(20, 5, peak_learning_rate=0.2, warmup_epochs=1.25)
    for step in (0, 7, 25, 60, 100):
        assert float(one(step)) == pytest.approx(float(same(step)))
        assert float(by_epochs(step)) == pytest.approx(float(
            train.warmup_cosine_schedule(0.2, 100, warmup_steps=25)(step)))


def test_one_cycle_schedule_shape_and_errors():
    s = one_cycle_schedule(0.2, 100, warmup_fraction=0.25, final_fraction=0.0)
    rates = np.array([float(s(step)) for step in range(101)])
    assert rates[0] == pytest.approx(0.0) and rates.argmax() == 25 and rates.max() == pytest.approx(0.2)
    assert np.all(np.diff(rates[:26]) > 0) and np.all(np.diff(rates[25:]) <= 1e-9)
    assert rates[-1] == pytest.approx(0.0, abs=1e-6)
    no_warmup = one_cycle_schedule(0.1, 10, warmup_fraction=0.0)
    assert float(no_warmup(0)) == pytest.approx(0.1)
    for kwargs, match in [(dict(peak_learning_rate=0), "peak_learning_rate must be a number > 0"),
                          (dict(total_steps=1), "total_steps must be a whole number >= 2"),
                          (dict(warmup_fraction=1.0), r"warmup_fraction must be a number in \[0, 1\)")]:
        args = dict(peak_learning_rate=0.1, total_steps=10)
        args.update(kwargs)
        with pytest.raises(ValueError, match=match):
            one_cycle_schedule(**args)


def test_triangular_schedule():
    s = TriangularSchedule(2.0, 200, start=0.2, peak_at=0.25, end=0.1)
    values = [float(s(t)) for t in (0, 25, 50, 125, 200, 300)]
    np.testing.assert_allclose(values, [0.4, 1.2, 2.0, 1.1, 0.2, 0.2], rtol=1e-5)
    with pytest.raises(ValueError, match=r"peak_at must be a number in \(0, 1\)"):
        TriangularSchedule(1.0, 10, peak_at=1.0)
    with pytest.raises(TypeError, match="total_steps must be a whole number"):
        TriangularSchedule(1.0, 10.0)
    with pytest.raises(ValueError, match="peak must be a number > 0"):
        TriangularSchedule(0.0, 10)


# ----------------------------------------------------------------------------- the timer

def test_epoch_timer_records_each_epochs_duration():
    class Slow(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(0.05 * (epoch + 1))        # epoch k takes at least 0.05 * (k + 1) s

    model = train.compile_classifier(tiny_model())
    timer = train.EpochTimer()
    x = np.zeros((4, 4), "float32")
    model.fit(x, np.zeros(4, int), epochs=3, verbose=0, callbacks=[Slow(), timer])
    assert len(timer.seconds) == 3
    assert all(t >= 0.05 * (k + 1) for k, t in enumerate(timer.seconds))
    model.fit(x, np.zeros(4, int), epochs=1, verbose=0, callbacks=[timer])
    assert len(timer.seconds) == 1                                     # a new fit starts a new record


# ----------------------------------------------------------------------------- LeNet-5's recipe (notebook 05)

def test_lenet5_schedule_warms_up_then_decays_to_zero():
    schedule = train.lenet5_schedule(100, 10, peak_learning_rate=2e-3, warmup_epochs=0.5)
    rates = np.array([float(schedule(s)) for s in range(0, 1001, 10)])
    assert rates[0] == 0.0
    assert np.isclose(float(schedule(50)), 2e-3)                 # peak at the end of the warm-up
    assert np.all(np.diff(rates[:6]) > 0)                        # rising during the warm-up
    assert np.all(np.diff(rates[5:]) <= 1e-12)                   # then never rising again
    assert np.isclose(float(schedule(1000)), 0.0, atol=1e-9)     # 0 at the last step
    # halfway through the cosine part, half the peak
    assert np.isclose(float(schedule(50 + 475)), 1e-3, rtol=1e-3)
    default = train.lenet5_schedule(10, 5)
    assert np.isclose(float(default(round(train.LENET5_RECIPE["warmup_epochs"] * 10))),
                      train.LENET5_RECIPE["peak_learning_rate"])


@pytest.mark.parametrize("kwargs, error, word", [
    ({"steps_per_epoch": 0, "epochs": 3}, ValueError, "steps_per_epoch"),
    ({"steps_per_epoch": 10, "epochs": 2.5}, TypeError, "epochs"),
    ({"steps_per_epoch": 10, "epochs": 3, "peak_learning_rate": -1e-3}, ValueError, "peak_learning_rate"),
    ({"steps_per_epoch": 10, "epochs": 3, "peak_learning_rate": "fast"}, TypeError, "peak_learning_rate"),
    ({"steps_per_epoch": 10, "epochs": 3, "warmup_epochs": 3}, ValueError, "warmup_epochs"),
    ({"steps_per_epoch": 10, "epochs": 3, "warmup_epochs": -1}, ValueError, "warmup_epochs"),
])
def test_lenet5_schedule_refuses_bad_arguments(kwargs, error, word):
    with pytest.raises(error, match=word):
        train.lenet5_schedule(**kwargs)


def test_compile_lenet5_uses_adam_on_the_schedule_and_trains():
    keras.utils.set_random_seed(0)
    model = train.compile_lenet5(lenet5(), steps_per_epoch=4, epochs=2)
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert isinstance(model.optimizer._learning_rate, keras.optimizers.schedules.CosineDecay)
    x = np.random.default_rng(0).random((64, 32, 32, 1)).astype("float32")
    y = np.arange(64) % 10
    hist = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    assert set(hist.history) >= {"loss", "accuracy"}
    assert int(model.optimizer.iterations) == 8
    with pytest.raises(TypeError, match="model"):
        train.compile_lenet5("lenet", 4, 2)


def test_batch_shift_dataset_shuffles_batches_and_shifts_without_losing_ink():
    n = 40
    x = np.zeros((n, 32, 32, 1), "float32")
    x[:, 15:17, 15:17, 0] = 1.0                   # a 2x2 blob in the middle of every image
    y = np.arange(n) % 10
    x[np.arange(n), 0, 0, 0] = 0                  # (keep the frame empty)
    x *= (1 + np.arange(n))[:, None, None, None]  # tell the images apart by their brightness
    ds = train.batch_shift_dataset(x, y, batch_size=16, shift=2, seed=0)
    batches = list(ds)
    assert [tuple(b.shape) for b, _ in batches] == [(16, 32, 32, 1), (16, 32, 32, 1), (8, 32, 32, 1)]
    images = np.concatenate([np.asarray(b) for b, _ in batches])
    labels = np.concatenate([np.asarray(l) for _, l in batches])
    ids = images.max(axis=(1, 2, 3)).round().astype(int) - 1
    assert sorted(ids.tolist()) == list(range(n)) and ids.tolist() != list(range(n))   # all, shuffled
    np.testing.assert_array_equal(labels, y[ids])                                     # labels follow
    np.testing.assert_allclose(images.sum(axis=(1, 2, 3)), x[ids].sum(axis=(1, 2, 3)))  # no ink lost
    def offsets(batch):
        return {(int(r.min()) - 15, int(c.min()) - 15) for r, c in (np.nonzero(im) for im in np.asarray(batch)[..., 0])}

    for b, _ in batches:                            # one shift per batch, within -2..2
        moved = offsets(b)
        assert len(moved) == 1 and all(-2 <= d <= 2 for d in next(iter(moved)))
    # over epochs the shifts are random, in both directions
    seen = set().union(*(offsets(b) for _ in range(8) for b, _ in ds))
    assert len(seen) > 5 and {d for d, _ in seen} & {-2, -1} and {d for _, d in seen} & {1, 2}
    plain = np.concatenate([np.asarray(b) for b, _ in train.batch_shift_dataset(x, y, shift=0)])
    assert all(np.array_equal(np.nonzero(img)[0], [15, 15, 16, 16]) for img in plain[..., 0])


@pytest.mark.parametrize("kwargs, error, word", [
    ({"x": np.zeros((4, 32, 32))}, ValueError, "x must be"),
    ({"y": np.zeros(3)}, ValueError, "y must be"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"shift": -1}, ValueError, "shift"),
    ({"shift": 32}, ValueError, "shift"),
    ({"shift": 1.5}, TypeError, "shift"),
])
def test_batch_shift_dataset_refuses_bad_arguments(kwargs, error, word):
    args = {"x": np.zeros((4, 32, 32, 1), "float32"), "y": np.zeros(4, "int64")}
    args.update(kwargs)
    with pytest.raises(error, match=word):
        train.batch_shift_dataset(**args)


# ----------------------------------------------------------------------------- FlipShiftBatches (notebook 07)

def test_batches_keep_labels_with_their_images_and_alternate_flips():
    x, y = labelled_images(10)                      # ten images, one per label
    ds = FlipShiftBatches(x, y, batch_size=4, shift=0, seed=3)
    assert len(ds) == 3

    def epoch():
        images, labels = zip(*(ds[i] for i in range(len(ds))))
        images, labels = np.concatenate(images), np.concatenate(labels).argmax(axis=1)
        np.testing.assert_allclose(images.max(axis=(1, 2, 3)), labels / 10)   # labels follow images
        assert sorted(labels) == list(range(10))
        # mirrored: the bright half is on the right (label 0 is black either way)
        return {int(l): bool(img[:, 4:].sum() > img[:, :4].sum()) for img, l in zip(images, labels) if l}

    first = epoch()
    ds.on_epoch_end()
    second = epoch()
    ds.on_epoch_end()
    third = epoch()
    assert all(first[k] != second[k] for k in first)      # each image mirrored in every other epoch
    assert first == third
    assert 0 < sum(first.values()) < 9                    # a random half, not all or none


def test_batch_shifts_are_reflect_padded_crops_within_range():
    rng = np.random.default_rng(0)
    x = rng.random((30, 8, 8, 3)).astype("float32")
    y = np.zeros(30, int)
    ds = FlipShiftBatches(x, y, batch_size=30, shift=2, flip=False, seed=0)
    out = ds[0][0]
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    for img, idx in zip(out, ds.order):
        crops = [padded[idx, a:a + 8, b:b + 8] for a in range(5) for b in range(5)]
        assert any(np.array_equal(img, c) for c in crops)
    assert sum(np.array_equal(img, x[idx]) for img, idx in zip(out, ds.order)) < 30   # some moved


@pytest.mark.parametrize("kwargs, error, match", [
    ({"batch_size": 0}, ValueError, "batch_size must be a whole number >= 1"),
    ({"shift": 8}, ValueError, "shift must be smaller"),
    ({"flip": "yes"}, TypeError, "flip must be True or False"),
    ({"num_classes": 5}, ValueError, r"labels in 0..4"),
])
def test_batches_argument_checks(kwargs, error, match):
    x, y = labelled_images()
    with pytest.raises(error, match=match):
        FlipShiftBatches(x, y, **kwargs)
    with pytest.raises(ValueError, match="one integer label per image"):
        FlipShiftBatches(x, y[:-1])
    with pytest.raises(TypeError, match="integer class labels"):
        FlipShiftBatches(x, y.astype(float))
