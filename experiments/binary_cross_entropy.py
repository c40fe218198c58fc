"""Code example 3: binary cross-entropy on a 1D toy set, and the predicted probability.

    python experiments/binary_cross_entropy.py [--quick] [--out DIR]

Data: ``x ~ U[0, 1]``, ``y ~ Bernoulli(0.5 + 0.45 sin 2 pi x)`` (``jaxdl.data.binary_1d``). The
model outputs one logit ``f(x)``; the Bernoulli likelihood with ``p = sigmoid(f)`` gives the
binary cross-entropy loss. A logistic regression (``p`` monotone in ``x``) against a shallow
ReLU net, each trained with Adam from several seeds. The test loss is compared with the
loss of the true probability (the best any model can do). Writes ``bce_1d.png`` and ``binary_cross_entropy.json``.
"""

from __future__ import annotations

import jax
import matplotlib.pyplot as plt
import numpy as np
import optax

import jaxdl
from jaxdl.data import binary_1d, binary_1d_probability
from jaxdl.experiment import Param, main
from jaxdl.plotting import save_figure


CONFIG = {
    "hidden": Param(16, "ReLU units of the shallow net", minimum=1),
    "steps": Param(3000, "Adam steps per model", minimum=1),
    "seeds": Param(3, "seeds per model, trained as one vmapped program", minimum=1),
}
QUICK = {"steps": 300, "seeds": 2}


def run(config, out: str) -> dict:
    data = binary_1d(key=jax.random.key(0))
    models = {"logistic regression": jaxdl.LogisticRegression(num_classes=1),
              f"shallow net, {config.hidden} ReLU units": jaxdl.ShallowNet(hidden=config.hidden)}
    x = np.linspace(0, 1, 401, dtype=np.float32)[:, None]
    true_p = binary_1d_probability(x[:, 0])
    # The irreducible loss: cross-entropy of the true probability on the test set.
    p_test = binary_1d_probability(data.x_test[:, 0])
    bayes = float(np.mean(-data.y_test * np.log(p_test) - (1 - data.y_test) * np.log(1 - p_test)))
    result = {"bayes_test_loss": bayes, "models": {}}
    fig, ax = plt.subplots(figsize=(6, 4))
    jitter = np.random.default_rng(0).uniform(-0.03, 0.03, data.num_train)
    ax.scatter(data.x_train[:, 0], data.y_train + jitter, s=6, color="grey", alpha=0.5, label="training data")
    ax.plot(x, true_p, "k--", label="true p(y=1|x)")
    for name, model in models.items():
        run = jaxdl.train_seeds(model, optax.adam(0.05), data, loss=jaxdl.binary_cross_entropy,
                                metrics={"accuracy": jaxdl.accuracy}, seeds=range(config.seeds),
                                num_steps=config.steps, batch_size=50, progress=False)
        params = jax.tree.map(lambda a: a[0], run["state"].params)
        prob = np.asarray(jax.nn.sigmoid(model.apply({"params": params}, x)))[:, 0]
        ax.plot(x, prob, label=f"{name}: test loss {run['test_loss']:.3f}")
        result["models"][name] = {k: run[k] for k in ("test_loss", "test_loss_std", "test_accuracy", "train_loss",
                                                     "param_count")}
        result["models"][name]["max_abs_probability_error"] = float(np.abs(prob - true_p).max())
        print(f"{name:30s} test BCE {run['test_loss']:.4f} +- {run['test_loss_std']:.4f} "
              f"(true probability: {bayes:.4f}), accuracy {run['test_accuracy']:.3f}")
    ax.set_xlabel("x"), ax.set_ylabel("p(y = 1 | x)"), ax.legend(fontsize=8, loc="lower left")
    ax.set_title("binary cross-entropy = Bernoulli negative log-likelihood")
    save_figure(fig, f"{out}/bce_1d.png")
    return result


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)
