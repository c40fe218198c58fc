"""Every model: output shape and exact parameter count, from the closed forms."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxdl

B = 7

# (model, input shape, output shape, parameter count from the closed form in its docstring)
MODELS = [
    ("linear_regression", jaxdl.LinearRegression(num_outputs=3), (5,), (B, 3), 3 * (5 + 1)),
    ("logistic_regression", jaxdl.LogisticRegression(num_classes=10), (40,), (B, 10), 410),
    ("binary_logistic", jaxdl.LogisticRegression(num_classes=1), (2,), (B, 1), 3),
    ("perceptron", jaxdl.Perceptron(), (3,), (B, 1), 4),
    ("shallow", jaxdl.ShallowNet(hidden=7, num_outputs=2), (3,), (B, 2), 7 * (3 + 1) + 2 * (7 + 1)),
    ("mlp_mnist1d", jaxdl.MLP(features=(100, 100, 10)), (40,), (B, 10), 15_210),
    ("mlp_deep_dropout", jaxdl.MLP(features=(16, 16, 16, 1), activation="tanh", dropout_rate=0.5), (1,), (B, 1),
     3 * 16 + 1 + 2 * 16 * 17),  # lectures: 3D + 1 + (K - 1) D (D + 1), one input, one output, K = 3
    ("cnn1d_mnist1d", jaxdl.CNN1D(), (40,), (B, 10), 5_210),  # Greydanus 2020, Table 1
    # (k=3, s=1, p=2, d=2) keeps the length 40: 2 * (3 + 1) + 2 * (3 * 2 + 1) + (40 * 2 + 1) * 10
    ("cnn1d_dilated", jaxdl.CNN1D(channels=2, kernel_sizes=(3, 3), strides=(1, 1), paddings=(2, 2), dilations=(2, 2)),
     (40,), (B, 10), 2 * 4 + 2 * 7 + 81 * 10),
    # (D + 1) W + depth 2 W (W + 1) [+ 4 W per block with batch norm] + (W + 1) C
    ("residual_mlp", jaxdl.ResidualMLP(width=8, depth=3, num_classes=4), (5,), (B, 4), 6 * 8 + 3 * 2 * 8 * 9 + 9 * 4),
    ("residual_mlp_bn", jaxdl.ResidualMLP(width=8, depth=2, num_classes=4, batch_norm=True), (5,), (B, 4),
     6 * 8 + 2 * (2 * 8 * 9 + 4 * 8) + 9 * 4),
    ("plain_mlp_noskip", jaxdl.ResidualMLP(width=8, depth=3, num_classes=4, skip=False), (5,), (B, 4),
     6 * 8 + 3 * 2 * 8 * 9 + 9 * 4),
    ("bigru_mnist1d", jaxdl.BiGRU(), (40,), (B, 10), 5_134),
    ("bigru_small", jaxdl.BiGRU(hidden=3, num_classes=4), (9,), (B, 4), 2 * (3 * 3 * 2 + 3 * 3 * 4) + (2 * 3 * 9 + 1) * 4),
    ("small_cnn_digits", jaxdl.SmallCNN(channels=(8, 16), hidden=32, num_classes=10, dropout_rate=0.5), (8, 8, 1),
     (B, 10), (9 * 1 + 1) * 8 + (9 * 8 + 1) * 16 + (2 * 2 * 16 + 1) * 32 + (32 + 1) * 10),
    ("mlp_he", jaxdl.MLP(features=(32, 4), kernel_init="he_normal", activation="leaky_relu"), (6,), (B, 4),
     32 * 7 + 4 * 33),
    # LeNet-5 (LeCun et al. 1998) with a fully connected C3: the well-known 61,706.
    ("lenet5_mnist", jaxdl.LeNet5(), (28, 28, 1), (B, 10), 61_706),
    ("lenet5_paper_32", jaxdl.LeNet5(padding=0, activation="tanh", pooling="avg"), (32, 32, 1), (B, 10), 61_706),
    ("lenet5_s2d", jaxdl.LeNet5(conv_impl="s2d"), (28, 28, 1), (B, 10), 61_706),
    ("lenet5_blocked", jaxdl.LeNet5(conv_impl="blocked"), (28, 28, 1), (B, 10), 61_706),
    ("lenet5_s2d_paper_32", jaxdl.LeNet5(padding=0, activation="tanh", pooling="avg", conv_impl="s2d"), (32, 32, 1),
     (B, 10), 61_706),
    ("alexnet_tiny", jaxdl.AlexNet(channels=(4, 8, 8, 8, 8), hidden=(16, 16)), (32, 32, 3), (B, 10),
     (25 * 3 + 1) * 4 + (25 * 4 + 1) * 8 + 3 * (9 * 8 + 1) * 8 + (4 * 4 * 8 + 1) * 16 + 17 * 16 + 17 * 10),
    ("vgg_tiny_bn", jaxdl.VGG(stages=((4,), (8, 8)), hidden=(16,), batch_norm=True), (32, 32, 3), (B, 10),
     9 * 3 * 4 + 2 * 4 + 9 * 4 * 8 + 2 * 8 + 9 * 8 * 8 + 2 * 8 + (8 * 8 * 8 + 1) * 16 + 17 * 10),
    ("vgg_tiny", jaxdl.VGG(stages=((4, 4),), hidden=(8, 8), num_classes=3), (8, 8, 1), (B, 3),
     (9 * 1 + 1) * 4 + (9 * 4 + 1) * 4 + (4 * 4 * 4 + 1) * 8 + 9 * 8 + 9 * 3),
    ("inception_tiny", jaxdl.InceptionNet(stem=8, stages=(((4, 4, 8, 2, 4, 4),), ((8, 4, 8, 2, 4, 4),)),
                                          num_classes=5), (16, 16, 3), (B, 5),
     (27 + 1) * 8 + (9 * 4 + 4 * 9 + (36 + 1) * 8 + 9 * 2 + (50 + 1) * 4 + 9 * 4)
     + (21 * 8 + 21 * 4 + (36 + 1) * 8 + 21 * 2 + (50 + 1) * 4 + 21 * 4) + (24 + 1) * 5),
    # depth 8 = one block per stage: stem 9*3*4 + BN 2*4; blocks 9 c_in c + 9 c c + 4 c; classifier.
    ("resnet8_tiny", jaxdl.ResNet(depth=8, width=4), (32, 32, 3), (B, 10),
     116 + (144 + 144 + 16) + (288 + 576 + 32) + (1152 + 2304 + 64) + 17 * 10),
    ("resnet8_tiny_noskip", jaxdl.ResNet(depth=8, width=4, skip=False), (32, 32, 3), (B, 10), 5_006),
]

# Too large to run on every test: shapes and counts from jax.eval_shape (no FLOPs spent).
LARGE = [
    ("resnet20", jaxdl.resnet20(), (32, 32, 3), 269_722),  # He et al. 2016, Table 6: 0.27M
    ("resnet56", jaxdl.resnet56(), (32, 32, 3), 853_018),  # 0.85M
    ("resnet56_noskip", jaxdl.resnet56(skip=False), (32, 32, 3), 853_018),  # option A shortcuts have no weights
    ("alexnet", jaxdl.AlexNet(), (32, 32, 3),
     76 * 64 + 1601 * 192 + 1729 * 384 + 3457 * 256 + 2305 * 256 + (4 * 4 * 256 + 1) * 1024 + 1025 * 1024 + 1025 * 10),
    ("vgg", jaxdl.VGG(), (32, 32, 3),
     28 * 64 + 577 * 64 + 577 * 128 + 1153 * 128 + 1153 * 256 + 2 * 2305 * 256 + (4 * 4 * 256 + 1) * 512 + 513 * 10),
    ("inception", jaxdl.InceptionNet(), (32, 32, 3), 28 * 64 + (
        65 * 64 + 65 * 96 + 865 * 128 + 65 * 16 + 401 * 32 + 65 * 32)  # 3a on the 64-channel stem
     + (257 * 128 + 257 * 128 + 1153 * 192 + 257 * 32 + 801 * 96 + 257 * 64)  # 3b on 256
     + (481 * 192 + 481 * 96 + 865 * 208 + 481 * 16 + 401 * 48 + 481 * 64)  # 4a on 480
     + 513 * 10),
]


@pytest.mark.parametrize("name,model,input_shape,output_shape,count", MODELS, ids=[m[0] for m in MODELS])
def test_shape_and_param_count(name, model, input_shape, output_shape, count, key):
    x = jax.random.normal(key, (B, *input_shape))
    variables = model.init({"params": key, "dropout": key}, x)
    assert jaxdl.param_count(variables["params"]) == count
    out = model.apply(variables, x)
    assert out.shape == output_shape
    mutable = [c for c in variables if c != "params"]
    out_train = model.apply(variables, x, train=True, rngs={"dropout": key}, mutable=mutable or False)
    out_train = out_train[0] if mutable else out_train
    assert out_train.shape == output_shape
    assert jnp.all(jnp.isfinite(out))


@pytest.mark.parametrize("name,model,input_shape,count", LARGE, ids=[m[0] for m in LARGE])
def test_large_model_shape_and_param_count(name, model, input_shape, count):
    x = jax.ShapeDtypeStruct((2, *input_shape), jnp.float32)
    variables = jax.eval_shape(lambda x: model.init(jax.random.key(0), x), x)
    assert jaxdl.param_count(variables["params"]) == count
    assert jax.eval_shape(lambda v, x: model.apply(v, x), variables, x).shape == (2, 10)


# Written out here, not taken from the library's table: a wrong entry there must fail.
ACTIVATION_FORMULAS = {
    "linear": lambda z: z,
    "relu": lambda z: np.maximum(z, 0.0),
    "leaky_relu": lambda z: np.where(z >= 0, z, 0.01 * z),
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
}


def test_the_activation_table_is_the_formulas():
    assert set(jaxdl.ACTIVATIONS) == set(ACTIVATION_FORMULAS)


@pytest.mark.parametrize("activation", sorted(ACTIVATION_FORMULAS))
def test_every_activation_builds(activation, key):
    model = jaxdl.MLP(features=(8, 2), activation=activation)
    x = jnp.linspace(-2, 2, 12).reshape(6, 2)
    variables = model.init(key, x)
    p = jax.tree.map(np.asarray, variables["params"])
    hidden = ACTIVATION_FORMULAS[activation](np.asarray(x) @ p["dense_0"]["kernel"] + p["dense_0"]["bias"][None])
    expected = hidden @ p["dense_1"]["kernel"] + p["dense_1"]["bias"][None]
    np.testing.assert_allclose(model.apply(variables, x), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("what,kwargs", [
    ("activation", {"activation": "swishy"}),
    ("kernel initialiser", {"kernel_init": "glorot_normalish"}),
])
def test_unknown_names_are_rejected(what, kwargs, key):
    with pytest.raises(ValueError, match=f"unknown {what}"):
        jaxdl.MLP(features=(4, 2), **kwargs).init(key, jnp.ones((1, 3)))


def test_initialiser_variances(key):
    fan_in, fan_out = 400, 300
    x = jnp.ones((1, fan_in))

    def kernel(init):
        return jaxdl.MLP(features=(fan_out, 1), kernel_init=init).init(key, x)["params"]["dense_0"]["kernel"]

    assert float(jnp.abs(kernel("zeros")).max()) == 0.0
    glorot = kernel("glorot_uniform")
    limit = np.sqrt(6 / (fan_in + fan_out))
    assert float(jnp.abs(glorot).max()) <= limit
    np.testing.assert_allclose(float(glorot.var()), 2 / (fan_in + fan_out), rtol=0.05)
    np.testing.assert_allclose(float(kernel("he_normal").var()), 2 / fan_in, rtol=0.05)
    np.testing.assert_allclose(float(kernel("lecun_normal").var()), 1 / fan_in, rtol=0.05)


def test_inverted_dropout_keeps_expected_activation(key):
    model = jaxdl.MLP(features=(2000, 1), activation="relu", dropout_rate=0.5)
    x = jnp.ones((1, 3))
    variables = model.init(key, x)
    hidden_eval = jax.nn.relu(x @ variables["params"]["dense_0"]["kernel"] + variables["params"]["dense_0"]["bias"][None])
    dropped = nn.Dropout(0.5, deterministic=False).apply({}, hidden_eval, rngs={"dropout": key})
    kept = dropped != 0
    assert 0.45 < float(kept[hidden_eval != 0].mean()) < 0.55
    np.testing.assert_allclose(dropped[kept], 2 * hidden_eval[kept], rtol=1e-6)
    # Averaged over masks, the network output in training equals the eval output.
    outs = jax.vmap(lambda k: model.apply(variables, x, train=True, rngs={"dropout": k}))(jax.random.split(key, 400))
    np.testing.assert_allclose(float(outs.mean()), float(model.apply(variables, x)[0, 0]), atol=0.05 * float(outs.std()) + 1e-3)


def test_least_squares_matches_gradient_descent(key):
    data = jaxdl.data.linear_1d(key=key, num_train=200, num_test=10, slope=2.0, intercept=-0.5, noise=0.1)
    exact = jaxdl.least_squares(data.x_train, data.y_train)
    np.testing.assert_allclose(exact["params"]["linear"]["kernel"][0, 0], 2.0, atol=0.05)
    model = jaxdl.LinearRegression()
    state = jaxdl.create_train_state(model, optax.sgd(0.5), key=key, input_shape=(1,))
    step = jax.jit(jaxdl.make_train_step(jaxdl.mse))
    batch = {"x": data.x_train, "y": data.y_train}
    for _ in range(300):
        state, _ = step(state, batch, key)
    for name in ("kernel", "bias"):
        np.testing.assert_allclose(state.params["linear"][name], exact["params"]["linear"][name], atol=1e-5)
    assert model.apply(exact, data.x_test).shape == data.y_test.shape


def test_least_squares_rejects_bad_shapes():
    with pytest.raises(ValueError, match="least_squares"):
        jaxdl.least_squares(np.ones((5, 2)), np.ones(5))


def test_least_squares_names_non_finite_inputs():
    x, y = np.arange(10.0).reshape(5, 2), np.ones((5, 1))
    x[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"least_squares: x has 1 NaN/inf values \(first in row 3\)"):
        jaxdl.least_squares(x, y)
    with pytest.raises(ValueError, match=r"y has 1 NaN/inf values \(first in row 0\)"):
        jaxdl.least_squares(np.arange(10.0).reshape(5, 2), np.array([[np.inf], [1], [1], [1], [1]]))


def test_perceptron_step_is_the_perceptron_rule(key):
    x = jax.random.normal(key, (16, 3))
    labels = (x[:, 0] - x[:, 1] > 0).astype(jnp.int32)
    model = jaxdl.Perceptron()
    params = model.init(key, x)["params"]
    params = jax.tree.map(lambda p: p + 0.3, params)  # a non-trivial starting point
    lr = 0.7

    def summed(p):
        return jaxdl.perceptron_loss(model.apply({"params": p}, x), labels).sum()

    grads = jax.grad(summed)(params)
    sgd = jax.tree.map(lambda p, g: p - lr * g, params, grads)
    w, b = params["linear"]["kernel"][:, 0], params["linear"]["bias"][0]
    y_hat = (x @ w + b > 0).astype(jnp.float32)
    error = labels - y_hat
    assert float(jnp.abs(error).sum()) > 0  # the rule has something to correct
    np.testing.assert_allclose(sgd["linear"]["kernel"][:, 0], w + lr * error @ x, rtol=1e-6)
    np.testing.assert_allclose(sgd["linear"]["bias"][0], b + lr * error.sum(), rtol=1e-6)


def test_perceptron_learns_separable_data(key):
    data = jaxdl.data.blobs(key=key, num_classes=2, std=0.2, num_train=100, num_test=50)
    state = jaxdl.create_train_state(jaxdl.Perceptron(), optax.sgd(1.0), key=key, input_shape=(2,))
    step = jax.jit(jaxdl.make_train_step(jaxdl.perceptron_loss, metrics={"accuracy": jaxdl.accuracy}))
    batch = {"x": data.x_train, "y": data.y_train}
    for _ in range(100):
        state, metrics = step(state, batch, key)
    scores = state.apply_fn({"params": state.params}, data.x_train)
    assert float(jaxdl.perceptron_loss(scores, data.y_train).sum()) == 0.0
    np.testing.assert_array_equal(jaxdl.heaviside(scores)[:, 0], data.y_train)
