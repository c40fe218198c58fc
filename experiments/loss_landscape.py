"""Loss landscapes and curvature: why skip connections help, and sharp vs flat minima.

    python experiments/loss_landscape.py [--quick] [--out DIR] [--data-dir MNIST_IDX_DIR]

Two studies, each the lecture's claim next to Li et al. (NeurIPS 2018, "Visualizing the Loss
Landscape of Neural Nets") and Keskar et al. (ICLR 2017, "On Large-Batch Training ... Sharp
Minima"):

1. **Skips.** The CIFAR ResNet (He et al. 2016) with and without its skip connections, trained
   the same way on 8x8 digits (scikit-learn; real MNIST with ``--data-dir``). At each minimum:
   the filter-normalised 2D surface of the training loss over ``[-1, 1]^2`` (Li et al. Fig. 5:
   without skips the surface of a deep net turns chaotic), the top Hessian eigenvalues and
   trace, and the Hessian's eigenvalue density. The skip network's training path is drawn on
   the plane of its top two PCA directions (Li et al. §7).
2. **Batch size.** The MNIST-1D MLP (40-100-100-10) trained with Adam at a small and a large
   batch for the same number of epochs: the loss along ``(1 - a) theta_small + a theta_large``,
   ``a`` in ``[-0.5, 1.5]`` (Keskar et al. Fig. 3, Li et al. Fig. 3), and each minimum's top
   eigenvalue and trace (Keskar et al.: the large-batch minimum is sharper).

Writes ``surface_skip.png``, ``surface_noskip.png``, ``trajectory.png``,
``hessian_density.png``, ``batch_interpolation.png``, ``batch_slices.png`` and
``loss_landscape.json`` (every number).
"""

from __future__ import annotations

import jax
import numpy as np
import optax

import jaxdl
from jaxdl.experiment import Param, main
from jaxdl.plotting import plot_curves, plot_spectral_density, plot_surface

CE = jaxdl.softmax_cross_entropy

CONFIG = {
    "depth": Param(20, "ResNet depth 6n + 2, trained with and without skips", minimum=8),
    "width": Param(16, "channels of the ResNet's first stage", minimum=1),
    "steps": Param(1500, "SGD (momentum 0.9) steps of each ResNet, batch 128", minimum=2),
    "lr": Param(0.05, "the ResNets' learning rate", minimum=0.0),
    "grid": Param(31, "points per axis of a 2D surface (Li et al.: 51)", minimum=3),
    "eval_examples": Param(512, "training examples the surfaces and curvatures are computed on", minimum=8),
    "snapshots": Param(12, "parameter snapshots along the skip ResNet's training, for the PCA path", minimum=3),
    "epochs": Param(60, "epochs of each MNIST-1D MLP (same for both batch sizes)", minimum=1),
    "small_batch": Param(32, "the small batch", minimum=1),
    "large_batch": Param(1024, "the large batch", minimum=1),
    "lanczos": Param(32, "Lanczos steps (Hessian-vector products) per eigenvalue / density estimate", minimum=2),
    "probes": Param(64, "Rademacher probes of the Hutchinson trace", minimum=2),
    "data_dir": Param(None, "a directory of MNIST IDX files for the ResNets (default: scikit-learn's digits)"),
}
QUICK = {"depth": 8, "width": 4, "steps": 24, "grid": 5, "eval_examples": 32, "snapshots": 3, "epochs": 1,
         "small_batch": 50, "large_batch": 400, "lanczos": 6, "probes": 4}


def grid_coords(axis_a, axis_b) -> np.ndarray:
    """``[A * B, 2]`` pairs, ``a`` varying slowest (``plot_surface``'s order)."""
    return np.stack(np.meshgrid(axis_a, axis_b, indexing="ij"), -1).reshape(-1, 2)


def curvature(loss_fn, params, config, key) -> dict:
    top = jaxdl.hessian_eigenvalues(loss_fn, params, k=2, key=key, num_iters=config.lanczos)
    trace = jaxdl.hessian_trace(loss_fn, params, key=jax.random.fold_in(key, 1), num_probes=config.probes)
    return {"top_eigenvalues": np.asarray(top).tolist(), "trace": float(trace.trace),
            "trace_std_error": float(trace.std_error)}


def train_resnet(skip: bool, data, config):
    """The ResNet trained in ``snapshots`` segments; returns the final state and host copies
    of the parameters after each segment (``fit`` donates the state it is given)."""
    model = jaxdl.ResNet(depth=config.depth, width=config.width, num_classes=data.num_classes, skip=skip)
    state = jaxdl.create_train_state(model, optax.sgd(config.lr, momentum=0.9), key=jax.random.key(0),
                                     input_shape=data.input_shape)
    step = jaxdl.make_train_step(CE)
    snapshots = [jax.tree.map(np.asarray, state.params)]
    for i in range(1, config.snapshots):
        until = round(i * config.steps / (config.snapshots - 1))
        state = jaxdl.fit(state, data, step, key=jax.random.key(1), num_steps=until, batch_size=128,
                          progress=False).state
        snapshots.append(jax.tree.map(np.asarray, state.params))
    return model, state, snapshots


def skip_study(data, config, out: str) -> dict:
    x, y = data.x_train[:config.eval_examples], data.y_train[:config.eval_examples]
    axis = np.linspace(-1.0, 1.0, config.grid, dtype=np.float32)
    result, densities = {}, {}
    for skip in (True, False):
        name = "skip" if skip else "noskip"
        model, state, snapshots = train_resnet(skip, data, config)
        loss_fn = jaxdl.dataset_loss(model, CE, x, y, model_state=state.model_state, batch_size=256)
        accuracy_fn = jaxdl.dataset_loss(model, jaxdl.accuracy, data.x_test, data.y_test,
                                         model_state=state.model_state, batch_size=256)
        d1, d2 = (jaxdl.random_direction(jax.random.key(k), state.params) for k in (10, 11))
        surface = np.asarray(jaxdl.loss_surface(loss_fn, state.params, (d1, d2), grid_coords(axis, axis)))
        row = {"param_count": jaxdl.param_count(state.params), "train_loss": float(loss_fn(state.params)),
               "test_accuracy": float(accuracy_fn(state.params)), "surface_min": float(surface.min()),
               "surface_max": float(surface.max()), "surface_mean": float(surface.mean()),
               **curvature(loss_fn, state.params, config, jax.random.key(20))}
        plot_surface(axis, axis, surface, f"{out}/surface_{name}.png",
                     title=f"ResNet-{config.depth} {'with' if skip else 'without'} skips (filter-normalised)")
        density = jaxdl.hessian_density(loss_fn, state.params, key=jax.random.key(30), num_iters=config.lanczos)
        densities[name] = (density.grid, density.density)
        if skip:
            row["trajectory"] = trajectory(loss_fn, state.params, snapshots, config, out)
        result[name] = row
        print(f"ResNet-{config.depth} {name:6s}: train loss {row['train_loss']:.4f}, test accuracy "
              f"{row['test_accuracy']:.3f}, top eigenvalues {np.round(row['top_eigenvalues'], 3).tolist()}, "
              f"trace {row['trace']:.2f} +- {row['trace_std_error']:.2f}, surface max {row['surface_max']:.3g}")
    plot_spectral_density(densities, f"{out}/hessian_density.png", title="Hessian eigenvalue density (SLQ)")
    return result


def trajectory(loss_fn, final, snapshots, config, out: str) -> dict:
    """The training path on the plane of its top two PCA directions, over its loss surface."""
    pca = jaxdl.trajectory_pca(snapshots, final=final)
    reach = 1.2 * float(np.abs(pca.coords).max()) or 1.0
    axis = np.linspace(-reach, reach, config.grid, dtype=np.float32)
    surface = jaxdl.loss_surface(loss_fn, final, pca.directions, grid_coords(axis, axis))
    plot_surface(axis, axis, surface, f"{out}/trajectory.png", trajectory=pca.coords,
                 title=f"training path on its PCA plane ({pca.explained_variance_ratio.sum():.0%} of its variance)")
    return {"explained_variance_ratio": pca.explained_variance_ratio.tolist(), "coords": pca.coords.tolist()}


def batch_study(config, out: str) -> dict:
    data = jaxdl.data.mnist1d()
    model = jaxdl.MLP(features=(100, 100, 10))
    # one function per quantity, shared by both minima: each is compiled once
    train_loss, test_loss = (jaxdl.dataset_loss(model, CE, x, y) for x, y in
                             ((data.x_train, data.y_train), (data.x_test, data.y_test)))
    test_accuracy = jaxdl.dataset_loss(model, jaxdl.accuracy, data.x_test, data.y_test)
    step = jaxdl.make_train_step(CE)
    solutions, result = {}, {}
    for name, batch in (("small", config.small_batch), ("large", config.large_batch)):
        batch = min(batch, data.num_train)
        steps = config.epochs * -(-data.num_train // batch)
        state = jaxdl.create_train_state(model, optax.adam(1e-3), key=jax.random.key(0), input_shape=data.input_shape)
        state = jaxdl.fit(state, data, step, key=jax.random.key(1), num_steps=steps, batch_size=batch,
                          progress=False).state
        solutions[name] = p = state.params
        result[name] = {"batch_size": batch, "steps": steps, "train_loss": float(train_loss(p)),
                        "test_loss": float(test_loss(p)), "test_accuracy": float(test_accuracy(p)),
                        **curvature(train_loss, p, config, jax.random.key(40))}
    alphas = np.linspace(-0.5, 1.5, 41, dtype=np.float32)
    curves = {f"{split} loss": np.asarray(jaxdl.interpolate(fn, solutions["small"], solutions["large"], alphas))
              for split, fn in (("train", train_loss), ("test", test_loss))}
    plot_curves(alphas, curves, f"{out}/batch_interpolation.png", log=True,
                xlabel="alpha (0: small-batch minimum, 1: large-batch minimum)",
                title=f"batch {result['small']['batch_size']} vs {result['large']['batch_size']}")
    slice_axis = np.linspace(-1.0, 1.0, 41, dtype=np.float32)
    slices = {f"batch {result[n]['batch_size']}": np.asarray(jaxdl.loss_surface(
        train_loss, p, jaxdl.random_direction(jax.random.key(50), p), slice_axis)) for n, p in solutions.items()}
    plot_curves(slice_axis, slices, f"{out}/batch_slices.png", log=True, xlabel="filter-normalised step",
                ylabel="train loss", title="1D slices through each minimum (Li et al. Fig. 3)")
    result["interpolation"] = {"alphas": alphas.tolist(), **{k: v.tolist() for k, v in curves.items()}}
    result["slices"] = {"steps": slice_axis.tolist(), **{k: v.tolist() for k, v in slices.items()}}
    for name in ("small", "large"):
        r = result[name]
        print(f"MLP batch {r['batch_size']:5d}: train loss {r['train_loss']:.4f}, test accuracy {r['test_accuracy']:.3f}, "
              f"top eigenvalue {r['top_eigenvalues'][0]:.3f}, trace {r['trace']:.2f} +- {r['trace_std_error']:.2f}")
    return result


def run(config, out: str) -> dict:
    if config.data_dir:
        data = jaxdl.data.mnist_idx(config.data_dir, train_count=8000)
    else:
        data = jaxdl.data.digits(key=jax.random.key(0), flatten=False)
    return {"data": data.name, "skips": skip_study(data, config, out), "batch_size": batch_study(config, out)}


if __name__ == "__main__":
    main(run, CONFIG, quick=QUICK, doc=__doc__)
