r"""
15. Convolutional networks: LeNet-5 to ResNet
=============================================

A convolution shares one small filter across every position of the image, so a layer has
:math:`F^2 C_{in} C_{out} + C_{out}` parameters whatever the image size, and its output size is
:math:`(N - F + 2P)/S + 1`. LeNet-5 (LeCun et al. 1998) stacks two convolutions and two
poolings before three dense layers (61,706 parameters); AlexNet, VGG, Inception and ResNet
(He et al. 2016: residual blocks, batch norm) are in ``jaxdl.models``. Every jaxdl CNN uses
``jaxdl.Conv2D``, a drop-in for ``flax.linen.Conv`` whose formulation is chosen per backend.
This page trains a small CNN on scikit-learn's 8x8 digits when the site is built; LeNet-5 on
real MNIST needs the IDX files (``--data-dir``), so its figures below are the full run's,
committed with the command that regenerates them.

Full configuration: ``python experiments/mnist_cnn.py --data-dir DIR --train-count 8000``
(LeNet-5, Adam, 15 epochs, the t10k files split 8,000 / 2,000): **98.50%** (30 of 2,000 wrong,
13.5 s of training on a 2-core CPU, 2026-12-07; ``benchmarks/REPORT.md`` §2). Published: LeNet-5's 0.95% test error, i.e. 99.05%, trained on
all 60,000 MNIST training images (LeCun et al. 1998, Fig. 9).
"""

# %%
# The lines of jaxdl
# ------------------
import jax
import optax

import jaxdl

data = jaxdl.data.digits(key=jax.random.key(0), flatten=False)         # [N, 8, 8, 1]
model = jaxdl.SmallCNN(channels=(16, 32), hidden=64)
print("LeNet-5 parameters:", jaxdl.param_count(
    jaxdl.LeNet5().init(jax.random.key(0), jax.numpy.zeros((1, 28, 28, 1)))["params"]))
state = jaxdl.create_train_state(model, optax.adam(1e-3), key=jax.random.key(1), input_shape=data.input_shape)
metrics = {"accuracy": jaxdl.accuracy}
result = jaxdl.fit(state, data, jaxdl.make_train_step(jaxdl.softmax_cross_entropy, metrics=metrics),
                   key=jax.random.key(2), num_steps=600, batch_size=64, progress=False,
                   eval_step=jaxdl.make_eval_step(jaxdl.softmax_cross_entropy, metrics=metrics))
print(f"digits test accuracy: {result.history[-1]['eval_accuracy']:.3f}")

# %%
# The experiment, run when this page was built
# --------------------------------------------
import os

from course_helpers import DOCS, show

# The full configuration's figures (committed; regenerate with the command above and
# `cp runs/mnist_cnn/*.png docs/_static/figures/mnist_cnn/`).
folder = os.path.join(DOCS, "_static", "figures", "mnist_cnn")
for png in sorted(os.listdir(folder)):
    show(os.path.join(folder, png))
