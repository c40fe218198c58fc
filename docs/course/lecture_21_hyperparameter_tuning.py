r"""
21. Hyperparameter tuning with Optuna
=====================================

Hyperparameters (learning rate, weight decay, width) are chosen on a validation split, not
the test set. Optuna's TPE sampler proposes settings from a model of the ones tried so far, and
its pruners stop unpromising trials early. ``jaxdl.tune`` asks Optuna for K trials at once and
trains them as the K members of one ``Sweep`` program, reporting each member's evaluations to
its trial; studies live in an SQL database, so a killed run resumes.

Full configuration: ``python experiments/tune.py --trials 64 --batch 16``
(``benchmarks/REPORT.md`` §14).
"""

# %%
# The lines of jaxdl
# ------------------
import optax
import optuna

import jaxdl
from jaxdl.sweep import Sweep

optuna.logging.set_verbosity(optuna.logging.WARNING)  # no line per trial
data = jaxdl.data.mnist1d()
sweep = Sweep(jaxdl.MLP(features=(100, 100, 10)), optax.adamw, loss=jaxdl.softmax_cross_entropy, batch_size=100,
              eval_every=100, metrics={"accuracy": jaxdl.accuracy})
study = jaxdl.tune.open_study("sqlite:///:memory:", "course")      # a file URL keeps it across runs
jaxdl.tune.tune(sweep, data, {"learning_rate": ("log", 1e-4, 1e-1)}, study=study, trials=4, batch=4,
                num_steps=200)
print("best:", study.best_params, round(study.best_value, 3))

# %%
# The experiment, run when this page was built
# --------------------------------------------
from course_helpers import numbers, run_experiment

numbers(run_experiment("tune"))
