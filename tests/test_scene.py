"""cnncourse.models.scene: the network of notebook 09 (mask, box and digit heads) and its
fully convolutional mask path."""
import numpy as np
import pytest

from cnncourse.models import mask_network, scene_net


def test_scene_net_heads_and_its_fully_convolutional_path():
    import keras

    keras.utils.set_random_seed(0)
    net = scene_net(canvas_size=48, width=2)
    out = net(np.zeros((3, 48, 48, 1), "float32"))
    assert tuple(out["mask"].shape) == (3, 48, 48, 11)
    assert tuple(out["box"].shape) == (3, 4) and tuple(out["digit"].shape) == (3, 10)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out["mask"]).sum(-1), 1.0, rtol=1e-5)
    seg = mask_network(net)
    x = np.random.default_rng(0).random((2, 48, 48, 1)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(seg(x)),
                               keras.ops.convert_to_numpy(net(x)["mask"]), atol=1e-6)   # same weights
    assert tuple(seg(np.zeros((1, 96, 80, 1), "float32")).shape) == (1, 96, 80, 11)
    assert seg.count_params() < net.count_params()
    assert scene_net().count_params() == 207_969
    with pytest.raises(ValueError, match="canvas_size must be a whole multiple of 8"):
        scene_net(canvas_size=50)
    with pytest.raises(ValueError, match="width"):
        scene_net(width=0)
    with pytest.raises(ValueError, match="made by scene_net"):
        mask_network(keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten()]))
    with pytest.raises(TypeError, match="made by scene_net"):           # not a model: a wrong type
        mask_network("scene_net")
    with pytest.raises(TypeError, match="canvas_size must be a whole multiple of 8"):
        scene_net(canvas_size=48.0)
