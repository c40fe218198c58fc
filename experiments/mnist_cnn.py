"""The lectures' code example 5: LeNet-5 on MNIST with Adam.

    python experiments/mnist_cnn.py --data-dir DIR --train-count 8000   # IDX files (.gz or raw)
    python experiments/mnist_cnn.py --tfds mnist                        # tfds data_source (prepared)
    python experiments/mnist_cnn.py --data-dir DIR --quick              # one epoch of 512 images, for tests

With ``--data-dir`` holding only the 10,000-image test set (``t10k-*``), ``--train-count
8000`` trains on its first 8,000 images and tests on the last 2,000; with both ``train-*``
and ``t10k-*`` it trains on the 60,000 and tests on the 10,000. Shows a progress bar, prints
the test accuracy and writes to ``--out``: ``metrics.json`` (accuracy, per-class accuracy,
confusion matrix, timings), ``confusion_matrix.png``, ``misclassified.png``, ``curves.png``,
``history.jsonl`` and checkpoints (a rerun with the same ``--out`` resumes).
"""

from __future__ import annotations

import os
import time

import jax
import numpy as np
import optax

import jaxdl
from jaxdl.experiment import Param, main
from jaxdl.plotting import plot_confusion_matrix, plot_examples, plot_history

MODELS = {
    "lenet5": lambda classes, impl: jaxdl.LeNet5(num_classes=classes, conv_impl=impl),
    "lenet5-classic": lambda classes, impl: jaxdl.LeNet5(num_classes=classes, activation="tanh", pooling="avg",
                                                         conv_impl=impl),
}


CONFIG = {
    "data_dir": Param(None, "directory of MNIST IDX files (.gz or raw)"),
    "tfds": Param(None, "a tfds image set prepared in --tfds-dir", choices=["mnist", "fashion_mnist"]),
    "tfds_dir": Param(None, "tfds data_dir (default ~/tensorflow_datasets)"),
    "download": Param(False, "let tfds download and prepare the set"),
    "train_count": Param(None, "train on the first N images (of the test set, with t10k files only)", minimum=1,
                         kind=int),
    "max_train": Param(None, "train on at most this many of the training images", minimum=1, kind=int),
    "model": Param("lenet5", "the network", choices=sorted(MODELS)),
    "conv_impl": Param("auto", "auto: the model's default (XLA's convolutions on GPU/TPU, the per-shape CPU "
                               "formulation on a CPU); s2d: LeNet-5's own pixel-block layout, faster on a CPU",
                       choices=list(jaxdl.models.LENET5_CONV_IMPLS)),
    "epochs": Param(15, "passes over the training images", minimum=1),
    "batch_size": Param(128, "examples per step", minimum=1),
    "microbatches": Param(1, "split each batch into this many micro-batches whose gradients are summed (the same "
                             "update; on a CPU the passes run side by side on the cores)", minimum=1),
    "lr": Param(1e-3, "Adam learning rate", minimum=0.0),
    "precision": Param("float32", "bf16: convolutions and matmuls in bfloat16 with float32 accumulation",
                       choices=list(jaxdl.PRECISIONS)),
    "seed": Param(0, "initialisation and data-order seed", minimum=0),
}
QUICK = {"epochs": 1, "max_train": 512}


def check(config) -> str | None:
    """Constraints between fields: one data source; micro-batches that divide the batch."""
    if (config.data_dir is None) == (config.tfds is None):
        return "give exactly one data source: --data-dir DIR (IDX files) or --tfds NAME"
    if config.batch_size % config.microbatches:
        return f"--batch-size {config.batch_size} must be a multiple of --microbatches {config.microbatches}"
    return None


def load(args) -> jaxdl.Dataset:
    if args.data_dir:
        return jaxdl.data.mnist_idx(args.data_dir, train_count=args.train_count)
    return jaxdl.data.tfds_images(args.tfds, data_dir=args.tfds_dir, download=args.download,
                                  train_count=args.train_count)


def run(args, out: str) -> dict:
    data = load(args)
    if args.max_train is not None and args.max_train < data.num_train:
        n = args.max_train
        data = jaxdl.Dataset(data.x_train[:n], data.y_train[:n], data.x_test, data.y_test,
                             num_classes=data.num_classes, name=data.name, info=data.info)
    print(f"data: {data.num_train} training and {data.num_test} test images of shape {data.input_shape}")

    model = MODELS[args.model](data.num_classes, args.conv_impl)
    key = jax.random.key(args.seed)
    init_key, run_key = jax.random.split(key)
    state = jaxdl.create_train_state(model, optax.adam(args.lr), key=init_key, input_shape=data.input_shape,
                                     precision=args.precision)
    batch_size = min(args.batch_size, data.num_train)
    steps_per_epoch = -(-data.num_train // batch_size)
    metrics = {"accuracy": jaxdl.accuracy}
    eval_step = jaxdl.make_eval_step(jaxdl.softmax_cross_entropy, metrics=metrics)
    start = time.perf_counter()
    result = jaxdl.fit(
        state, data, jaxdl.make_train_step(jaxdl.softmax_cross_entropy, metrics=metrics, microbatches=args.microbatches),
        key=run_key,
        num_steps=args.epochs * steps_per_epoch, batch_size=batch_size, eval_step=eval_step,
        eval_every=steps_per_epoch, workdir=out, checkpoint_every=steps_per_epoch,
        progress=args.progress, description=f"{args.model} on {data.name}",
        # LeNet-5's blocked layout is slicing and padding between matmuls, which XLA:CPU's older
        # loop emitters run faster, next to small dots; see jaxdl.cpu.
        compiler_options=jaxdl.cpu.matmul_conv_options() if args.conv_impl == "s2d" else None,
    )
    seconds = time.perf_counter() - start

    logits = jaxdl.predict(result.state, data.x_test)
    predictions = logits.argmax(axis=-1)
    cm = np.asarray(jaxdl.confusion_matrix(data.y_test, predictions, data.num_classes))
    wrong = np.flatnonzero(predictions != data.y_test)
    report = {  # loss and accuracy from the same logits, not from a second pass over the test set
        "test_accuracy": float(np.trace(cm) / data.num_test),
        "test_loss": float(np.mean(jaxdl.softmax_cross_entropy(logits, data.y_test))),
        "test_errors": int(len(wrong)),
        "per_class_accuracy": (np.diag(cm) / np.maximum(cm.sum(axis=1), 1)).tolist(),
        "confusion_matrix": cm.tolist(),
        "num_train": data.num_train,
        "num_test": data.num_test,
        "param_count": jaxdl.param_count(result.state.params),
        "steps": int(result.state.step),
        "seconds": seconds,
        "config": dict(vars(args), out=out),
        "data": data.info,
        "device": jax.devices()[0].device_kind,
        "jax_version": jax.__version__,
    }
    title = f"{args.model} on {data.name}: test accuracy {100 * report['test_accuracy']:.2f}%"
    plot_confusion_matrix(cm, os.path.join(out, "confusion_matrix.png"), title=title)
    plot_examples(data.x_test[wrong], data.y_test[wrong], predictions[wrong], os.path.join(out, "misclassified.png"),
                  title=f"{len(wrong)} misclassified test images (true -> predicted)")
    plot_history(result.history, os.path.join(out, "curves.png"), title=title)
    print(f"test accuracy: {100 * report['test_accuracy']:.2f}% ({len(wrong)} of {data.num_test} wrong), "
          f"test loss {report['test_loss']:.4f}; {report['steps']} steps in {seconds:.1f} s")
    return report


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__, check=check, result_file="metrics.json")
