"""TensorBoard event files from fit (log_dir=), read back with TensorBoard's own reader."""

import os

import jax
import numpy as np
import optax
import pytest

pytest.importorskip("tensorboardX")
event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")

import jaxdl  # noqa: E402


def _scalars(folder):
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _fit(tmp_path, **kwargs):
    data = jaxdl.data.moons(key=jax.random.key(0), num_train=64, num_test=32)
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=optax.linear_schedule(0.5, 0.1, 40))
    model = jaxdl.MLP(features=(8, 2))
    stacked = kwargs.pop("stacked", False)
    if stacked:
        state = jaxdl.create_train_states(model, tx, keys=jax.random.split(jax.random.key(1), 2), input_shape=(2,))
        key = jax.random.split(jax.random.key(2), 2)
    else:
        state = jaxdl.create_train_state(model, tx, key=jax.random.key(1), input_shape=(2,))
        key = jax.random.key(2)
    return jaxdl.fit(state, data, jaxdl.make_train_step(jaxdl.softmax_cross_entropy), key=key, num_steps=40,
                     batch_size=16, eval_step=jaxdl.make_eval_step(jaxdl.softmax_cross_entropy,
                                                                   metrics={"accuracy": jaxdl.accuracy}),
                     eval_every=10, progress=False, stacked=stacked, log_dir=tmp_path / "tb", **kwargs)


def test_event_files_hold_the_history_and_the_learning_rate(tmp_path):
    result = _fit(tmp_path, hparams={"learning_rate": 0.5, "model": "mlp"})
    scalars = _scalars(tmp_path / "tb")
    for name in ("train_loss", "eval_loss", "eval_accuracy"):
        expected = [(r["step"], r[name]) for r in result.history]
        assert [s for s, _ in scalars[name]] == [s for s, _ in expected] == [10, 20, 30, 40]
        np.testing.assert_allclose([v for _, v in scalars[name]], [v for _, v in expected], rtol=1e-6)
    schedule = optax.linear_schedule(0.5, 0.1, 40)
    # logged at step s: the rate of the update that made step s, the schedule at s - 1
    np.testing.assert_allclose([v for _, v in scalars["learning_rate"]], [schedule(s - 1) for s in (10, 20, 30, 40)],
                               rtol=1e-6)
    events = b"".join(open(os.path.join(d, f), "rb").read() for d, _, files in os.walk(tmp_path / "tb") for f in files)
    assert b"hparams" in events and b"hparam/eval_accuracy" in events and b"mlp" in events


def test_a_stack_of_runs_writes_one_folder_per_member(tmp_path):
    result = _fit(tmp_path, stacked=True)
    for k in range(2):
        scalars = _scalars(tmp_path / "tb" / f"member_{k}")
        np.testing.assert_allclose([v for _, v in scalars["eval_accuracy"]],
                                   [r["eval_accuracy"][k] for r in result.history], rtol=1e-6)
    a, b = (_scalars(tmp_path / "tb" / f"member_{k}")["train_loss"] for k in range(2))
    assert a != b  # two seeds, two curves


def test_a_sweep_writes_one_run_per_member_named_by_its_hyperparameters(tmp_path):
    from jaxdl.sweep import Sweep

    data = jaxdl.data.mnist1d(num_samples=300)
    sweep = Sweep(jaxdl.MLP(features=(8, 10)), optax.adam, loss=jaxdl.softmax_cross_entropy, batch_size=40,
                  eval_every=5, metrics={"accuracy": jaxdl.accuracy})
    result = sweep.run(data, hyperparams={"learning_rate": [1e-3, 1e-2]}, seeds=[0, 1], num_steps=10,
                       log_dir=tmp_path / "tb")
    assert sorted(os.listdir(tmp_path / "tb")) == ["learning_rate=0.001,seed=0", "learning_rate=0.01,seed=1"]
    for k, folder in enumerate(["learning_rate=0.001,seed=0", "learning_rate=0.01,seed=1"]):
        scalars = _scalars(tmp_path / "tb" / folder)
        assert [s for s, _ in scalars["train_loss"]] == list(range(1, 11))
        np.testing.assert_allclose([v for _, v in scalars["train_loss"]], result.train_loss[k], rtol=1e-6)
        np.testing.assert_allclose([v for _, v in scalars["eval_accuracy"]], result.eval_metrics["eval_accuracy"][k],
                                   rtol=1e-6)
        assert [s for s, _ in scalars["eval_accuracy"]] == [5, 10]


def test_figures_are_written_as_images_pixel_for_pixel(tmp_path):
    import io

    import matplotlib.image

    from jaxdl.plotting import write_figures

    pixels = np.random.default_rng(0).integers(0, 256, size=(30, 40, 3), dtype=np.uint8)
    matplotlib.image.imsave(tmp_path / "noise.png", pixels)  # saved as RGBA
    tags = write_figures(tmp_path / "tb", [tmp_path / "noise.png"], step=7, hparams={"lr": 0.1},
                         metrics={"accuracy": 0.5})
    assert tags == ["noise"]
    acc = event_accumulator.EventAccumulator(str(tmp_path / "tb"), size_guidance={event_accumulator.IMAGES: 0})
    acc.Reload()
    (image,) = acc.Images("noise")
    assert (image.step, image.width, image.height) == (7, 40, 30)
    decoded = matplotlib.image.imread(io.BytesIO(image.encoded_image_string), format="png")
    np.testing.assert_array_equal(np.round(decoded[..., :3] * 255).astype(np.uint8), pixels)
    assert [e.value for e in acc.Scalars("accuracy")] == [0.5]


def test_write_figures_names_a_file_that_is_not_an_image(tmp_path):
    import matplotlib.image

    from jaxdl.plotting import write_figures

    matplotlib.image.imsave(tmp_path / "gray.png", np.zeros((4, 4)), cmap="gray")  # RGBA: accepted
    assert write_figures(tmp_path / "tb", [tmp_path / "gray.png"]) == ["gray"]
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="cannot read .*broken.png as an image"):
        write_figures(tmp_path / "tb2", [tmp_path / "broken.png"])
