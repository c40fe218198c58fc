"""TensorFlow-Playground-style decision boundaries: more layers, more cuts.

    python experiments/decision_boundaries.py [--quick] [--out DIR]

Three 2D sets (circles, xor, spirals) and three models: a linear model (logistic
regression: one straight cut), a shallow ReLU net (one hidden layer of 8 units: a few
cuts) and a deep one (4 hidden layers of 16 units: many cuts, folded). Each trained with Adam,
full batch, seeds as one vmapped program. Writes ``decision_boundaries.png`` (the predicted
class over the plane with the training points) and ``decision_boundaries.json`` (train and
test accuracy, mean and std over seeds, and the linear regions the net cuts the plane into).
"""

from __future__ import annotations

import jax
import optax

import jaxdl
from jaxdl import data as datasets
from jaxdl.analysis import regions_on_grid
from jaxdl.experiment import Param, main
from jaxdl.plotting import plot_decision_regions

DATASETS = {"circles": datasets.circles, "xor": datasets.xor, "spirals": datasets.spirals}
MODELS = {
    "linear": lambda: jaxdl.LogisticRegression(num_classes=2),
    "1 hidden layer (8)": lambda: jaxdl.ShallowNet(hidden=8, num_outputs=2),
    "4 hidden layers (16)": lambda: jaxdl.MLP(features=(16, 16, 16, 16, 2)),
}


CONFIG = {
    "steps": Param(3000, "full-batch steps per model", minimum=1),
    "seeds": Param(3, "seeds per model, trained as one vmapped program", minimum=1),
}
QUICK = {"steps": 100, "seeds": 1}


def run(config, out: str) -> dict:
    panels, result = [], {}
    for data_name, make in DATASETS.items():
        data = make(key=jax.random.key(0))
        for model_name, build in MODELS.items():
            model = build()
            run = jaxdl.train_seeds(model, optax.adam(0.01), data, loss=jaxdl.softmax_cross_entropy,
                                    metrics={"accuracy": jaxdl.accuracy}, seeds=range(config.seeds),
                                    num_steps=config.steps, batch_size=data.num_train, progress=False)
            params = jax.tree.map(lambda a: a[0], run["state"].params)
            regions = 1 if model_name == "linear" else regions_on_grid(params, [-1.5, -1.5], [1.5, 1.5], resolution=400).num_regions
            result[f"{data_name} / {model_name}"] = {
                "train_accuracy": run["train_accuracy"], "test_accuracy": run["test_accuracy"],
                "test_accuracy_std": run["test_accuracy_std"], "param_count": run["param_count"],
                "linear_regions_on_grid": regions}
            print(f"{data_name:8s} {model_name:22s} train {run['train_accuracy']:.3f}  test {run['test_accuracy']:.3f}"
                  f" +- {run['test_accuracy_std']:.3f}  ({run['param_count']} params, {regions} regions)")
            panels.append({"title": f"{data_name}, {model_name}: test {run['test_accuracy']:.2f}",
                           "predict": jax.jit(lambda x, m=model, p=params: m.apply({"params": p}, x)),
                           "x": data.x_train, "y": data.y_train})
    plot_decision_regions(panels, f"{out}/decision_boundaries.png", ncols=len(MODELS))
    return result


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)
