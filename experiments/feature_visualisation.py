"""Feature visualisation and attribution: what a trained CNN has learned, and which pixels its
answers depend on.

    python experiments/feature_visualisation.py [--quick] [--out DIR] [--data-dir MNIST_IDX_DIR]

With ``--data-dir`` holding MNIST's IDX files (the 10,000-image test set: the first 8,000
train, the last 2,000 test), a LeNet-5; without, scikit-learn's 8x8 digits and a small CNN.
After training:

1. the first convolution's filters (what the lectures show for AlexNet's first layer);
2. one input per class that maximises its logit, and one per channel of the last
   convolution that maximises its mean activation (Olah et al. 2017; Lucent's recipe: Adam
   0.05, jitter, scale 0.9-1.1, rotation +-10 degrees, a little total variation), every
   class (every channel) one row of one batched program;
3. saliency, SmoothGrad (noise 0.15, 25 samples), Integrated Gradients (black baseline) and
   Grad-CAM at the last convolution for a few test digits;
4. the deletion test: the accuracy after setting the top 5-30% of each test image's pixels,
   ranked by each method, to black, against a random ranking (a faithful method drops the
   accuracy faster).

Writes ``filters.png``, ``classes.png``, ``channels.png``, ``attributions.png``,
``deletion.png`` and ``feature_visualisation.json``.
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxdl
from jaxdl.analysis import channel_score, class_score, deletion_accuracy
from jaxdl.experiment import Param, main
from jaxdl.plotting import plot_attributions, plot_curves, plot_filters, plot_image_grid

CONFIG = {
    "data_dir": Param(None, "a directory of MNIST IDX files (default: scikit-learn's 8x8 digits)"),
    "epochs": Param(15, "training epochs (Adam, batch 128)", minimum=1),
    "lr": Param(1e-3, "Adam learning rate", minimum=0.0),
    "steps": Param(512, "gradient-ascent steps of each visualisation (Lucent: 512)", minimum=1),
    "vis_lr": Param(0.05, "Adam learning rate of the visualisations (Lucent: 0.05)", minimum=0.0),
    "samples": Param(25, "SmoothGrad samples", minimum=1),
    "ig_steps": Param(64, "Integrated Gradients intervals", minimum=1),
    "deletion_count": Param(1000, "test images in the deletion test", minimum=1),
    "seed": Param(0, "initialisation, data order and noise seed", minimum=0),
}
QUICK = {"epochs": 1, "steps": 8, "samples": 3, "ig_steps": 4, "deletion_count": 64}
FRACTIONS = [0.0, 0.05, 0.1, 0.2, 0.3]


def load(config):
    if config.data_dir:
        data = jaxdl.data.mnist_idx(config.data_dir, train_count=8000)
        return data, jaxdl.LeNet5(), "c1", "c3", 1
    data = jaxdl.data.digits(key=jax.random.key(0), flatten=False)
    return data, jaxdl.SmallCNN(channels=(16, 32), hidden=64), "conv_0", "conv_1", 0


def trained(model, data, config, out) -> jaxdl.TrainState:
    key = jax.random.key(config.seed)
    state = jaxdl.create_train_state(model, optax.adam(config.lr), key=key, input_shape=data.input_shape)
    steps_per_epoch = -(-data.num_train // 128)
    return jaxdl.fit(state, data, jaxdl.make_train_step(jaxdl.softmax_cross_entropy), key=key,
                     num_steps=config.epochs * steps_per_epoch, batch_size=min(128, data.num_train),
                     workdir=os.path.join(out, "train"), checkpoint_every=steps_per_epoch,
                     progress=config.progress, description=f"{type(model).__name__} on {data.name}").state


def visualise(score, count, shape, config, jitter):
    x0 = 0.5 + 0.01 * jax.random.normal(jax.random.key(config.seed + 1), (count, *shape))
    start = time.perf_counter()
    images = jaxdl.maximize_activation(score, x0, steps=config.steps, learning_rate=config.vis_lr, tv=1e-3,
                                       jitter=jitter, scale=(0.9, 1.1), rotate=10.0, key=jax.random.key(config.seed))
    return jax.block_until_ready(images), time.perf_counter() - start, x0


def attributions(model, variables, last, x, y, config) -> dict:
    logits_fn = lambda v: model.apply(variables, v)
    score = class_score(logits_fn, y)
    return {"saliency": jaxdl.saliency(score, x),
            "SmoothGrad": jaxdl.smoothgrad(score, x, key=jax.random.key(config.seed + 2), samples=config.samples),
            "Integrated Gradients": jaxdl.integrated_gradients(score, x, steps=config.ig_steps),
            "Grad-CAM": jaxdl.grad_cam(model, variables, last, x, y).upsampled}


def run(config, out: str) -> dict:
    data, model, first, last, jitter = load(config)
    state = trained(model, data, config, out)
    variables = {"params": state.params}
    logits_fn = lambda v: model.apply(variables, v)
    report = {"data": data.name, "model": type(model).__name__, "test_accuracy":
              float(np.mean(np.argmax(jaxdl.predict(state, data.x_test), -1) == data.y_test))}
    plot_filters(state.params[first]["kernel"], os.path.join(out, "filters.png"), title=f"{first}'s filters")

    classes, seconds, x0 = visualise(class_score(logits_fn, jnp.arange(10)), 10, data.input_shape, config, jitter)
    probs = jax.nn.softmax(logits_fn(classes))
    report["classes"] = {"seconds": seconds, "softmax_of_own_class": np.asarray(probs[jnp.arange(10), jnp.arange(10)]).tolist(),
                         "score_gain": np.asarray(class_score(logits_fn, jnp.arange(10))(classes) -
                                                  class_score(logits_fn, jnp.arange(10))(x0)).tolist()}
    plot_image_grid(classes, os.path.join(out, "classes.png"), ncols=5,
                    titles=[f"{c}: p={float(probs[c, c]):.2f}" for c in range(10)], title="inputs that maximise each logit")
    channels_k = state.params[last]["kernel"].shape[-1]
    act = jaxdl.layer_activation(model, variables, last)
    channels, seconds, _ = visualise(channel_score(act, jnp.arange(channels_k)), channels_k, data.input_shape, config,
                                     jitter)
    report["channels"] = {"count": channels_k, "seconds": seconds}
    plot_image_grid(channels, os.path.join(out, "channels.png"), titles=[str(k) for k in range(channels_k)],
                    title=f"inputs that maximise each channel of {last}")

    x, y = data.x_test[:8], data.y_test[:8]
    maps = attributions(model, variables, last, x, y, config)
    plot_attributions(x, maps, os.path.join(out, "attributions.png"), titles=[f"label {int(v)}" for v in y])
    n = min(config.deletion_count, data.num_test)
    xd, yd = data.x_test[:n], data.y_test[:n]
    all_maps = attributions(model, variables, last, xd, yd, config)
    all_maps["random"] = jax.random.uniform(jax.random.key(config.seed + 3), xd.shape[:3])
    deletion = {name: np.asarray(deletion_accuracy(logits_fn, xd, yd, m, FRACTIONS)).tolist()
                for name, m in all_maps.items()}
    report["deletion"] = {"fractions": FRACTIONS, "images": n, "accuracy": deletion}
    plot_curves(FRACTIONS, deletion, os.path.join(out, "deletion.png"), xlabel="fraction of pixels set to black",
                ylabel="accuracy", title="deletion test: most-attributed pixels first")
    for name, acc in deletion.items():
        print(f"deletion, {name:20s}: " + ", ".join(f"{a:.3f}" for a in acc) + f"  (fractions {FRACTIONS})")
    print(f"test accuracy {report['test_accuracy']:.4f}; 10 classes rendered in {report['classes']['seconds']:.1f} s, "
          f"{channels_k} channels in {seconds:.1f} s")
    return report


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)
