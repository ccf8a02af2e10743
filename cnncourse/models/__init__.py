"""Model builders, one module per architecture."""
from cnncourse.models.lenet import lenet5
from cnncourse.models.alexnet import alexnet, alexnet_cifar
from cnncourse.models.vgg import vgg7_cifar, vgg16, vgg_cifar
