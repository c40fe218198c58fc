"""Tune the MNIST-1D MLP with Optuna, K trials at a time as one compiled sweep program.

    python experiments/tune.py [--storage URL] [--study-name NAME] [--trials N] [--batch K] [--out DIR] [--quick]

The study lives in ``--storage`` (default ``sqlite:///OUT/study.db``): kill the script at any
moment and run the same command again, and it finishes the ``--trials`` requested, rerunning
the trials that were in flight (``jaxdl.tune``). Each batch asks Optuna (TPE by default) for
``--batch`` trials of AdamW's learning rate and weight decay and the MLP's width and dropout,
trains the trials that share a width and dropout as the members of one ``jaxdl.sweep.Sweep``
program, reports each member's test accuracy at every evaluation (the
pruner may stop a member there: frozen while the others go on) and tells the final one. Prints the best trial and trials per second; writes Optuna's
optimisation history and parameter-importance plots (PNG) and ``tune.json``. Browse the same
database with ``optuna-dashboard sqlite:///OUT/study.db``.
"""

from __future__ import annotations

import os
import time

import optax

import jaxdl
from jaxdl.experiment import Param, main
from jaxdl.sweep import Sweep

CONFIG = {
    "storage": Param(None, "SQLAlchemy URL of the study database (default: sqlite:///OUT/study.db)"),
    "study_name": Param("mnist1d-mlp-adamw", "the study's name in the database"),
    "trials": Param(64, "complete trials wanted", minimum=1),
    "batch": Param(16, "trials per sweep program (K)", minimum=1),
    "steps": Param(3000, "training steps per trial", minimum=1),
    "eval_every": Param(500, "evaluate (and report to Optuna) every so many steps", minimum=1),
    "sampler": Param("tpe", "Optuna sampler", choices=["tpe", "random", "cmaes", "gp"]),
    "pruner": Param("median", "Optuna pruner: stops members mid-sweep", choices=["median", "hyperband",
                                                                                 "successive_halving", "none"]),
    "seed": Param(0, "sampler seed", minimum=0),
    "tune_model": Param(True, "also tune the width and dropout (one program per distinct model in a batch); "
                              "without: a 100-100 MLP, dropout 0, every batch one program"),
}
QUICK = {"trials": 4, "batch": 2, "steps": 20, "eval_every": 10}
SPACE = {"learning_rate": ("log", 1e-4, 1e-1), "weight_decay": ("log", 1e-6, 1e-1),
         "width": ("categorical", [64, 100, 256]), "dropout": ("categorical", [0.0, 0.1, 0.3])}


def run(config, out: str) -> dict:
    from jaxdl.tune import open_study, tune

    data = jaxdl.data.mnist1d()
    storage = config.storage or f"sqlite:///{os.path.abspath(out)}/study.db"
    study = open_study(storage, config.study_name, sampler=config.sampler, pruner=config.pruner, seed=config.seed)

    def sweep_for(width, dropout):  # the model's shape: one program per distinct (width, dropout) in a batch
        return Sweep(jaxdl.MLP(features=(width, width, 10), dropout_rate=dropout), optax.adamw,
                     loss=jaxdl.softmax_cross_entropy, batch_size=100, eval_every=config.eval_every,
                     metrics={"accuracy": jaxdl.accuracy})

    start = time.perf_counter()
    if config.tune_model:
        result = tune(sweep_for, data, SPACE, study=study, trials=config.trials, batch=config.batch,
                      num_steps=config.steps, seed=config.seed, model_params=("width", "dropout"))
    else:
        space = {n: SPACE[n] for n in ("learning_rate", "weight_decay")}
        result = tune(sweep_for(100, 0.0), data, space, study=study, trials=config.trials, batch=config.batch,
                      num_steps=config.steps, seed=config.seed)
    wall = time.perf_counter() - start
    rate = result.trials_run / wall if result.trials_run else float("nan")
    print(f"best trial: test accuracy {result.best_value:.4f} with " +
          ", ".join(f"{k} = {v:.3g}" for k, v in result.best_params.items()))
    print(f"{result.trials_run} trials in {result.batches} sweep programs of up to {config.batch}: {wall:.1f} s, "
          f"{rate:.2f} trials/s (compilation included); the study holds {len(study.trials)} trials")
    _plots(study, out)
    return {"best_params": result.best_params, "best_value": result.best_value, "trials_run": result.trials_run,
            "batches": result.batches, "seconds": wall, "trials_per_second": rate, "storage": storage}


def _plots(study, out: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as ovm

    for name, plot in (("history", ovm.plot_optimization_history), ("importances", ovm.plot_param_importances)):
        try:
            ax = plot(study)
        except (ValueError, RuntimeError) as e:  # importances need >= 2 complete trials with varied values
            print(f"{name} plot skipped: {e}")
            continue
        ax.figure.savefig(os.path.join(out, f"{name}.png"), dpi=100, bbox_inches="tight")
        plt.close(ax.figure)


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)
