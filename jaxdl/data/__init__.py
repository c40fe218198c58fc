"""Data: the ``Dataset`` container and the data sets that need no download."""

from jaxdl.data._augment import compose, random_crop, random_flip, with_augmentation
from jaxdl.data._container import Dataset
from jaxdl.data._digits import digits
from jaxdl.data._idx import mnist_idx, read_idx
from jaxdl.data._label_noise import with_label_noise
from jaxdl.data._mnist1d import mnist1d
from jaxdl.data._tfds_images import TFDS_IMAGE_SETS, tfds_images
from jaxdl.data._toy import binary_1d, binary_1d_probability, blobs, circles, linear_1d, moons, sine_1d, spirals, xor

__all__ = ["Dataset", "TFDS_IMAGE_SETS", "tfds_images", "with_label_noise", "random_crop", "random_flip", "compose",
           "with_augmentation", "digits", "mnist_idx", "read_idx", "mnist1d", "binary_1d", "binary_1d_probability", "blobs", "circles", "linear_1d", "moons", "sine_1d", "spirals", "xor"]
