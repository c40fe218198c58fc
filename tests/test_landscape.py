"""Loss landscapes (jaxdl/analysis/_landscape.py): filter-normalised directions in Flax's layout,
surfaces and interpolation against closed forms, trajectory PCA, data-set losses."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxdl
from jaxdl.analysis import dataset_loss, interpolate, loss_surface, random_direction, trajectory_pca

CE = jaxdl.softmax_cross_entropy


def _cnn_variables(key):
    model = jaxdl.ResNet(depth=8, width=4, num_classes=3)  # one block per stage
    return model, model.init(key, jnp.ones((2, 8, 8, 1)))


def test_filter_normalisation_uses_flax_last_axis(key):
    """Every output unit (last axis) of every kernel gets the norm of the same unit of theta;
    the first axis (PyTorch's filters) does not."""
    params = jaxdl.MLP(features=(7, 3)).init(key, jnp.ones((1, 5)))["params"]
    params = jax.tree.map(  # units of unequal norms
        lambda p: p * jnp.arange(1, p.shape[-1] + 1, dtype=p.dtype).reshape((1,) * (p.ndim - 1) + (-1,)), params)
    d = random_direction(jax.random.key(1), params)
    for layer in params:
        w, dw = params[layer]["kernel"], d[layer]["kernel"]
        np.testing.assert_allclose(jnp.linalg.norm(dw, axis=0), jnp.linalg.norm(w, axis=0), rtol=1e-5)
        assert not np.allclose(jnp.linalg.norm(dw, axis=1), jnp.linalg.norm(w, axis=1), rtol=1e-2)
        np.testing.assert_array_equal(d[layer]["bias"], 0.0)  # biases ignored (Li et al.'s biasbn)


def test_conv_filters_and_batch_norm_in_the_variables(key):
    model, variables = _cnn_variables(key)
    d = random_direction(jax.random.key(2), variables)
    for path, leaf in jax.tree_util.tree_leaves_with_path(variables):
        dl = d
        for k in path:
            dl = dl[k.key]
        names = [k.key for k in path]
        if names[0] == "batch_stats" or leaf.ndim <= 1:  # statistics carried along; biases, BN scale/bias: zero
            np.testing.assert_array_equal(dl, 0.0)
        else:  # Conv [h, w, in, out] and Dense [in, out]: per output filter
            axes = tuple(range(leaf.ndim - 1))
            np.testing.assert_allclose(jnp.sqrt(jnp.sum(dl**2, axes)), jnp.sqrt(jnp.sum(leaf**2, axes)), rtol=1e-5)
    with_biases = random_direction(jax.random.key(2), variables["params"], include_biases=True)
    bn = [k for k in variables["params"] if "BatchNorm" in k or "bn" in k.lower()]
    assert bn, list(variables["params"])
    np.testing.assert_array_equal(with_biases[bn[0]]["scale"], variables["params"][bn[0]]["scale"])


def test_layer_and_no_normalisation(key):
    params = {"dense": {"kernel": 3.0 * jax.random.normal(key, (6, 4)), "bias": jnp.ones(4)}}
    layer = random_direction(jax.random.key(1), params, normalization="layer")
    np.testing.assert_allclose(jnp.linalg.norm(layer["dense"]["kernel"]), jnp.linalg.norm(params["dense"]["kernel"]),
                               rtol=1e-5)
    raw = random_direction(jax.random.key(1), params, normalization=None)
    # the same Gaussian draw, unscaled: layer normalisation only rescaled it
    raw_k, layer_k = raw["dense"]["kernel"], layer["dense"]["kernel"]
    np.testing.assert_allclose(raw_k / jnp.linalg.norm(raw_k), layer_k / jnp.linalg.norm(layer_k), rtol=1e-5, atol=1e-7)
    assert abs(float(jnp.linalg.norm(raw_k)) - float(jnp.linalg.norm(layer_k))) > 1.0
    with pytest.raises(ValueError, match="unknown normalization 'weight'"):
        random_direction(key, params, normalization="weight")


def test_surface_of_a_quadratic_is_the_closed_form():
    """L(w) = 1/2 w^T A w: L(w0 + a d1 + b d2) is a quadratic in (a, b) known exactly."""
    a_mat = jnp.array([[3.0, 0.5, 0.0], [0.5, 2.0, 0.1], [0.0, 0.1, 1.0]])
    loss = lambda p: 0.5 * p["w"] @ a_mat @ p["w"]  # noqa: E731
    w0, d1, d2 = jnp.array([1.0, -1.0, 0.5]), jnp.array([0.3, 0.1, -0.2]), jnp.array([0.0, 1.0, 1.0])
    g = jnp.linspace(-1, 1, 7)
    coords = jnp.stack(jnp.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    surface = loss_surface(loss, {"w": w0}, ({"w": d1}, {"w": d2}), coords, chunk_size=5)
    expected = [0.5 * (w0 + a * d1 + b * d2) @ a_mat @ (w0 + a * d1 + b * d2) for a, b in np.asarray(coords)]
    assert surface.shape == (49,) and surface.dtype == jnp.float32
    np.testing.assert_allclose(surface, expected, rtol=1e-5)
    line = loss_surface(loss, {"w": w0}, {"w": d1}, g)
    np.testing.assert_allclose(line, [0.5 * (w0 + a * d1) @ a_mat @ (w0 + a * d1) for a in np.asarray(g)], rtol=1e-5)


def test_interpolation_hits_both_ends_and_is_the_line(key):
    model = jaxdl.MLP(features=(8, 3))
    x, y = jax.random.normal(key, (20, 4)), jax.random.randint(key, (20,), 0, 3)
    pa = model.init(jax.random.key(1), x)["params"]
    pb = model.init(jax.random.key(2), x)["params"]
    loss = dataset_loss(model, CE, x, y, batch_size=6)
    alphas = jnp.array([-0.5, 0.0, 0.25, 1.0, 1.5])
    values = interpolate(loss, pa, pb, alphas)
    direct = [loss(jax.tree.map(lambda a, b: (1 - t) * a + t * b, pa, pb)) for t in np.asarray(alphas)]
    np.testing.assert_allclose(values, direct, rtol=1e-5)
    np.testing.assert_allclose(values[1], loss(pa), rtol=1e-6)
    np.testing.assert_allclose(values[3], loss(pb), rtol=1e-5)


def test_dataset_loss_is_the_mean_over_every_example(key):
    """Batches of 6 over 20 examples (a padded last batch): the plain mean, and its gradient."""
    model = jaxdl.MLP(features=(8, 3))
    x, y = jax.random.normal(key, (20, 4)), jax.random.randint(key, (20,), 0, 3)
    params = model.init(key, x)["params"]
    full = lambda p: CE(model.apply({"params": p}, x), y).mean()  # noqa: E731
    loss = dataset_loss(model, CE, x, y, batch_size=6)
    np.testing.assert_allclose(loss(params), full(params), rtol=1e-6)
    for a, b in zip(jax.tree.leaves(jax.grad(loss)(params)), jax.tree.leaves(jax.grad(full)(params)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="same number"):
        dataset_loss(model, CE, x, y[:5])
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        dataset_loss(model, CE, x, y, batch_size=0)


def test_dataset_loss_uses_running_batch_statistics(key):
    model, variables = _cnn_variables(key)
    x, y = jax.random.normal(key, (10, 8, 8, 1)), jax.random.randint(key, (10,), 0, 3)
    stats = jax.tree.map(lambda s: s + 0.5, variables["batch_stats"])  # not the defaults: they must be used
    loss = dataset_loss(model, CE, x, y, model_state={"batch_stats": stats}, batch_size=4)
    expected = CE(model.apply({"params": variables["params"], "batch_stats": stats}, x, train=False), y).mean()
    np.testing.assert_allclose(loss(variables["params"]), expected, rtol=1e-5)


def test_surface_rejects_mismatched_directions_and_coords(key):
    params = {"w": jnp.ones(3)}
    loss = lambda p: jnp.sum(p["w"] ** 2)  # noqa: E731
    with pytest.raises(ValueError, match="need a pair of directions"):
        loss_surface(loss, params, {"w": jnp.ones(3)}, jnp.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"coords must be \[N\] .* got shape \(4, 3\)"):
        loss_surface(loss, params, {"w": jnp.ones(3)}, jnp.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"direction leaf of shape \(2,\) for a parameter of shape \(3,\)"):
        loss_surface(loss, params, {"w": jnp.ones(2)}, jnp.zeros(4))
    with pytest.raises(ValueError, match="chunk_size must be an int >= 1"):
        loss_surface(loss, params, {"w": jnp.ones(3)}, jnp.zeros(4), chunk_size=0)


def test_trajectory_pca_recovers_a_planar_path():
    """Checkpoints on a plane through the final point: two directions hold all the variance,
    span that plane, and the projections reproduce the checkpoints."""
    rng = np.random.default_rng(0)
    u, v = np.linalg.qr(rng.normal(size=(10, 2)))[0].T
    final = {"a": jnp.asarray(rng.normal(size=(2, 3)), jnp.float32), "b": jnp.asarray(rng.normal(size=4), jnp.float32)}
    flat_final = np.concatenate([np.ravel(final["a"]), final["b"]])
    t = np.linspace(0, 1, 12)
    offsets = np.stack([3 * (1 - t) ** 2, np.sin(4 * t) * (1 - t)], 1)  # ends at (0, 0)
    checkpoints = [{"a": jnp.asarray((flat_final + p @ np.stack([u, v]))[:6].reshape(2, 3), jnp.float32),
                    "b": jnp.asarray((flat_final + p @ np.stack([u, v]))[6:], jnp.float32)} for p in offsets]
    pca = trajectory_pca(checkpoints)
    np.testing.assert_allclose(pca.explained_variance_ratio.sum(), 1.0, atol=1e-5)
    assert pca.coords.shape == (12, 2)
    np.testing.assert_allclose(pca.coords[-1], 0.0, atol=1e-5)
    dirs = np.stack([np.concatenate([np.ravel(d["a"]), d["b"]]) for d in pca.directions])
    np.testing.assert_allclose(dirs @ dirs.T, np.eye(2), atol=1e-5)
    rebuilt = flat_final + pca.coords @ dirs
    np.testing.assert_allclose(rebuilt, [np.concatenate([np.ravel(c["a"]), c["b"]]) for c in checkpoints], atol=1e-4)
    with pytest.raises(ValueError, match="at least 2 checkpoints"):
        trajectory_pca(checkpoints[:1])


def test_surface_of_a_trained_model_has_its_minimum_near_the_centre(key):
    """A model trained to a minimum: the filter-normalised surface is lowest at (0, 0)."""
    data = jaxdl.data.moons(key=key, num_train=64, num_test=8)
    model = jaxdl.MLP(features=(16, 2))
    state = jaxdl.create_train_state(model, optax.adam(3e-2), key=key, input_shape=(2,))
    step = jax.jit(jaxdl.make_train_step(CE))
    for _ in range(300):
        state, _ = step(state, {"x": data.x_train, "y": data.y_train}, key)
    loss = dataset_loss(model, CE, data.x_train, data.y_train)
    d1, d2 = random_direction(jax.random.key(1), state.params), random_direction(jax.random.key(2), state.params)
    g = jnp.linspace(-1, 1, 5)
    coords = jnp.stack(jnp.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    surface = loss_surface(loss, state.params, (d1, d2), coords)
    assert int(jnp.argmin(surface)) == 12  # the centre of the 5x5 grid
    np.testing.assert_allclose(surface[12], loss(state.params), rtol=1e-5)


def test_plots_write_pngs(tmp_path):
    from jaxdl.plotting import plot_curves, plot_spectral_density, plot_surface

    a, b = np.linspace(-1, 1, 6), np.linspace(-1, 1, 5)
    losses = (a[:, None] ** 2 + 2 * b[None] ** 2 + 0.1).ravel()
    path = plot_surface(a, b, losses, tmp_path / "s.png", trajectory=np.array([[0.8, 0.6], [0.3, 0.2], [0.0, 0.0]]))
    assert path.endswith("s.png") and (tmp_path / "s.png").stat().st_size > 5_000
    with pytest.raises(ValueError):  # 30 losses cannot fill a 6 x 4 grid
        plot_surface(a, b[:4], losses, tmp_path / "bad.png")
    plot_curves(a, {"x^2": a**2, "x^4": a**4}, tmp_path / "c.png", log=False)
    plot_spectral_density({"q": (np.linspace(0, 1, 50), np.exp(-np.linspace(0, 1, 50)))}, tmp_path / "d.png")
    assert (tmp_path / "c.png").stat().st_size > 5_000 and (tmp_path / "d.png").stat().st_size > 5_000
