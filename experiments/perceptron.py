"""The perceptron on the McCulloch-Pitts truth table of the LxMLS slides.

    python experiments/perceptron.py [--quick] [--out DIR]

``y = x_2 AND (x_1 OR NOT x_3)``. 1. The slides' unit ``v = -2 + 2 x_1 + 4 x_2 - x_3``,
``y = sign(v)`` (truth values as +-1) reproduces all 8 rows. 2. Rosenblatt's perceptron rule,
``w <- w + eta (y - y_hat) x`` one example at a time (``jaxdl.Perceptron`` trained by SGD on
``jaxdl.perceptron_loss`` with batch size 1, which is that rule), starts from zero and
stops making mistakes: the rows are linearly separable, so it converges (Novikoff 1962).
Writes ``perceptron.png`` (mistakes per epoch) and ``perceptron.json`` (the table, both
weight vectors).
"""

from __future__ import annotations

import functools

import jax
import matplotlib.pyplot as plt
import numpy as np
import optax

import jaxdl
from jaxdl.analysis import MCCULLOCH_PITTS_BIAS, MCCULLOCH_PITTS_WEIGHTS, mcculloch_pitts_target, sign_unit, truth_table
from jaxdl.experiment import Param, main
from jaxdl.plotting import save_figure


CONFIG = {
    "epochs": Param(20, "passes over the 8 rows at most (stops at the first without a mistake)", minimum=1),
}
QUICK: dict = {}


def run(config, out: str) -> dict:
    x = truth_table(3)
    target = mcculloch_pitts_target(x)
    given = sign_unit(MCCULLOCH_PITTS_WEIGHTS, MCCULLOCH_PITTS_BIAS, x)
    print(" x1 x2 x3 | y  sign(v)")
    for row, t, g in zip(x, target, given):
        print(" " + " ".join(f"{int(v):+d}" for v in row) + f" | {int(t):+d} {int(g):+d}")
    print(f"the slides' weights reproduce the table: {bool(np.all(given == target))}")

    # The perceptron rule: labels in {0, 1} for the Heaviside output, one example per step.
    data = jaxdl.Dataset(x, (target > 0).astype(np.int32), x, (target > 0).astype(np.int32), 2, "mcculloch_pitts", {})
    model = jaxdl.Perceptron()
    state = jaxdl.create_train_state(model, optax.sgd(1.0), key=jax.random.key(0), input_shape=(3,))
    # The slides' unit fires for v > 0 (H(0) = 0), and accuracy thresholds the same way.
    strict = functools.partial(jaxdl.perceptron_loss, at_zero=0.0)
    step = jax.jit(jaxdl.make_train_step(strict, metrics={"accuracy": jaxdl.accuracy}))
    mistakes, w_history = [], []
    rng = np.random.default_rng(0)
    for epoch in range(config.epochs):
        wrong = 0
        for i in rng.permutation(len(x)):
            state, metrics = step(state, {"x": x[i:i + 1], "y": data.y_train[i:i + 1]}, jax.random.key(epoch))
            wrong += int(metrics["train_accuracy"] < 1)
        mistakes.append(wrong)
        w_history.append(np.asarray(state.params["linear"]["kernel"])[:, 0].tolist())
        if wrong == 0:
            break
    w = np.asarray(state.params["linear"]["kernel"])[:, 0]
    b = float(np.asarray(state.params["linear"]["bias"])[0])
    learned = sign_unit(w, b, x)
    print(f"perceptron rule: mistakes per epoch {mistakes}; learned w = {np.round(w, 3).tolist()}, b = {b:.3f}; "
          f"separates the table: {bool(np.all(learned == target))}")
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(np.arange(1, len(mistakes) + 1), mistakes, "o-")
    ax.set_xlabel("epoch"), ax.set_ylabel("mistakes in the epoch (of 8)")
    ax.set_title("perceptron rule on x2 AND (x1 OR NOT x3)")
    save_figure(fig, f"{out}/perceptron.png")
    result = {"table": {"x": x.tolist(), "y": target.tolist(), "given_unit": given.tolist()},
              "given_weights": MCCULLOCH_PITTS_WEIGHTS.tolist(), "given_bias": MCCULLOCH_PITTS_BIAS,
              "given_unit_reproduces_table": bool(np.all(given == target)),
              "mistakes_per_epoch": mistakes, "learned_weights": w.tolist(), "learned_bias": b,
              "learned_unit_separates_table": bool(np.all(learned == target)), "weights_per_epoch": w_history}
    return result


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)
