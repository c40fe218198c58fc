"""The lectures' code example 5: LeNet-5 on MNIST with Adam.

    python experiments/mnist_cnn.py --data-dir DIR --train-count 8000   # IDX files (.gz or raw)
    python experiments/mnist_cnn.py --tfds mnist                        # tfds data_source (prepared)
    python experiments/mnist_cnn.py --data-dir DIR --quick              # one short epoch, for tests

With ``--data-dir`` holding only the 10,000-image test set (``t10k-*``), ``--train-count
8000`` trains on its first 8,000 images and tests on the last 2,000; with both ``train-*``
and ``t10k-*`` it trains on the 60,000 and tests on the 10,000. Shows a progress bar, prints
the test accuracy and writes to ``--out``: ``metrics.json`` (accuracy, per-class accuracy,
confusion matrix, timings), ``confusion_matrix.png``, ``misclassified.png``, ``curves.png``,
``history.jsonl`` and checkpoints (a rerun with the same ``--out`` resumes).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import numpy as np
import optax

import jaxdl
from jaxdl.outputs import run_script
from jaxdl.plotting import plot_confusion_matrix, plot_examples, plot_history

MODELS = {
    "lenet5": lambda classes, impl: jaxdl.LeNet5(num_classes=classes, conv_impl=impl),
    "lenet5-classic": lambda classes, impl: jaxdl.LeNet5(num_classes=classes, activation="tanh", pooling="avg",
                                                         conv_impl=impl),
}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data-dir", help="directory of MNIST IDX files")
    src.add_argument("--tfds", choices=["mnist", "fashion_mnist"], help="a tfds set prepared in --tfds-dir")
    p.add_argument("--tfds-dir", default=None, help="tfds data_dir (default ~/tensorflow_datasets)")
    p.add_argument("--download", action="store_true", help="let tfds download and prepare the set")
    p.add_argument("--train-count", type=int, default=None, help="train on the first N images")
    p.add_argument("--model", choices=sorted(MODELS), default="lenet5")
    p.add_argument("--conv-impl", choices=["auto", *jaxdl.LENET5_CONV_IMPLS], default="auto",
                   help="auto: s2d (convolutions on 4x4 / 2x2 pixel blocks, fused with the pools; about 2.5x "
                        "faster steps than XLA's convolutions here) on CPU, XLA's convolution elsewhere")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--microbatches", type=int, default=1,
                   help="split each batch into this many micro-batches whose gradients are summed (the same "
                        "update; on a CPU the passes run side by side on the cores, for a longer compile)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="runs/mnist_cnn")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--quick", action="store_true", help="1 epoch on at most 512 training images")
    args = p.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1 or args.microbatches < 1 or not args.lr > 0:
        p.error("--epochs, --batch-size and --microbatches must be >= 1 and --lr > 0")
    if args.batch_size % args.microbatches:
        p.error(f"--batch-size {args.batch_size} must be a multiple of --microbatches {args.microbatches}")
    return args


def load(args) -> jaxdl.Dataset:
    if args.data_dir:
        return jaxdl.data.mnist_idx(args.data_dir, train_count=args.train_count)
    return jaxdl.data.tfds_images(args.tfds, data_dir=args.tfds_dir, download=args.download,
                                  train_count=args.train_count)


def main(argv=None) -> dict:
    args = parse_args(argv)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    print(f"output directory: {out}", flush=True)
    data = load(args)
    if args.quick:
        args.epochs, n = 1, min(data.num_train, 512)
        data = jaxdl.Dataset(data.x_train[:n], data.y_train[:n], data.x_test, data.y_test,
                             num_classes=data.num_classes, name=data.name, info=data.info)
    print(f"data: {data.num_train} training and {data.num_test} test images of shape {data.input_shape}")

    if args.conv_impl == "auto":
        args.conv_impl = "s2d" if jax.default_backend() == "cpu" else "xla"
    model = MODELS[args.model](data.num_classes, args.conv_impl)
    key = jax.random.key(args.seed)
    init_key, run_key = jax.random.split(key)
    state = jaxdl.create_train_state(model, optax.adam(args.lr), key=init_key, input_shape=data.input_shape)
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
        progress=not args.no_progress, description=f"{args.model} on {data.name}",
        # Banded and blocked convolutions are slicing and padding between matmuls, which XLA:CPU's
        # older loop emitters run faster, next to small dots; see jaxdl.compile.
        compiler_options=jaxdl.matmul_conv_options() if args.conv_impl in ("toeplitz", "s2d") else None,
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
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump(report, f, indent=2)
    title = f"{args.model} on {data.name}: test accuracy {100 * report['test_accuracy']:.2f}%"
    plot_confusion_matrix(cm, os.path.join(out, "confusion_matrix.png"), title=title)
    plot_examples(data.x_test[wrong], data.y_test[wrong], predictions[wrong], os.path.join(out, "misclassified.png"),
                  title=f"{len(wrong)} misclassified test images (true -> predicted)")
    plot_history(result.history, os.path.join(out, "curves.png"), title=title)
    print(f"test accuracy: {100 * report['test_accuracy']:.2f}% ({len(wrong)} of {data.num_test} wrong), "
          f"test loss {report['test_loss']:.4f}; {report['steps']} steps in {seconds:.1f} s")
    print(f"wrote {os.path.join(out, 'metrics.json')}, confusion_matrix.png, misclassified.png, curves.png")
    return report


if __name__ == "__main__":
    run_script(main)
