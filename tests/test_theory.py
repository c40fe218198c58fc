"""The lectures' theory as tools: parameter counts, linear regions, backpropagation by hand."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxdl
from jaxdl.analysis import (
    MCCULLOCH_PITTS_BIAS,
    MCCULLOCH_PITTS_WEIGHTS,
    activation_patterns,
    compose,
    descend,
    distinct_units,
    double_well_offsets,
    evaluate_layers,
    fit_shallow,
    mcculloch_pitts_target,
    relu_interpolant,
    shallow_units,
    sign_unit,
    signal_propagation,
    tilted_double_well,
    truth_table,
    backward,
    check_gradients,
    deep_param_count,
    deep_region_lower_bound,
    deep_region_upper_bound,
    dense_layers,
    dropout_box,
    dropout_mask,
    forward,
    linear_box,
    loss_and_grad,
    mlp_boxes,
    mlp_param_count,
    regions_along_line,
    regions_on_grid,
    relu_box,
    shallow_param_count,
    shallow_region_bound,
    shallow_regions_in_box,
    sigmoid_box,
    tanh_box,
    zigzag_layers,
)


# ----------------------------------------------------------------------------- parameter counts

@pytest.mark.parametrize("inputs,hidden,outputs", [(1, 3, 1), (2, 16, 1), (40, 100, 10), (7, 1, 3)])
def test_shallow_closed_form_matches_the_model(inputs, hidden, outputs):
    model = jaxdl.ShallowNet(hidden=hidden, num_outputs=outputs)
    params = model.init(jax.random.key(0), jnp.ones((1, inputs)))["params"]
    assert jaxdl.param_count(params) == shallow_param_count(inputs, hidden, outputs)
    assert shallow_param_count(inputs, hidden, outputs) == hidden * (inputs + 1) + outputs * (hidden + 1)


@pytest.mark.parametrize("width,depth", [(1, 1), (3, 1), (3, 2), (10, 5), (64, 3)])
def test_deep_closed_form_matches_the_model_and_the_lecture_formula(width, depth):
    model = jaxdl.MLP(features=(*[width] * depth, 1))
    params = model.init(jax.random.key(0), jnp.ones((1, 1)))["params"]
    count = deep_param_count(width, depth)
    assert jaxdl.param_count(params) == count
    assert count == 3 * width + 1 + (depth - 1) * width * (width + 1)  # the lectures' 1-in 1-out form
    assert count == mlp_param_count([1, *[width] * depth, 1])


def test_mlp_param_count_of_the_mnist1d_baseline():
    assert mlp_param_count([40, 100, 100, 10]) == 15_210
    assert deep_param_count(100, 2, inputs=40, outputs=10) == 15_210


@pytest.mark.parametrize("call", [lambda: mlp_param_count([3]), lambda: shallow_param_count(0, 3, 1),
                                  lambda: deep_param_count(3, 0), lambda: mlp_param_count([2, 2.5])])
def test_param_counts_reject_bad_sizes(call):
    with pytest.raises(ValueError):
        call()


# ----------------------------------------------------------------------------- linear regions

def _shallow_1d(weights, biases, out=None):
    weights, biases = np.asarray(weights, float), np.asarray(biases, float)
    out = np.ones((len(weights), 1)) if out is None else np.asarray(out, float)[:, None]
    return [(weights[None], biases), (out, np.zeros(1))]


def test_shallow_1d_regions_are_the_breakpoints_inside_the_interval():
    # Units switch at x = -b/w = 0.5, -0.25, 2 (outside [-1, 1]) and 0.1.
    layers = _shallow_1d([2.0, 4.0, 1.0, -1.0], [-1.0, 1.0, -2.0, 0.1])
    r = regions_along_line(layers, [-1.0], [1.0])
    np.testing.assert_allclose(np.sort(-1 + 2 * r.breakpoints), [-0.25, 0.1, 0.5])
    assert r.num_regions == 4 == r.num_linear_pieces
    assert r.num_regions <= shallow_region_bound(4)  # D + 1


def test_a_unit_with_zero_output_weight_splits_regions_but_not_linear_pieces():
    layers = _shallow_1d([1.0, 1.0], [0.0, -0.5], out=[1.0, 0.0])
    r = regions_along_line(layers, [-1.0], [1.0])
    assert r.num_regions == 3 and r.num_linear_pieces == 2


def test_units_switching_at_the_same_input_make_one_breakpoint():
    layers = _shallow_1d([1.0, 2.0, -3.0], [-0.5, -1.0, 1.5])  # all at x = 0.5
    assert regions_along_line(layers, [-1.0], [1.0]).num_regions == 2


@pytest.mark.parametrize("width,depth", [(2, 1), (2, 4), (3, 3), (5, 2)])
def test_zigzag_net_has_exactly_width_to_the_depth_regions(width, depth):
    layers = zigzag_layers(width, depth)
    r = regions_along_line(layers, [0.0], [1.0])
    assert r.num_regions == width ** depth == r.num_linear_pieces
    np.testing.assert_allclose(np.diff(r.breakpoints), 1 / width ** depth, atol=1e-9)  # evenly spaced folds
    # The output climbs 0 -> 1 or falls 1 -> 0 on every piece: slopes are +-width**depth.
    np.testing.assert_allclose(np.abs(r.slopes[:, 0]), width ** depth, rtol=1e-9)
    assert r.num_regions <= deep_region_upper_bound([width] * depth)
    # Over the whole line the unit relu(x) adds one more region, x < 0, where the net is constant.
    assert regions_along_line(layers, [-1.0], [1.0]).num_regions == width ** depth + 1


def test_exact_count_matches_dense_sampling_on_a_random_deep_net():
    model = jaxdl.MLP(features=(8, 8, 8, 1), kernel_init="he_normal")
    params = model.init(jax.random.key(3), jnp.ones((1, 1)))["params"]
    for i, name in enumerate(sorted(params)):  # random biases so that breakpoints fall inside the interval
        # a fixed key per layer (not hash(name), which changes with every process)
        params[name]["bias"] = 0.5 * jax.random.normal(jax.random.fold_in(jax.random.key(4), i), params[name]["bias"].shape)
    r = regions_along_line(params, [-2.0], [2.0])
    t = np.linspace(0, 1, 200_001)
    patterns = activation_patterns(params, (-2 + 4 * t)[:, None])
    sampled = 1 + int(np.any(patterns[1:] != patterns[:-1], axis=1).sum())
    assert sampled == r.num_regions > 5
    assert r.num_regions <= deep_region_upper_bound([8, 8, 8])
    # The network really is affine between breakpoints: midpoints interpolate the ends.
    cuts = np.concatenate([[0.0], r.breakpoints, [1.0]])
    x = lambda s: jnp.asarray(-2 + 4 * s, jnp.float32)[:, None]  # noqa: E731
    f = lambda s: np.asarray(model.apply({"params": params}, x(s)))[:, 0]  # noqa: E731
    np.testing.assert_allclose(f((cuts[:-1] + cuts[1:]) / 2), (f(cuts[:-1]) + f(cuts[1:])) / 2, atol=1e-4)


def test_layer_order_survives_tree_operations_that_sort_dict_keys():
    model = jaxdl.MLP(features=(*[4] * 11, 1))
    params = model.init(jax.random.key(0), jnp.ones((1, 1)))["params"]
    copied = jax.tree.map(lambda a: a, params)  # keys now sorted: dense_0, dense_1, dense_10, dense_11, dense_2, ...
    assert list(copied)[2] == "dense_10"
    x = np.linspace(-1, 1, 7, dtype=np.float32)[:, None]
    np.testing.assert_allclose(evaluate_layers(copied, x), model.apply({"params": params}, x), rtol=1e-5, atol=1e-6)
    shallow = jaxdl.ShallowNet(hidden=3).init(jax.random.key(1), jnp.ones((1, 1)))["params"]
    np.testing.assert_allclose(evaluate_layers(jax.tree.map(lambda a: a, shallow), x),
                               jaxdl.ShallowNet(hidden=3).apply({"params": shallow}, x), rtol=1e-5, atol=1e-6)


def test_regions_along_a_line_in_two_dimensions():
    w = np.array([[1.0, 0.0], [0.0, 1.0]])  # units x1 > 0 and x2 > 0
    layers = [(w, np.zeros(2)), (np.ones((2, 1)), np.zeros(1))]
    assert regions_along_line(layers, [-1.0, -0.5], [1.0, 0.5]).num_regions == 2  # both switch at the origin
    assert regions_along_line(layers, [-1.0, -0.2], [1.0, 0.6]).num_regions == 3


def test_triangle_of_three_lines_cuts_the_box_into_seven_regions():
    # Lines x2 = -0.5, x1 + x2 = 0.3 and x2 - x1 = 0.3 meet at (0.8, -0.5), (-0.8, -0.5) and
    # (0, 0.3): a triangle inside [-1, 1]^2.
    w = np.array([[0.0, 1.0, -1.0], [1.0, 1.0, 1.0]])
    b = np.array([0.5, -0.3, -0.3])
    layers = [(w, b), (np.ones((3, 1)), np.zeros(1))]
    assert shallow_regions_in_box(w, b, [-1, -1], [1, 1]) == 7 == shallow_region_bound(3, inputs=2)
    grid = regions_on_grid(layers, [-1, -1], [1, 1], resolution=200)
    assert grid.num_regions == 7 and grid.labels.shape == (200, 200)
    assert grid.guaranteed_radius == pytest.approx(0.5 * np.hypot(2 / 199, 2 / 199))


def test_grid_count_converges_to_the_exact_shallow_count():
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(2, 12)), 0.5 * rng.normal(size=12)
    exact = shallow_regions_in_box(w, b, [-1, -1], [1, 1])
    layers = [(w, b), (rng.normal(size=(12, 1)), np.zeros(1))]
    coarse = regions_on_grid(layers, [-1, -1], [1, 1], resolution=8).num_regions
    fine = regions_on_grid(layers, [-1, -1], [1, 1], resolution=800).num_regions
    assert coarse < fine == exact <= shallow_region_bound(12, inputs=2)


def test_region_bounds_match_their_formulas():
    assert shallow_region_bound(5) == 6 and shallow_region_bound(3, inputs=5) == 8
    assert shallow_region_bound(4, inputs=2) == 1 + 4 + 6  # Zaslavsky: C(4,0) + C(4,1) + C(4,2)
    assert deep_region_upper_bound([4, 4, 4]) == 5 ** 3  # (D + 1)^K for one input
    assert deep_region_lower_bound(4, 3) == 4 ** 2 * 5  # n^(K-1) (n + 1)
    assert deep_region_lower_bound(4, 2, inputs=2) == 2 ** 2 * 11


@pytest.mark.parametrize("call,match", [
    (lambda: dense_layers({"conv": {"kernel": np.ones((3, 3, 1, 2)), "bias": np.ones(2)}}), "kernel"),
    (lambda: dense_layers({"a": {"scale": np.ones(2)}}), "not a dense layer"),
    (lambda: dense_layers({"first": {"kernel": np.ones((1, 2)), "bias": np.ones(2)},
                           "second": {"kernel": np.ones((2, 1)), "bias": np.ones(1)}}), "cannot tell the order"),
    (lambda: dense_layers([(np.ones((2, 3)), np.ones(3)), (np.ones((2, 1)), np.ones(1))]), "takes 2 inputs"),
    (lambda: regions_along_line(zigzag_layers(2, 1), [0.0, 0.0], [1.0, 1.0]), "input width"),
    (lambda: regions_on_grid(zigzag_layers(2, 1), [0, 0], [1, 1]), "2-input"),
    (lambda: regions_on_grid([(np.ones((2, 2)), np.ones(2))], [1, 0], [0, 1]), "lo < hi"),
])
def test_region_tools_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ----------------------------------------------------------------------------- backpropagation

BOXES = [("linear", linear_box("dense_0")), ("relu", relu_box()), ("sigmoid", sigmoid_box()), ("tanh", tanh_box()),
         ("dropout", dropout_box(0.3))]


@pytest.mark.parametrize("name,box", BOXES, ids=[b[0] for b in BOXES])
def test_each_box_backward_is_the_vjp_of_its_forward(name, box):
    kx, kw, kd, ky = jax.random.split(jax.random.key(0), 4)
    x = jax.random.normal(kx, (5, 4))
    params = {"kernel": jax.random.normal(kw, (4, 3)), "bias": jnp.arange(3.0)} if box.name else None
    y, cache = box.fprop(params, x, kd, True)
    dy = jax.random.normal(ky, y.shape)
    dx, dparams = box.bprop(params, cache, dy)
    _, vjp = jax.vjp(lambda p, x: box.fprop(p, x, kd, True)[0], params, x)
    ref_params, ref_x = vjp(dy)
    np.testing.assert_allclose(dx, ref_x, rtol=1e-5, atol=1e-6)
    if box.name:
        for leaf in ("kernel", "bias"):
            np.testing.assert_allclose(dparams[leaf], ref_params[leaf], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_manual_backprop_equals_jax_grad_of_the_flax_mlp(activation, seed):
    key = jax.random.key(seed)
    kx, ky, kp = jax.random.split(key, 3)
    widths = (int(jax.random.randint(kp, (), 3, 20)), 11, 4)
    model = jaxdl.MLP(features=widths, activation=activation)
    x, y = jax.random.normal(kx, (16, 6)), jax.random.randint(ky, (16,), 0, 4)
    params = model.init(kp, x)["params"]
    loss, grads = jax.jit(lambda p: loss_and_grad(mlp_boxes(3, activation=activation), p, x, y))(params)
    ref_loss, ref_grads = jax.value_and_grad(lambda p: jaxdl.softmax_cross_entropy(model.apply({"params": p}, x), y).mean())(params)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5), grads, ref_grads)


def test_manual_backprop_with_dropout_equals_jax_grad_with_the_same_masks():
    boxes = mlp_boxes(3, activation="relu", dropout_rate=0.5)
    model = jaxdl.MLP(features=(32, 32, 5))
    x, y = jax.random.normal(jax.random.key(1), (8, 7)), jnp.arange(8) % 5
    params = model.init(jax.random.key(2), x)["params"]
    key = jax.random.key(3)

    def reference(p):  # written out with jnp; box i's mask comes from fold_in(key, i)
        def dense(h, name):
            return h @ p[name]["kernel"] + p[name]["bias"][None, :]

        h = jnp.maximum(dense(x, "dense_0"), 0) * dropout_mask(jax.random.fold_in(key, 2), 0.5, (8, 32))
        h = jnp.maximum(dense(h, "dense_1"), 0) * dropout_mask(jax.random.fold_in(key, 5), 0.5, (8, 32))
        return jaxdl.softmax_cross_entropy(dense(h, "dense_2"), y).mean()

    loss, grads = loss_and_grad(boxes, params, x, y, key=key, train=True)
    ref_loss, ref_grads = jax.value_and_grad(reference)(params)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), grads, ref_grads)
    # Evaluation: dropout is the identity, so the boxes give the Flax model's logits.
    logits, _ = forward(boxes, params, x, train=False)
    np.testing.assert_allclose(logits, model.apply({"params": params}, x), rtol=1e-5, atol=1e-6)


def test_inverted_dropout_keeps_the_expected_activation():
    mask = dropout_mask(jax.random.key(0), 0.3, (200_000,))
    np.testing.assert_allclose(np.unique(np.asarray(mask)), [0.0, 1 / 0.7], rtol=1e-6)
    assert float(mask.mean()) == pytest.approx(1.0, abs=0.01)
    for rate in (1.0, -0.2):  # at 1 the scale 1 / (1 - rate) divides by zero
        with pytest.raises(ValueError, match=r"dropout_mask: rate must be in \[0, 1\)"):
            dropout_mask(jax.random.key(0), rate, (3,))


def test_backward_returns_the_input_gradient():
    boxes = mlp_boxes(2, activation="tanh")
    model = jaxdl.MLP(features=(6, 1), activation="tanh")
    x = jax.random.normal(jax.random.key(0), (3, 4))
    params = model.init(jax.random.key(1), x)["params"]
    _, caches = forward(boxes, params, x)
    dx, _ = backward(boxes, params, caches, jnp.ones((3, 1)))
    np.testing.assert_allclose(dx, jax.grad(lambda x: model.apply({"params": params}, x).sum())(x), rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- gradient checker

MODELS = [
    ("mlp", jaxdl.MLP(features=(8, 3), activation="tanh"), (5,)),
    ("cnn1d", jaxdl.CNN1D(num_classes=3), (40,)),
    ("lenet5", jaxdl.LeNet5(num_classes=3), (28, 28, 1)),
]


@pytest.mark.parametrize("name,model,shape", MODELS, ids=[m[0] for m in MODELS])
def test_gradient_checker_accepts_autodiff_on_models(name, model, shape):
    x = jax.random.normal(jax.random.key(0), (4, *shape))
    y = jnp.arange(4) % 3
    params = model.init(jax.random.key(1), x)["params"]
    check = check_gradients(lambda p, x, y: jaxdl.softmax_cross_entropy(model.apply({"params": p}, x), y).mean(),
                            params, x, y)
    assert check.ok, check.errors
    assert set(check.errors) == {jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]} | {"all"}


def test_gradient_checker_names_the_leaf_with_a_wrong_gradient():
    @jax.custom_vjp
    def bad_square(w):
        return jnp.sum(w ** 2)

    bad_square.defvjp(lambda w: (bad_square(w), w), lambda w, g: (g * 2.2 * w,))  # should be 2 w

    params = {"good": jnp.arange(1.0, 4.0), "bad": jnp.arange(1.0, 3.0)}
    check = check_gradients(lambda p: jnp.sum(p["good"] ** 3) + bad_square(p["bad"]), params)
    assert not check.ok
    assert check.errors["['good']"] < 1e-6 < 0.05 < check.errors["['bad']"]


def test_gradient_checker_needs_a_scalar():
    with pytest.raises(ValueError, match="scalar"):
        check_gradients(lambda p: p * 2, jnp.ones(3))


# ----------------------------------------------------------------------------- the experiments' tools

def test_relu_interpolant_is_the_piecewise_linear_interpolation():
    knots = np.array([0.0, 0.2, 0.5, 0.6, 1.0])
    values = np.array([1.0, -1.0, 0.5, 0.5, 2.0])
    layers = relu_interpolant(knots, values)
    x = np.linspace(0, 1, 1001)
    np.testing.assert_allclose(evaluate_layers(layers, x[:, None])[:, 0], np.interp(x, knots, values), atol=1e-12)
    assert regions_along_line(layers, [0.0], [1.0]).num_regions == 4  # D = 4 units, breakpoints at the knots
    assert regions_along_line(layers, [0.0], [1.0]).num_linear_pieces == 4


def test_relu_interpolant_error_falls_as_one_over_d_squared():
    x = np.linspace(0, 1, 20_001)
    errors = []
    for d in (16, 32, 64):
        knots = np.linspace(0, 1, d + 1)
        errors.append(np.abs(evaluate_layers(relu_interpolant(knots, np.sin(2 * np.pi * knots)), x[:, None])[:, 0]
                             - np.sin(2 * np.pi * x)).max())
    assert 3.8 < errors[0] / errors[1] < 4.2 and 3.8 < errors[1] / errors[2] < 4.2


def test_fit_shallow_learns_a_smooth_target():
    x = np.linspace(0, 1, 64, dtype=np.float32)[:, None]
    params, predict = fit_shallow(16, x, np.sin(2 * np.pi * x), steps=1500)
    assert float(np.sqrt(np.mean((np.asarray(predict(x)) - np.sin(2 * np.pi * x)) ** 2))) < 0.1
    assert jaxdl.param_count(params) == shallow_param_count(1, 16, 1)


@pytest.mark.parametrize("args,match", [
    ((0, np.zeros((4, 1)), np.zeros((4, 1)), 5), "fit_shallow: width must be >= 1, got 0"),
    ((3, np.zeros((4, 1)), np.zeros((4, 1)), 0), "fit_shallow: steps must be >= 1, got 0"),
    ((3, np.zeros(4), np.zeros(4), 5), r"needs x \[N, 1\] and y \[N, 1\], got \(4,\)"),
    ((3, np.zeros((4, 1)), np.zeros((5, 1)), 5), r"got \(4, 1\) and \(5, 1\)"),
])
def test_fit_shallow_names_bad_arguments(args, match):
    width, x, y, steps = args
    with pytest.raises(ValueError, match=match):
        fit_shallow(width, x, y, steps=steps)


def test_compose_is_function_composition_and_multiplies_regions():
    first, second = zigzag_layers(3, 1), zigzag_layers(2, 1)
    x = np.linspace(0, 1, 777)[:, None]
    np.testing.assert_allclose(evaluate_layers(compose(first, second), x), evaluate_layers(second, evaluate_layers(first, x)),
                               atol=1e-12)
    assert regions_along_line(compose(first, second), [0.0], [1.0]).num_regions == 6
    with pytest.raises(ValueError, match="outputs"):
        compose(first, [(np.ones((2, 1)), np.ones(1))])


def test_shallow_units_sum_to_the_model_output():
    model = jaxdl.ShallowNet(hidden=5)
    params = model.init(jax.random.key(0), jnp.ones((1, 1)))["params"]
    x = np.linspace(-2, 2, 50, dtype=np.float32)[:, None]
    units = shallow_units(params, x)
    np.testing.assert_allclose(units["output"], np.asarray(model.apply({"params": params}, x))[:, 0], atol=1e-5)
    np.testing.assert_allclose(units["activations"], np.maximum(units["pre_activations"], 0))


def test_mcculloch_pitts_weights_reproduce_the_table_with_sign_encoding_only():
    x = truth_table(3)
    assert x.shape == (8, 3)
    np.testing.assert_array_equal(sign_unit(MCCULLOCH_PITTS_WEIGHTS, MCCULLOCH_PITTS_BIAS, x), mcculloch_pitts_target(x))
    binary = truth_table(3, encoding="binary")
    wrong = sign_unit(MCCULLOCH_PITTS_WEIGHTS, MCCULLOCH_PITTS_BIAS, binary) != mcculloch_pitts_target(binary)
    np.testing.assert_array_equal(binary[wrong], [[0, 1, 1]])


def test_zero_and_constant_starts_keep_hidden_units_identical():
    x = jax.random.normal(jax.random.key(0), (32, 6))
    y = jnp.arange(32) % 3
    for init in ("zeros", nn.initializers.constant(0.1)):
        model = jaxdl.MLP(features=(8, 8, 3), activation="tanh", kernel_init=init)
        state = jaxdl.create_train_state(model, optax.adam(1e-2), key=jax.random.key(1), input_shape=(6,))
        step = jax.jit(jaxdl.make_train_step(jaxdl.softmax_cross_entropy))
        for i in range(20):
            state, _ = step(state, {"x": x, "y": y}, jax.random.key(i))
        assert distinct_units(state.params["dense_0"]["kernel"]) == 1
        assert distinct_units(state.params["dense_1"]["kernel"]) == 1
    glorot = jaxdl.MLP(features=(8, 3)).init(jax.random.key(0), x)["params"]
    assert distinct_units(glorot["dense_0"]["kernel"]) == 8


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_signal_propagation_matches_autodiff_of_the_model(activation):
    model = jaxdl.MLP(features=(16, 16, 16, 4), activation=activation, kernel_init="he_normal")
    x = jax.random.normal(jax.random.key(0), (64, 5))
    y = jnp.arange(64) % 4
    params = model.init(jax.random.key(1), x)["params"]
    s = signal_propagation(params, x, y, activation=activation, loss=jaxdl.softmax_cross_entropy)
    assert s["activation_var"].shape == (3,) and s["preactivation_grad_var"].shape == (4,)
    grads = jax.grad(lambda p: jaxdl.softmax_cross_entropy(model.apply({"params": p}, x), y).mean())(params)
    np.testing.assert_allclose(s["kernel_grad_var"], [float(jnp.var(grads[f"dense_{i}"]["kernel"])) for i in range(4)],
                               rtol=1e-4)
    # Last layer: dL/dz = (softmax - onehot) / B, exactly.
    logits = model.apply({"params": params}, x)
    expected = (jax.nn.softmax(logits) - jax.nn.one_hot(y, 4)) / 64
    assert s["preactivation_grad_var"][-1] == pytest.approx(float(jnp.var(expected)), rel=1e-4)


def test_full_batch_descent_stays_in_the_poor_minimum_and_small_batches_escape():
    offsets = double_well_offsets(key=jax.random.key(0), num_examples=200, spread=0.4)
    tx = optax.sgd(optax.cosine_decay_schedule(0.05, 3000))

    def per_example(theta, s):
        return tilted_double_well(theta - s)

    gd = descend(per_example, 1.5, offsets, tx, key=jax.random.key(1), batch_size=200, num_steps=3000)
    assert gd.shape == (3001,) and float(gd[0]) == 1.5 and 0.5 < float(gd[-1]) < 0.8
    final = jax.jit(jax.vmap(lambda k: descend(per_example, 1.5, offsets, tx, key=k, batch_size=1, num_steps=3000)[-1]))(
        jax.random.split(jax.random.key(2), 64))
    assert float(jnp.mean(final < 0)) > 0.5  # most single-example runs leave the poor basin


def test_near_zero_fraction_counts_kernels_only():
    params = {"a": {"kernel": jnp.array([0.0, 1e-4, 0.5, -2.0]), "bias": jnp.zeros(10)}}
    assert jaxdl.near_zero_fraction(params) == 0.5
    assert jaxdl.near_zero_fraction(params, threshold=1.0) == 0.75
    with pytest.raises(ValueError, match="kernel"):
        jaxdl.near_zero_fraction({"b": jnp.zeros(3)})
