"""Every model of the course, one module per architecture; the builders are exported here.

- ``models.lenet``: :func:`lenet5` (notebooks 05, 07, 08)
- ``models.alexnets``: :func:`alexnet`, :func:`alexnet_cifar` (06, 07)
- ``models.vgg``: :func:`vgg16`, :func:`vgg_cifar`, :func:`vgg7_cifar` (07)
- ``models.scene``: :func:`scene_net`, :func:`mask_network` (09)

The layers they are made of are in :mod:`cnncourse.layers`, their training in
:mod:`cnncourse.train`. Module names differ from the builders' names, so
``cnncourse.models.alexnet`` is always the function.
"""
from cnncourse.models.lenet import lenet5
from cnncourse.models.alexnets import alexnet, alexnet_cifar
from cnncourse.models.vgg import vgg7_cifar, vgg16, vgg_cifar
from cnncourse.models.scene import mask_network, scene_net

__all__ = ["lenet5", "alexnet", "alexnet_cifar", "vgg16", "vgg_cifar", "vgg7_cifar", "scene_net",
           "mask_network"]
