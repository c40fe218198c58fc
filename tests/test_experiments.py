"""End-to-end smoke runs of every experiment and benchmark script in --quick mode.

Scripts run in this process (``runpy``, as ``__main__`` with their command line), which spares
an interpreter and a JAX start per script; the exit codes of a failing run and a script that
starts processes of its own are checked in fresh processes.
"""

import contextlib
import io
import json
import math
import os
import re
import runpy
import subprocess
import sys
from unittest import mock

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(script, *args):
    """Run ``script`` as ``python script args...`` would, in this process; returns its stdout."""
    stdout, path = io.StringIO(), os.path.join(ROOT, script)
    # As `python script` does: the script's folder first on the path (benchmarks import common.py).
    with mock.patch.object(sys, "argv", [path, *map(str, args)]), \
            mock.patch.object(sys, "path", [os.path.dirname(path), *sys.path]), contextlib.redirect_stdout(stdout):
        runpy.run_path(path, run_name="__main__")
    return stdout.getvalue()


def _run_process(script, *args, timeout=600):
    """Run ``script`` in a fresh Python process; returns the completed process."""
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    return subprocess.run([sys.executable, os.path.join(ROOT, script), *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_train_quick_mnist1d(tmp_path):
    stdout = _run("experiments/train.py", "--quick", "--no-progress", "--out", tmp_path)
    assert f"output directory: {tmp_path}" in stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    for name in ("test_accuracy", "test_loss", "train_loss", "steps", "seconds"):
        assert name in metrics
    assert metrics["steps"] == 200 and len(metrics["per_seed"]) == 2
    assert metrics["test_accuracy"] > 0.3  # 10 classes: chance is 0.1
    assert metrics["param_count"] == 15_210
    assert (tmp_path / "curves.png").stat().st_size > 10_000
    assert "test accuracy:" in stdout


@pytest.mark.parametrize("args", [
    ["--dataset", "sine_1d", "--model", "mlp", "--hidden", "32", "32", "--activation", "tanh", "--batch-size", "16",
     "--loss", "gaussian_nll", "--seeds", "1"],
    ["--dataset", "moons", "--model", "perceptron", "--optimizer", "sgd", "--lr", "1", "--batch-size", "20"],
    ["--dataset", "digits", "--model", "logistic", "--l2", "1e-4", "--standardize", "--batch-size", "64"],
], ids=["sine-gaussian-nll", "perceptron", "digits-logistic-l2"])
def test_train_quick_other_configs(tmp_path, args):
    _run("experiments/train.py", "--quick", "--no-progress", "--out", tmp_path, *args)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["steps"] == 200 and math.isfinite(metrics["test_loss"])  # not NaN, not inf


def test_train_moons_shallow_sgd_with_log_dir_is_a_tensorboard_run(tmp_path):
    """A shallow net with SGD on moons, and --log-dir: the seeds' curves (fit's runs, one
    folder per seed) and the figure, the config and the numbers (the experiment scaffold),
    read back with TensorBoard's reader."""
    pytest.importorskip("tensorboardX")
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    out, tb = tmp_path / "out", tmp_path / "tb"
    _run("experiments/train.py", "--quick", "--no-progress", "--out", out, "--dataset", "moons", "--model", "shallow",
         "--hidden", "16", "--optimizer", "sgd", "--lr", "0.5", "--batch-size", "50", "--seeds", "2", "--log-dir", tb)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 200 and math.isfinite(metrics["test_loss"]) and len(metrics["per_seed"]) == 2
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines()]
    for k in range(2):
        acc = ea.EventAccumulator(str(tb / f"member_{k}"), size_guidance={ea.SCALARS: 0})
        acc.Reload()
        losses = acc.Scalars("eval_loss")
        assert [e.step for e in losses] == [r["step"] for r in history] and history[-1]["step"] == 200
        assert [e.value for e in losses] == pytest.approx([r["eval_loss"][k] for r in history], rel=1e-6)
        assert [e.value for e in acc.Scalars("learning_rate")] == pytest.approx([0.5] * len(losses))
    root = ea.EventAccumulator(str(tb), size_guidance={ea.IMAGES: 0, ea.SCALARS: 0})
    root.Reload()
    (image,) = root.Images("curves")
    assert (image.width, image.height) == _png_size(out / "curves.png")
    assert root.Scalars("test_accuracy")[0].value == pytest.approx(metrics["test_accuracy"])
    events = b"".join(p.read_bytes() for p in tb.glob("events.out.tfevents.*"))
    assert b"hparams" in events and b"optimizer" in events and b"sgd" in events


def _png_size(path):
    import struct

    header = open(path, "rb").read(24)
    return struct.unpack(">II", header[16:24])


def test_train_resumes_a_finished_run(tmp_path):
    _run("experiments/train.py", "--quick", "--no-progress", "--out", tmp_path, "--dataset", "xor", "--batch-size", "50")
    first = json.loads((tmp_path / "metrics.json").read_text())
    _run("experiments/train.py", "--quick", "--no-progress", "--out", tmp_path, "--dataset", "xor", "--batch-size", "50")
    second = json.loads((tmp_path / "metrics.json").read_text())
    assert second["per_seed"] == first["per_seed"]


@pytest.mark.parametrize("flag,value", [("--lr", "nan"), ("--l2", "inf"), ("--dropout", "nan")])
def test_train_rejects_non_finite_settings_before_training(tmp_path, capsys, flag, value):
    # A NaN learning rate used to train and then report "training diverged ... lower the
    # learning rate".
    with pytest.raises(SystemExit) as exit_:
        _run("experiments/train.py", "--quick", "--out", tmp_path, flag, value)
    assert exit_.value.code == 2
    assert capsys.readouterr().err == f"error: {flag} must be a finite number, got {float(value)}\n"
    assert not list(tmp_path.iterdir())  # nothing started


@pytest.mark.parametrize("args, message", [
    (["--batch-size", "0"], "error: --batch-size must be >= 1, got 0"),
    (["--steps", "-3"], "error: --steps must be >= 1, got -3"),
    (["--optimizer", "adamw"], "error: --optimizer must be one of adagrad, adam, momentum, nesterov, rmsprop, sgd; got 'adamw'"),
    (["--lr", "fast"], "error: argument --lr: invalid float value: 'fast'"),
], ids=["batch-size-0", "steps-negative", "unknown-optimizer", "lr-not-a-number"])
def test_a_bad_argument_is_one_line_naming_it(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_:
        _run("experiments/train.py", "--quick", "--out", tmp_path, *args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1 and "Traceback" not in err


def test_diverging_run_exits_non_zero_and_keeps_its_checkpoint(tmp_path):
    out = _run_process("experiments/train.py", "--quick", "--no-progress", "--out", tmp_path, "--dataset", "moons",
                       "--optimizer", "sgd", "--lr", "30", "--checkpoint-every", "5")
    assert out.returncode == 3, out.stderr[-3000:]
    assert "Traceback" not in out.stderr
    match = re.search(r"error: training diverged: (\S+) .*became NaN or inf at step (\d+) .*last good checkpoint "
                      r"\(step (\d+)\)", out.stderr)
    assert match, out.stderr[-3000:]
    bad_step, kept = int(match.group(2)), int(match.group(3))
    assert kept == 5 * ((bad_step - 1) // 5) and kept > 0
    assert max(int(p.name) for p in (tmp_path / "checkpoints").iterdir() if p.name.isdigit()) == kept
    assert not (tmp_path / "metrics.json").exists()  # no results reported for a failed run


def test_long_run_memory_benchmark_quick(tmp_path):
    stdout = _run("benchmarks/long_run_memory.py", "--quick", "--out", tmp_path)
    result = json.loads((tmp_path / "long_run_memory.json").read_text())
    assert result["steps"] == 2000 and result["history_records"] == 4  # evaluations at 1k, 2k, 3k, 4k
    assert 0 < result["rss_start_mib"] <= result["rss_peak_mib"] and result["samples"] >= 3
    assert (tmp_path / "long_run_memory.png").stat().st_size > 5_000
    assert "growth" in stdout


def test_train_step_benchmark_quick(tmp_path):
    stdout = _run("benchmarks/train_step.py", "--quick", "--out", tmp_path)
    result = json.loads((tmp_path / "train_step.json").read_text())
    assert result["steps_per_second"] > 0 and 0 < result["fraction_of_matmul"]
    assert abs(result["step_matmul_gflop"] - 1.177) < 0.001
    assert "ratio train step / matmul" in stdout and "ratio jaxdl / bare" in stdout
    assert result["jaxdl_over_bare"] == result["jaxdl_steps_per_second"] / result["bare_steps_per_second"] > 0


def test_landscape_benchmark_quick(tmp_path):
    stdout = _run("benchmarks/landscape.py", "--quick", "--out", tmp_path)
    result = json.loads((tmp_path / "landscape.json").read_text())
    assert result["points"] == 49 and result["max_abs_difference"] <= 1e-4
    assert result["speedup"] == result["loop_seconds"] / result["jaxdl_seconds"] > 0
    assert "points/s" in stdout


def test_attacks_benchmark_quick(tmp_path):
    stdout = _run("benchmarks/attacks.py", "--quick", "--no-torch", "--out", tmp_path)
    result = json.loads((tmp_path / "attacks.json").read_text())
    assert result["images"] == 32 and result["steps"] == 2 and set(result["pgd_seconds"]) == {"jaxdl", "jaxdl_s2d"}
    assert result["budgets_speedup"] == result["budget_seconds"]["separate_calls"] / result["budget_seconds"]["one_program"]
    assert "images/s" in stdout


def test_feature_vis_benchmark_quick(tmp_path):
    stdout = _run("benchmarks/feature_vis.py", "--quick", "--out", tmp_path)
    result = json.loads((tmp_path / "feature_vis.json").read_text())
    assert result["steps"] == 4 and result["max_abs_difference"] <= 1e-4
    assert result["speedup"] == result["sequential_seconds"] / result["batched_seconds"] > 0
    assert "speed-up" in stdout


def test_test_functions_benchmark_quick(tmp_path):
    _run("benchmarks/test_functions.py", "--quick", "--out", tmp_path)
    result = json.loads((tmp_path / "test_functions.json").read_text())
    assert set(result["results"]) == {"rosenbrock", "beale", "rastrigin"}
    assert set(result["results"]["beale"]) == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"}
    for name in ("rosenbrock", "beale", "rastrigin"):
        assert (tmp_path / f"test_function_{name}.png").stat().st_size > 10_000


def test_mnist1d_table_quick(tmp_path):
    stdout = _run("benchmarks/mnist1d_table.py", "--quick", "--out", tmp_path)
    rows = json.loads((tmp_path / "mnist1d_table.json").read_text())["rows"]
    assert {name: r["params"] for name, r in rows.items()} == {"logistic": 410, "mlp": 15_210, "cnn": 5_210, "gru": 5_134}
    assert all(r["test_accuracy_mean"] > 15 for r in rows.values())  # above the 10% of chance after 100 steps
    assert "published" in stdout


def test_sweep_speed_benchmark_quick(tmp_path):
    # A fresh process: the script sets XLA_FLAGS (fake CPU devices) before JAX starts.
    out = _run_process("benchmarks/sweep_speed.py", "--quick", "--out", tmp_path)
    assert out.returncode == 0, out.stderr[-4000:]
    stdout = out.stdout
    result = json.loads((tmp_path / "sweep_speed.json").read_text())
    assert result["jaxdl_warm"] > 0 and result["sequential_jax_warm"] > 0
    assert len(result["final_loss"]) == 2
    assert "sequential_jax_warm / jaxdl_warm" in stdout
    # one round of cold timings in fresh processes, one per JAX configuration
    assert [len(result[f"{v}_cold_fresh_runs"]) for v in ("jaxdl_sharded", "jaxdl_sharded_legacy")] == [1, 1]
    assert result["jaxdl_sharded_legacy_warm"] > 0
    assert result["warm_rounds"] == 2  # warm times from alternating rounds of every compiled variant


def test_adam_paper_benchmark_quick(tmp_path):
    _run("benchmarks/adam_paper.py", "--quick", "--out", tmp_path)
    report = json.loads((tmp_path / "adam_paper.json").read_text())
    assert set(report["results"]) == {"logreg/digits", "mlp/digits", "cnn/digits/dropout=0.0", "cnn/digits/dropout=0.5"}
    mlp = report["results"]["mlp/digits"]
    assert set(mlp["optimizers"]) == {"adagrad", "rmsprop", "sgd_nesterov", "adadelta", "adam"}
    assert isinstance(mlp["finding"]["held"], bool)
    assert len(list(tmp_path.glob("adam_paper_*.png"))) == 4


def _synthetic_idx(directory, n=300):
    # Class c is a bright 6x6 block at one of ten positions: learnable, and real IDX bytes.
    import gzip
    import struct

    import numpy as np

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i, c in enumerate(labels):
        r, q = divmod(int(c), 5)
        images[i, 4 + 12 * r:10 + 12 * r, 1 + 5 * q:7 + 5 * q] = 255
    for stem, arr in (("t10k-images-idx3-ubyte.gz", images), ("t10k-labels-idx1-ubyte.gz", labels)):
        header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
        with gzip.open(directory / stem, "wb") as f:
            f.write(header + arr.tobytes())


def test_mnist_cnn_quick_on_idx_files(tmp_path):
    data_dir = tmp_path / "idx"
    data_dir.mkdir()
    _synthetic_idx(data_dir)
    out = tmp_path / "out"
    stdout = _run("experiments/mnist_cnn.py", "--data-dir", data_dir, "--train-count", 240, "--batch-size", 16,
                  "--quick", "--no-progress", "--out", out)
    assert f"output directory: {out}" in stdout
    metrics = json.loads((out / "metrics.json").read_text())
    cm = metrics["confusion_matrix"]
    assert (metrics["num_train"], metrics["num_test"], metrics["param_count"]) == (240, 60, 61_706)
    assert sum(map(sum, cm)) == 60
    assert abs(sum(cm[i][i] for i in range(10)) / 60 - metrics["test_accuracy"]) < 1e-6
    assert metrics["test_errors"] == 60 - sum(cm[i][i] for i in range(10))
    assert metrics["steps"] == 15  # one epoch of 240 / 16
    assert metrics["test_accuracy"] > 0.5  # the blocks are easy; chance is 0.1
    for name in ("confusion_matrix.png", "misclassified.png", "curves.png"):
        assert (out / name).stat().st_size > 2_000  # misclassified.png may hold no image


def test_mnist_cnn_quick_on_tfds_mock_data(tmp_path, monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=40):
        _run("experiments/mnist_cnn.py", "--tfds", "fashion_mnist", "--quick", "--no-progress", "--batch-size", "8",
             "--microbatches", "2", "--out", tmp_path)
    report = json.loads((tmp_path / "metrics.json").read_text())
    assert report["num_train"] == 40 and report["num_test"] == 40 and report["steps"] == 5
    assert report["config"]["microbatches"] == 2
    assert (tmp_path / "confusion_matrix.png").exists()


def test_mnist_cnn_needs_a_data_source(tmp_path, capsys):
    for args, message in (([], "give exactly one data source: --data-dir DIR (IDX files) or --tfds NAME"),
                          (["--data-dir", ".", "--tfds", "mnist"], "give exactly one data source"),
                          (["--data-dir", ".", "--batch-size", "10", "--microbatches", "4"],
                           "--batch-size 10 must be a multiple of --microbatches 4")):
        with pytest.raises(SystemExit) as exit_:
            _run("experiments/mnist_cnn.py", "--out", tmp_path / "never", *args)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}") and err.count("\n") == 1
    assert not (tmp_path / "never").exists()


def test_conv_step_benchmark_quick(tmp_path):
    _run("benchmarks/conv_step.py", "--quick", "--out", tmp_path)
    result = json.loads((tmp_path / "conv_step.json").read_text())
    for net in ("lenet5", "resnet20", "alexnet_small", "vgg_small"):
        for impl in ("default", "xla"):
            assert result[f"{net}_{impl}"] > 0
        assert result["ratios"][f"{net} default / xla"] == result[f"{net}_default"] / result[f"{net}_xla"]
    assert result["lenet5_s2d"] > 0 and result["lenet5_flax-baseline"] > 0
    assert result["lenet5_default-bf16"] > 0 and result["resnet20_default-bf16"] > 0


# The lectures' experiments: (script, JSON it writes, PNGs it writes, a check on the numbers).
THEORY_EXPERIMENTS = [
    ("shallow_net", "shallow_net.json", ["shallow_net.png", "shallow_net_units.png"],
     lambda r: r["num_regions"] == 4 and r["output_shape"] == [501, 1] and r["param_count"] == 10),
    ("deep_net_regions", "deep_net_regions.json", ["folding.png", "regions_vs_depth.png", "regions_2d.png"],
     lambda r: r["folding_regions"]["composed"] == 12 and r["zigzag_regions"] == [4, 16, 64]
     and all(m <= u for m, u in zip(r["random_regions_mean"], r["upper_bound"]))),
    ("binary_cross_entropy", "binary_cross_entropy.json", ["bce_1d.png"],
     lambda r: all(m["test_loss"] > r["bayes_test_loss"] - 0.05 for m in r["models"].values())),
    ("minibatch_sgd", "minibatch_sgd.json", ["minibatch_sgd.png"],
     lambda r: [v["steps"] for v in r["runs"].values()] == [2, 16]),
    ("universal_approximation", "universal_approximation.json", ["universal_approximation.png"],
     lambda r: [row["width"] for row in r["rows"]] == [1, 2, 4, 8]
     and r["rows"][-1]["constructed_max_error"] < r["rows"][1]["constructed_max_error"]),
    ("decision_boundaries", "decision_boundaries.json", ["decision_boundaries.png"],
     lambda r: len(r) == 10 and "config" in r and r["xor / linear"]["linear_regions_on_grid"] == 1),
    ("perceptron", "perceptron.json", ["perceptron.png"],
     lambda r: r["given_unit_reproduces_table"] and r["learned_unit_separates_table"] and r["mistakes_per_epoch"][-1] == 0),
    ("regularisation", "regularisation.json", ["regularisation.png"],
     lambda r: len(r["variants"]) == 4 and abs(r["variants"]["dropout (0.3)"]["dropout_expectation_ratio"] - 1) < 0.02),
    ("initialisation", "initialisation.json", ["signal_propagation.png"],
     lambda r: r["symmetry"]["zeros"]["distinct_units"] == [1, 1] and r["symmetry"]["glorot_uniform"]["distinct_units"] == [32, 32]),
    ("gd_vs_sgd", "gd_vs_sgd.json", ["gd_vs_sgd.png"],
     lambda r: r["by_batch_size"]["200"]["fraction_in_good_minimum"] == 0.0),
    ("loss_landscape", "loss_landscape.json",
     ["surface_skip.png", "surface_noskip.png", "trajectory.png", "hessian_density.png", "batch_interpolation.png",
      "batch_slices.png"],
     lambda r: all(r["skips"][k]["top_eigenvalues"][0] >= r["skips"][k]["top_eigenvalues"][1] for k in ("skip", "noskip"))
     and r["skips"]["skip"]["param_count"] == r["skips"]["noskip"]["param_count"]
     and len(r["skips"]["skip"]["trajectory"]["coords"]) == 3
     and r["skips"]["skip"]["trajectory"]["coords"][-1] == [0.0, 0.0]
     and len(r["batch_size"]["interpolation"]["train loss"]) == 41
     # alpha = 0 and 1 (entries 10 and 30) are the two minima themselves
     and abs(r["batch_size"]["interpolation"]["train loss"][10] - r["batch_size"]["small"]["train_loss"]) < 1e-4
     and abs(r["batch_size"]["interpolation"]["train loss"][30] - r["batch_size"]["large"]["train_loss"]) < 1e-4),
    ("feature_visualisation", "feature_visualisation.json",
     ["filters.png", "classes.png", "channels.png", "attributions.png", "deletion.png"],
     lambda r: set(r["deletion"]["accuracy"]) == {"saliency", "SmoothGrad", "Integrated Gradients", "Grad-CAM", "random"}
     and len({a[0] for a in r["deletion"]["accuracy"].values()}) == 1  # nothing deleted: one clean accuracy
     and len(r["classes"]["score_gain"]) == 10 and min(r["classes"]["score_gain"]) > 0 and r["channels"]["count"] == 32),
    ("bias_variance", "bias_variance.json", ["bias_variance.png"],
     lambda r: [row["hinges"] for row in r["rows"]] == [1, 2, 3, 4]
     and all(abs(row["bias2"] + row["variance"] + row["noise"] - row["expected_error"]) < 1e-5 for row in r["rows"])),
    ("double_descent", "double_descent.json", ["double_descent.png"],
     lambda r: set(r["results"]) == {"noise 0%", "noise 15%"} and [row["width"] for row in r["results"]["noise 0%"]] == [4, 32]
     and r["results"]["noise 0%"][1]["params"] == 40 * 32 + 32 + 33 * 32 + 33 * 10),
    ("shattered_gradients", "shattered_gradients.json", ["gradients.png", "autocorrelation.png"],
     lambda r: [(row["skip"], row["depth"]) for row in r["rows"]] == [(False, 1), (False, 4), (True, 1), (True, 4)]
     and all(1 <= row["correlation_length_mean"] <= 9 for row in r["rows"])),
    ("residual_mlp", "residual_mlp.json", ["residual_mlp.png"],
     lambda r: [(row["skip"], row["depth"]) for row in r["rows"]] == [(False, 1), (False, 2), (True, 1), (True, 2)]
     and r["rows"][0]["params"] == r["rows"][2]["params"]),
    ("tune", "tune.json", ["history.png"],
     lambda r: r["trials_run"] == 4 and 2 <= r["batches"] <= 4 and 0 <= r["best_value"] <= 1
     and set(r["best_params"]) == {"learning_rate", "weight_decay", "width", "dropout"}),
    ("adversarial", "adversarial.json", ["curves.png", "examples_standard.png", "examples_robust.png"],
     lambda r: r["eps"] == [0.0, 0.1, 0.3] and r["num_attacked"] == 64
     and all(r[n]["fgsm"][0] == r[n]["pgd"][0] for n in ("standard", "robust"))  # eps 0: the clean accuracy
     and all(a >= b for n in ("standard", "robust") for k in ("fgsm", "pgd") for a, b in zip(r[n][k], r[n][k][1:]))),
]


@pytest.mark.parametrize("script,json_name,pngs,check", THEORY_EXPERIMENTS, ids=[e[0] for e in THEORY_EXPERIMENTS])
def test_theory_experiment_quick(tmp_path, script, json_name, pngs, check):
    stdout = _run(f"experiments/{script}.py", "--quick", "--out", tmp_path)
    assert f"output directory: {tmp_path}" in stdout
    result = json.loads((tmp_path / json_name).read_text())
    assert check(result), result
    for png in pngs:
        assert (tmp_path / png).stat().st_size > 5_000, png


def test_bench_suite_quick(tmp_path):
    stdout = _run("benchmarks/bench_suite.py", "--quick", "--problems", "quadratic_deep", "--out", tmp_path)
    rows = json.loads((tmp_path / "bench_suite.json").read_text())["rows"]
    assert set(rows) == {"quadratic_deep"}
    for row in rows.values():
        assert row["members"] == 3 and row["vmapped"] > 0 and row["speedup"] == row["one_by_one"] / row["vmapped"]
    assert "one by one" in stdout


def test_conv_layers_quick(tmp_path):
    stdout = _run("benchmarks/conv_layers.py", "--quick", "--out", tmp_path)
    rows = json.loads((tmp_path / "conv_layers.json").read_text())["milliseconds"]
    assert len(rows) == 2 and all(row["xla"] > 0 and row["blocked2"] > 0 for row in rows.values())
    assert "blocked4" in rows["lenet c1 28x28 1->6"] and "(1.00x)" in stdout
