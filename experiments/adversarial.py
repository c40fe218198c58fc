"""Adversarial examples: how far a small perturbation moves a trained network, and what
adversarial training buys.

    python experiments/adversarial.py [--quick] [--out DIR] [--data-dir MNIST_IDX_DIR]

With ``--data-dir`` holding MNIST's IDX files (e.g. the 10,000-image test set: the first 8,000
train, the last 2,000 test), a LeNet-5; without, scikit-learn's 8x8 digits and a small CNN.
Pixels in ``[0, 1]``, attacks in the L-infinity ball inside that box:

1. **A standard network** (Adam, cross-entropy): clean accuracy, FGSM accuracy (Goodfellow et
   al. 2015) and PGD-40 accuracy (Madry et al. 2018; step ``2.5 eps / 40``, one random start)
   at eps 0, .05, ..., .3, next to the PyTorch FGSM tutorial's published curve.
2. **The same network adversarially trained** (every batch replaced by its PGD examples at eps
   0.3, Madry et al., the budget ramped up from 0 over the first epochs): clean and PGD robust accuracy over the same budgets, next to the MNIST
   challenge's numbers for Madry's model.

Each curve is one ``jaxdl.robust_accuracy`` call: every budget in one program. Writes
``curves.png`` (accuracy against eps), ``examples_standard.png`` and ``examples_robust.png``
(clean vs PGD images at eps 0.2, with predictions), ``adversarial.json``, and each run's
checkpoints (a rerun with the same ``--out`` resumes).
"""

from __future__ import annotations

import functools
import os
import time

import jax
import numpy as np
import optax

import jaxdl
from jaxdl.experiment import Param, main
from jaxdl.plotting import plot_adversarial_examples, plot_curves

# PyTorch's "Adversarial Example Generation" tutorial (pytorch.org/tutorials/beginner/fgsm_tutorial),
# its LeNet on MNIST: FGSM accuracy at eps 0, .05, ..., .3 (published output of the tutorial).
PYTORCH_TUTORIAL_FGSM = {0.0: 0.981, 0.05: 0.943, 0.1: 0.851, 0.15: 0.683, 0.2: 0.430, 0.25: 0.208, 0.3: 0.087}
# MadryLab/mnist_challenge leaderboard, white-box, eps 0.3, their adversarially trained model.
MADRY_MNIST = {"PGD-100 (1 restart)": 0.925, "PGD, 50 random restarts": 0.896, "best attack on the leaderboard": 0.880}

CONFIG = {
    "data_dir": Param(None, "a directory of MNIST IDX files (default: scikit-learn's 8x8 digits)"),
    "train_count": Param(8000, "with the t10k files only: train on the first N images", minimum=1),
    "epochs": Param(15, "epochs of the standard network", minimum=1),
    "robust_epochs": Param(15, "epochs of the adversarially trained network", minimum=1),
    "batch_size": Param(128, "examples per step", minimum=1),
    "lr": Param(1e-3, "Adam learning rate", minimum=0.0),
    "train_eps": Param(0.3, "adversarial training's L-infinity budget", minimum=0.0),
    "train_steps": Param(40, "PGD steps per training batch (Madry et al.: 40)", minimum=1),
    "ramp_epochs": Param(5, "epochs over which the training budget rises linearly from 0 to --train-eps (0: none; "
                            "a LeNet-5 trained at eps 0.3 from the first step stays at chance)", minimum=0),
    "eval_steps": Param(40, "PGD steps of the evaluation attack", minimum=1),
    "eps": Param("0,0.05,0.1,0.15,0.2,0.25,0.3", "the budgets evaluated, comma-separated"),
    "eval_count": Param(None, "attack only the first N test images (default all)", minimum=1, kind=int),
    "seed": Param(0, "initialisation, data order and attack seed", minimum=0),
}
QUICK = {"epochs": 1, "robust_epochs": 1, "train_steps": 2, "eval_steps": 3, "eps": "0,0.1,0.3", "eval_count": 64,
         "batch_size": 64}


def load(config) -> tuple[jaxdl.Dataset, object]:
    if config.data_dir:
        return jaxdl.data.mnist_idx(config.data_dir, train_count=config.train_count), jaxdl.LeNet5()
    return jaxdl.data.digits(key=jax.random.key(0), flatten=False), jaxdl.SmallCNN(channels=(16, 32), hidden=64)


def train(model, data, config, out, gradients, name) -> jaxdl.TrainState:
    key = jax.random.fold_in(jax.random.key(config.seed), len(name))
    state = jaxdl.create_train_state(model, optax.adam(config.lr), key=key, input_shape=data.input_shape)
    batch_size = min(config.batch_size, data.num_train)
    epochs = config.epochs if name == "standard" else config.robust_epochs
    steps_per_epoch = -(-data.num_train // batch_size)
    return jaxdl.fit(state, data, jaxdl.gradient_step(gradients), key=key, num_steps=epochs * steps_per_epoch,
                     batch_size=batch_size, workdir=os.path.join(out, name), checkpoint_every=steps_per_epoch,
                     progress=config.progress, description=f"{name} {type(model).__name__}").state


def attack_curves(state, x, y, eps, config) -> dict:
    logits_fn = functools.partial(lambda s, v: s.apply_fn({"params": s.params, **s.model_state}, v), state)
    key = jax.random.key(config.seed + 1)
    fgsm = jaxdl.robust_accuracy(logits_fn, x, y, eps=eps, attack="fgsm")
    pgd = jaxdl.robust_accuracy(logits_fn, x, y, eps=eps, attack="pgd", steps=config.eval_steps, key=key)
    return {"fgsm": np.asarray(fgsm).tolist(), "pgd": np.asarray(pgd).tolist()}


def examples(state, x, y, path, title, config) -> str:
    logits_fn = lambda v: state.apply_fn({"params": state.params, **state.model_state}, v)
    x, y = x[:8], y[:8]
    x_adv = jaxdl.pgd(logits_fn, x, y, eps=0.2, steps=config.eval_steps, key=jax.random.key(config.seed))
    return plot_adversarial_examples(x, x_adv, y, np.argmax(logits_fn(x), -1), np.argmax(logits_fn(x_adv), -1), path,
                                     title=title)


def run(config, out: str) -> dict:
    data, model = load(config)
    eps = [float(e) for e in str(config.eps).split(",")]
    n = data.num_test if config.eval_count is None else min(config.eval_count, data.num_test)
    x, y = data.x_test[:n], data.y_test[:n]
    print(f"data: {data.name}, {data.num_train} training and {n} attacked test images; model {type(model).__name__}")
    loss = jaxdl.loss_gradients(jaxdl.softmax_cross_entropy)
    pgd_train = functools.partial(jaxdl.pgd, steps=config.train_steps)
    ramp = config.ramp_epochs * -(-data.num_train // min(config.batch_size, data.num_train))
    train_eps = optax.linear_schedule(0.0, config.train_eps, ramp) if ramp else config.train_eps
    report, curves, timings = {"eps": eps, "num_train": data.num_train, "num_attacked": n}, {}, {}
    for name, gradients in (("standard", loss), ("robust", jaxdl.adversarial(loss, pgd_train, eps=train_eps))):
        start = time.perf_counter()
        state = train(model, data, config, out, gradients, name)
        timings[f"train_{name}"] = time.perf_counter() - start
        start = time.perf_counter()
        report[name] = attack_curves(state, x, y, eps, config)
        timings[f"attack_{name}"] = time.perf_counter() - start
        curves[f"{name}, FGSM"], curves[f"{name}, PGD-{config.eval_steps}"] = report[name]["fgsm"], report[name]["pgd"]
        examples(state, x, y, os.path.join(out, f"examples_{name}.png"),
                 f"{name} network: PGD-{config.eval_steps} at eps 0.2 (true: clean prediction)", config)
        print(f"{name:8s}: clean {report[name]['pgd'][0]:.3f}; FGSM " +
              ", ".join(f"{a:.3f}" for a in report[name]["fgsm"]) + f"; PGD-{config.eval_steps} " +
              ", ".join(f"{a:.3f}" for a in report[name]["pgd"]) + f"  (eps {eps})")
    plot_curves(eps, curves, os.path.join(out, "curves.png"), xlabel="eps (L-infinity)", ylabel="accuracy",
                title=f"{type(model).__name__} on {data.name}")
    report.update(seconds=timings, param_count=jaxdl.param_count(state.params), data=data.name,
                  pytorch_tutorial_fgsm=PYTORCH_TUTORIAL_FGSM, madry_mnist_challenge=MADRY_MNIST)
    return report


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)
