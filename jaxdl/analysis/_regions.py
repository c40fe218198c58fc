"""Linear regions of ReLU networks: exact counts along a line, counts over a 2D box, and the
bounds from the theory (Prince, *Understanding Deep Learning*, §3.3 and §4.5).

A ReLU network is piecewise affine. Fix which hidden units are active (the *activation
pattern*) and every pre-activation becomes an affine function of the input, so the set of
inputs with that pattern is an intersection of half-spaces: one convex polytope. Counting
linear regions therefore means counting the activation patterns the input domain reaches.

Networks are given as their dense layers ``[(W_1, b_1), ..., (W_L, b_L)]`` with
``W_k: [D_{k-1}, D_k]`` and ReLU after every layer but the last (``dense_layers`` reads them
from the parameters of ``jaxdl.ShallowNet`` or ``jaxdl.MLP``). Everything here runs on the
host in float64: it is bookkeeping over breakpoints, not a training workload.
"""

from __future__ import annotations

from math import comb
from typing import Any, NamedTuple, Sequence

import numpy as np

__all__ = [
    "dense_layers",
    "LineRegions",
    "regions_along_line",
    "activation_patterns",
    "GridRegions",
    "regions_on_grid",
    "shallow_regions_in_box",
    "shallow_region_bound",
    "deep_region_upper_bound",
    "deep_region_lower_bound",
    "zigzag_layers",
    "random_dense_layers",
    "compose",
    "evaluate_layers",
    "shallow_units",
]

Layers = Sequence[tuple[np.ndarray, np.ndarray]]


def ordered_dense_params(params: dict) -> list[tuple[Any, Any]]:
    """``(kernel, bias)`` of a Flax dense net's parameter dict, in call order, arrays untouched.

    Dict order cannot be trusted: ``jax.tree`` operations return dicts with sorted keys, which
    puts ``dense_10`` before ``dense_2``. So the order comes from the names: ``jaxdl.MLP``'s
    ``dense_<i>`` by ``i``, ``jaxdl.ShallowNet``'s ``hidden`` then ``output``.
    """
    params = params.get("params", params)
    for name, leaf in params.items():
        if not (isinstance(leaf, dict) and set(leaf) == {"kernel", "bias"}):
            raise ValueError(f"dense_layers: parameter {name!r} is not a dense layer (kernel and bias); "
                             f"linear regions are defined here for dense ReLU networks only.")
    names = list(params)
    if len(names) > 1:
        if all(n.startswith("dense_") and n[6:].isdigit() for n in names):
            names.sort(key=lambda n: int(n[6:]))
        elif set(names) == {"hidden", "output"}:
            names = ["hidden", "output"]
        else:
            raise ValueError(f"dense_layers: cannot tell the order of layers {names}; pass a list of "
                             f"(kernel, bias) pairs instead.")
    return [(params[n]["kernel"], params[n]["bias"]) for n in names]


def dense_layers(params: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """The ``(kernel, bias)`` pairs of a dense network, in call order, as float64 arrays.

    Args:
      params: a Flax parameter dict of ``jaxdl.ShallowNet`` / ``jaxdl.MLP`` (or the whole
        ``variables`` dict), or already a sequence of ``(W [D_in, D_out], b [D_out])``.
    """
    layers = ordered_dense_params(params) if isinstance(params, dict) else list(params)
    if not layers:
        raise ValueError("dense_layers: the network has no layers.")
    out = []
    for i, (w, b) in enumerate(layers):
        w, b = np.asarray(w, np.float64), np.asarray(b, np.float64)
        if w.ndim != 2 or b.shape != (w.shape[1],):
            raise ValueError(f"dense_layers: layer {i} has kernel {w.shape} and bias {b.shape}; "
                             f"need [D_in, D_out] and [D_out].")
        if out and out[-1][0].shape[1] != w.shape[0]:
            raise ValueError(f"dense_layers: layer {i} takes {w.shape[0]} inputs but layer {i - 1} "
                             f"gives {out[-1][0].shape[1]}.")
        out.append((w, b))
    return out


def _forward(layers: list[tuple[np.ndarray, np.ndarray]], x) -> tuple[np.ndarray, list[np.ndarray]]:
    """``(output [N, D_L], hidden pre-activations [[N, D_k] per hidden layer])`` in float64."""
    h, hidden = np.asarray(x, np.float64), []
    for w, b in layers[:-1]:
        z = h @ w + b
        hidden.append(z)
        h = np.maximum(z, 0.0)
    w, b = layers[-1]
    return h @ w + b, hidden


class LineRegions(NamedTuple):
    """Regions met along the segment ``x(t) = start + t (end - start)``, ``t in [0, 1]``.

    Attributes:
      breakpoints: ``[R - 1]`` sorted ``t`` where some hidden unit changes state.
      num_regions: ``R``, the number of activation regions the segment crosses.
      num_linear_pieces: maximal intervals on which the output is affine: neighbouring
        regions whose output slopes agree are merged (a unit may switch without the output
        noticing, e.g. when its outgoing weights are zero). ``<= num_regions``.
      slopes: ``[R, D_out]`` the output's derivative in ``t`` on each region.
    """

    breakpoints: np.ndarray
    num_regions: int
    num_linear_pieces: int
    slopes: np.ndarray


def regions_along_line(layers: Layers, start, end, *, tol: float = 1e-9) -> LineRegions:
    """Exact linear regions of a ReLU network along a segment of input space.

    Walks the network layer by layer. On each current piece ``[t0, t1]`` the layer input is
    affine in ``t``, so every pre-activation is ``z(t) = alpha + t beta``; a unit whose ``z``
    changes sign strictly inside the piece splits it at ``t = -alpha / beta``. Breakpoints
    come from the weights, not from sampling, so no region is missed however small.

    Args:
      layers: see ``dense_layers``.
      start, end: ``[D_in]`` end points of the segment (for a 1-input net, e.g. ``[-1], [1]``).
      tol: a pre-activation within ``tol (1 + |z|)`` of zero at a piece's end is treated as
        touching zero there, not crossing (hand-built nets touch zero exactly).

    Returns:
      ``LineRegions``.
    """
    layers = dense_layers(layers)
    start, end = np.atleast_1d(np.asarray(start, np.float64)), np.atleast_1d(np.asarray(end, np.float64))
    if start.shape != (layers[0][0].shape[0],) or end.shape != start.shape:
        raise ValueError(f"regions_along_line: start {start.shape} and end {end.shape} must both be "
                         f"[{layers[0][0].shape[0]}], the network's input width.")
    # Each piece: (t0, t1, A, B) with the current layer's input a(t) = A + t B.
    pieces = [(0.0, 1.0, start, end - start)]
    for w, b in layers[:-1]:
        split = []
        for t0, t1, a_0, a_1 in pieces:
            alpha, beta = a_0 @ w + b, a_1 @ w
            z0, z1 = alpha + t0 * beta, alpha + t1 * beta
            margin = tol * (1.0 + np.maximum(np.abs(z0), np.abs(z1)))
            crosses = ((z0 > margin) & (z1 < -margin)) | ((z0 < -margin) & (z1 > margin))
            cuts = np.unique(-alpha[crosses] / beta[crosses])
            # Units crossing at the same t (to rounding) make one breakpoint, not two.
            cuts = cuts[np.concatenate([[True], np.diff(cuts) > tol])] if cuts.size else cuts
            bounds = [t0, *cuts.tolist(), t1]
            for u0, u1 in zip(bounds[:-1], bounds[1:]):
                on = alpha + 0.5 * (u0 + u1) * beta > 0
                split.append((u0, u1, np.where(on, alpha, 0.0), np.where(on, beta, 0.0)))
        pieces = split
    w_out, _ = layers[-1]
    slopes = np.stack([a_1 @ w_out for _, _, _, a_1 in pieces])
    scale = 1.0 + np.abs(slopes).max(axis=1)
    changes = np.abs(np.diff(slopes, axis=0)).max(axis=1) > tol * np.maximum(scale[1:], scale[:-1])
    return LineRegions(
        breakpoints=np.asarray([p[0] for p in pieces[1:]]),
        num_regions=len(pieces),
        num_linear_pieces=1 + int(changes.sum()),
        slopes=slopes,
    )


def activation_patterns(layers: Layers, x) -> np.ndarray:
    """Which hidden units are active (pre-activation ``> 0``) at each input.

    Args:
      layers: see ``dense_layers``.
      x: ``[N, D_in]`` inputs.

    Returns:
      ``[N, H]`` bool, ``H`` = all hidden units, layer by layer.
    """
    layers = dense_layers(layers)
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or x.shape[1] != layers[0][0].shape[0]:
        raise ValueError(f"activation_patterns: x must be [N, {layers[0][0].shape[0]}], got {x.shape}.")
    _, hidden = _forward(layers, x)
    return np.concatenate([z > 0 for z in hidden], axis=1)


class GridRegions(NamedTuple):
    """Activation regions seen on a ``resolution x resolution`` grid over a 2D box.

    Attributes:
      num_regions: distinct activation patterns at the grid points. Each pattern's region is
        convex (hence connected), so this is the number of regions the grid touches: a lower
        bound on the regions meeting the box.
      labels: ``[resolution, resolution]`` region id of each grid point (rows follow ``x_2``),
        for plotting.
      guaranteed_radius: every region that contains a disc of this radius inside the box
        contains a grid point and is counted: half the grid cell's diagonal. Regions thinner
        than that can be missed; halve the spacing and compare to see whether the count has
        converged.
    """

    num_regions: int
    labels: np.ndarray
    guaranteed_radius: float


def regions_on_grid(layers: Layers, lo: Sequence[float], hi: Sequence[float], *, resolution: int = 256) -> GridRegions:
    """Count activation regions of a 2-input ReLU network over the box ``[lo, hi]``.

    Args:
      layers: see ``dense_layers``; the first layer must take 2 inputs.
      lo, hi: ``[2]`` corners of the box.
      resolution: grid points per side (``>= 2``).
    """
    layers = dense_layers(layers)
    if layers[0][0].shape[0] != 2:
        raise ValueError(f"regions_on_grid: needs a 2-input network, this one takes {layers[0][0].shape[0]}.")
    if resolution < 2:
        raise ValueError(f"regions_on_grid: resolution must be >= 2, got {resolution}.")
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    if lo.shape != (2,) or hi.shape != (2,) or np.any(hi <= lo):
        raise ValueError(f"regions_on_grid: need lo < hi, both of shape [2]; got {lo} and {hi}.")
    xs, ys = np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    packed = np.packbits(activation_patterns(layers, grid), axis=1)
    _, labels = np.unique(packed, axis=0, return_inverse=True)
    spacing = (hi - lo) / (resolution - 1)
    return GridRegions(int(labels.max()) + 1, labels.reshape(resolution, resolution),
                       float(0.5 * np.hypot(*spacing)))


def shallow_regions_in_box(w: np.ndarray, b: np.ndarray, lo: Sequence[float], hi: Sequence[float]) -> int:
    """Exact number of regions a shallow 2-input ReLU layer cuts the box ``[lo, hi]`` into.

    Each hidden unit is the line ``w_j . x + b_j = 0``. For lines in general position (no two
    parallel lines coinciding, no three through one point), every line that crosses the box
    adds one region plus one for each earlier line it meets inside: regions ``= 1 + L + I``
    with ``L`` lines crossing the box and ``I`` crossing points inside it (Euler's formula).

    Args:
      w: ``[2, D]`` first-layer kernel; b: ``[D]`` biases.
      lo, hi: ``[2]`` corners of the box.
    """
    w, b = np.asarray(w, np.float64), np.asarray(b, np.float64)
    if w.ndim != 2 or w.shape[0] != 2 or b.shape != (w.shape[1],):
        raise ValueError(f"shallow_regions_in_box: need w [2, D] and b [D], got {w.shape} and {b.shape}.")
    lo, hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
    corners = np.array([[lo[0], lo[1]], [lo[0], hi[1]], [hi[0], lo[1]], [hi[0], hi[1]]])
    values = corners @ w + b
    crossing = (values.max(axis=0) > 0) & (values.min(axis=0) < 0)
    inside = 0
    idx = np.flatnonzero(crossing)
    for n, i in enumerate(idx):
        for j in idx[n + 1:]:
            m = np.array([w[:, i], w[:, j]])
            if abs(np.linalg.det(m)) < 1e-12:
                continue  # parallel: they never meet
            p = np.linalg.solve(m, -np.array([b[i], b[j]]))
            inside += bool(np.all(p > lo) and np.all(p < hi))
    return 1 + int(crossing.sum()) + inside


def shallow_region_bound(hidden: int, inputs: int = 1) -> int:
    """Most regions ``D`` ReLU units can cut ``R^{D_i}`` into: ``sum_{j=0}^{D_i} C(D, j)``.

    Zaslavsky (1975): ``D`` hyperplanes in general position in ``D_i`` dimensions. One input:
    ``D + 1``; ``D <= D_i``: ``2^D``.
    """
    return sum(comb(hidden, j) for j in range(inputs + 1))


def deep_region_upper_bound(widths: Sequence[int], inputs: int = 1) -> int:
    """An upper bound on the regions of a ReLU net with hidden widths ``[n_1, ..., n_K]``:
    ``prod_k sum_{j=0}^{d_k} C(n_k, j)`` with ``d_k = min(D_i, n_1, ..., n_k)``
    (Montúfar 2017; Serra, Tjandraatmadja & Ramalingam 2018, whose Theorem 1 sharpens it).

    One input and ``K`` layers of ``D`` units: ``(D + 1)^K``, the growth the lectures quote.
    """
    bound, d = 1, inputs
    for n in widths:
        d = min(d, n)
        bound *= sum(comb(n, j) for j in range(d + 1))
    return bound


def deep_region_lower_bound(width: int, depth: int, inputs: int = 1) -> int:
    """Regions some net with ``K = depth`` layers of ``n = width >= D_i`` units attains
    (Montúfar, Pascanu, Cho & Bengio 2014, Theorem 4):
    ``(prod_{k=1}^{K-1} floor(n / D_i)^{D_i}) sum_{j=0}^{D_i} C(n, j)``.

    One input: ``n^{K-1} (n + 1)``. (``zigzag_layers`` builds ``n^K`` regions on ``[0, 1]``.)
    """
    if width < inputs:
        raise ValueError(f"deep_region_lower_bound: needs width >= inputs, got {width} < {inputs}.")
    return (width // inputs) ** (inputs * (depth - 1)) * shallow_region_bound(width, inputs)


def zigzag_layers(width: int, depth: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """A hand-built 1-input ReLU net with exactly ``width ** depth`` regions on ``(0, 1)``.

    Each hidden layer computes ``D = width`` units ``relu(u - i/D)``, ``i = 0..D-1``, of the
    previous zigzag ``u``; the next layer reads them through
    ``g(u) = D relu(u) + sum_{i>=1} (-1)^i 2D relu(u - i/D)``, which maps each of ``[i/D, (i+1)/D]``
    onto ``[0, 1]`` (alternately up and down). So the input interval is folded ``D`` times
    per layer (the lectures' "folding" picture; Montúfar et al. 2014), and the output is the
    ``depth``-fold composition ``g(g(...g(x)))``, with ``D^K`` linear pieces.
    """
    if width < 2 or depth < 1:
        raise ValueError(f"zigzag_layers: need width >= 2 and depth >= 1, got {width} and {depth}.")
    d = width
    offsets = -np.arange(d) / d
    c = np.array([d] + [(-1) ** i * 2 * d for i in range(1, d)], np.float64)
    layers = [(np.ones((1, d)), offsets)]
    for _ in range(depth - 1):
        layers.append((np.repeat(c[:, None], d, axis=1), offsets.copy()))
    layers.append((c[:, None], np.zeros(1)))
    return layers


def random_dense_layers(widths: Sequence[int], *, seed: int, bias_std: float = 0.5) -> list[tuple[np.ndarray, np.ndarray]]:
    """A random ReLU net with widths ``[D_0, ..., D_L]``: He-normal weights
    (``Var = 2 / fan_in``, He et al. 2015) and ``N(0, bias_std^2)`` biases. Non-zero biases
    matter here: with zero biases every first-layer unit of a 1-input net switches at 0."""
    rng = np.random.default_rng(seed)
    return [(rng.normal(0.0, np.sqrt(2.0 / d_in), (d_in, d_out)), rng.normal(0.0, bias_std, d_out))
            for d_in, d_out in zip(widths[:-1], widths[1:])]


def compose(first: Layers, second: Layers) -> list[tuple[np.ndarray, np.ndarray]]:
    """The network ``x -> second(first(x))`` as one deeper network.

    ``first``'s linear output layer and ``second``'s first layer are two affine maps in a row,
    so they merge into one: ``W = W_out^1 W_1^2``, ``b = b_out^1 W_1^2 + b_1^2`` (Prince, §4.1:
    composing two shallow networks is a deep network with two hidden layers). The second
    network "folds" the first one's output: every region of the first is cut again by the
    second's breakpoints, pulled back through it.
    """
    first, second = dense_layers(first), dense_layers(second)
    (w_out, b_out), (w_in, b_in) = first[-1], second[0]
    if w_out.shape[1] != w_in.shape[0]:
        raise ValueError(f"compose: the first network gives {w_out.shape[1]} outputs but the second "
                         f"takes {w_in.shape[0]} inputs.")
    return [*first[:-1], (w_out @ w_in, b_out @ w_in + b_in), *second[1:]]


def evaluate_layers(layers: Layers, x) -> np.ndarray:
    """The network's output at ``x: [N, D_0]``, ``[N, D_L]`` (ReLU between layers)."""
    return _forward(dense_layers(layers), x)[0]


def shallow_units(layers: Layers, x) -> dict[str, np.ndarray]:
    """A shallow net's computation unit by unit, for the lectures' figure.

    Returns:
      ``{"pre_activations", "activations", "weighted"}`` each ``[N, D]`` (the hidden
      ``z = x W_1 + b_1``, ``relu(z)``, and ``relu(z) * w_out``) and ``"output"`` ``[N]``,
      which is ``b_out + sum_d weighted[:, d]``; for a 1-input, 1-output net.
    """
    layers = dense_layers(layers)
    if len(layers) != 2 or layers[1][0].shape[1] != 1:
        raise ValueError("shallow_units: needs a shallow net (one hidden layer) with one output.")
    (_, _), (w2, b2) = layers
    _, (z,) = _forward(layers, x)
    a = np.maximum(z, 0.0)
    weighted = a * w2[:, 0]
    return {"pre_activations": z, "activations": a, "weighted": weighted, "output": weighted.sum(axis=1) + b2[0]}
