"""The general convolution path (issue 33): ``Conv2D`` against ``flax.linen.Conv`` over a table
of shapes, strides, paddings, dilations and feature groups, in every formulation; the CPU rule
(``jaxdl.cpu.cpu_conv_formulation``) and what it compiles to; every CNN equal to its
XLA-convolution version."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxdl
from jaxdl.cpu import cpu_conv_formulation

# (image H x W, C_in, C_out, filter, stride, padding, dilation, groups, use_bias)
LAYERS = [
    ((12, 12), 3, 5, 3, 1, 1, 1, 1, True),  # few channels: blocked on a CPU
    ((10, 14), 1, 6, 5, 1, 2, 1, 1, True),  # LeNet's C1 shape, not square
    ((12, 12), 16, 8, 3, 1, 1, 1, 1, False),  # small image: blocked
    ((20, 20), 16, 8, 3, 1, 1, 1, 1, True),  # wide 20x20: XLA's
    ((12, 12), 4, 6, 3, 2, 1, 1, 1, True),  # stride 2: XLA's
    ((13, 13), 3, 4, 3, 2, 0, 1, 1, True),  # stride that floors
    ((12, 12), 3, 4, 3, 1, 2, 2, 1, True),  # dilation 2
    ((9, 9), 6, 4, 1, 1, 0, 1, 1, True),  # 1x1: one matmul
    ((8, 8), 8, 6, 1, 2, 0, 1, 1, True),  # 1x1 at stride 2
    ((10, 10), 8, 12, 3, 1, 1, 1, 2, True),  # two feature groups
    ((10, 10), 6, 6, 3, 1, 1, 1, 6, False),  # depthwise
]


def _flax_conv(c_out, f, stride, padding, dilation, groups, use_bias):
    return nn.Conv(c_out, (f, f), strides=stride, padding=((padding, padding),) * 2, kernel_dilation=dilation,
                   feature_group_count=groups, use_bias=use_bias)


@pytest.mark.parametrize("image,c_in,c_out,f,stride,padding,dilation,groups,use_bias", LAYERS)
def test_conv2d_is_flax_conv_in_every_formulation(image, c_in, c_out, f, stride, padding, dilation, groups, use_bias):
    """Same parameters (names, shapes, initial values), same outputs, same gradients of input
    and parameters: a checkpoint of one loads into the other."""
    key = jax.random.key(0)
    x = jax.random.normal(jax.random.key(1), (3, *image, c_in))
    ref = _flax_conv(c_out, f, stride, padding, dilation, groups, use_bias)
    variables = ref.init(key, x)
    impls = ["auto", "xla"] + (["blocked"] if groups == 1 else [])
    g = jax.random.normal(jax.random.key(2), ref.apply(variables, x).shape)
    ref_grads = jax.grad(lambda v, x: jnp.vdot(ref.apply(v, x), g), (0, 1))(variables, x)
    for impl in impls:
        ours = jaxdl.Conv2D(c_out, f, padding, stride, use_bias, impl, exact=False, dilation=dilation, groups=groups)
        mine = ours.init(key, x)
        assert jax.tree.structure(mine) == jax.tree.structure(variables)
        for a, b in zip(jax.tree.leaves(mine), jax.tree.leaves(variables), strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(ours.apply(variables, x), ref.apply(variables, x), rtol=1e-5, atol=1e-5)
        grads = jax.grad(lambda v, x: jnp.vdot(ours.apply(v, x), g), (0, 1))(variables, x)
        for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(ref_grads), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_conv2d_rejects_bad_groups_and_blocked_groups():
    x = jnp.zeros((1, 8, 8, 6))
    with pytest.raises(ValueError, match=r"groups=4 must divide the input channels \(6\)"):
        jaxdl.Conv2D(8, 3, 1, groups=4).init(jax.random.key(0), x)
    with pytest.raises(ValueError, match="impl='blocked' computes ungrouped convolutions only"):
        jaxdl.Conv2D(6, 3, 1, groups=2, impl="blocked").init(jax.random.key(0), x)


@pytest.mark.parametrize("image,c_in,f,stride,padding,groups,expected", [
    ((32, 32), 3, 3, 1, 1, 1, "blocked"),  # ResNet's stem
    ((28, 28), 1, 5, 1, 2, 1, "blocked"),  # LeNet's C1
    ((32, 32), 16, 3, 1, 1, 1, "xla"),  # ResNet's first stage
    ((32, 32), 16, 3, 2, 1, 1, "xla"),  # stride 2
    ((16, 16), 32, 3, 1, 1, 1, "blocked"),
    ((8, 8), 64, 3, 1, 1, 1, "blocked"),
    ((8, 8), 128, 3, 1, 1, 1, "xla"),
    ((16, 16), 64, 1, 1, 0, 1, "dot"),
    ((16, 16), 64, 1, 2, 0, 1, "xla"),
    ((8, 8), 4, 3, 1, 1, 2, "xla"),
])
def test_cpu_rule(image, c_in, f, stride, padding, groups, expected):
    assert cpu_conv_formulation(image, c_in, f, stride=stride, padding=padding, groups=groups) == expected


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the CPU rule applies on the CPU only")
@pytest.mark.parametrize("c_in,image,convolutions", [(3, 16, 0), (1, 28, 0), (32, 32, 1)])
def test_default_conv2d_compiles_to_what_the_rule_picks(c_in, image, convolutions):
    """``impl="auto"`` is decided when the program is lowered: the few-channel layer's train
    step has no convolution left on a CPU, the wide one keeps XLA's (forward and backward)."""
    x = jnp.ones((2, image, image, c_in))
    conv = jaxdl.Conv2D(4, 3, 1)
    variables = conv.init(jax.random.key(0), x)
    hlo = jax.jit(jax.grad(lambda v: jnp.sum(conv.apply(v, x) ** 2))).lower(variables).as_text()
    assert ("convolution" in hlo) == bool(convolutions)
    assert "platform_index" not in hlo and "conditional" not in jax.jit(
        lambda v: conv.apply(v, x)).lower(variables).compile().as_text()


CNNS = [
    ("lenet5", lambda impl: jaxdl.LeNet5(conv_impl=impl), (28, 28, 1)),
    ("small_cnn", lambda impl: jaxdl.SmallCNN(channels=(4, 8), hidden=16, conv_impl=impl), (16, 16, 1)),
    ("alexnet", lambda impl: jaxdl.AlexNet(channels=(4, 8, 8, 8, 8), hidden=(16, 16), conv_impl=impl), (16, 16, 3)),
    ("vgg_bn", lambda impl: jaxdl.VGG(stages=((4,), (8, 8)), hidden=(16,), batch_norm=True, conv_impl=impl),
     (16, 16, 3)),
    ("inception", lambda impl: jaxdl.InceptionNet(stem=4, stages=(((2, 2, 4, 2, 2, 2),),), conv_impl=impl),
     (8, 8, 3)),
    ("resnet8", lambda impl: jaxdl.ResNet(depth=8, width=4, conv_impl=impl), (16, 16, 3)),
]


@pytest.mark.parametrize("name,make,shape", CNNS, ids=[c[0] for c in CNNS])
def test_every_cnn_equals_its_xla_convolution_version(name, make, shape):
    """The default model (``conv_impl="auto"``) and ``conv_impl="xla"``: the same parameters
    and batch statistics, the same training-mode outputs and parameter gradients."""
    key = jax.random.key(0)
    x = jax.random.normal(jax.random.key(1), (4, *shape))
    y = jnp.arange(4) % 10
    default, xla = make("auto"), make("xla")
    variables = xla.init(key, x)
    for a, b in zip(jax.tree.leaves(default.init(key, x)), jax.tree.leaves(variables), strict=True):
        np.testing.assert_array_equal(a, b)

    def loss(model):
        def f(params):
            out = model.apply({**variables, "params": params}, x, train=True, mutable=["batch_stats"],
                              rngs={"dropout": jax.random.key(2)})
            return jaxdl.softmax_cross_entropy(out[0], y).mean(), out[1]
        return jax.value_and_grad(f, has_aux=True)(variables["params"])

    (la, stats_a), ga = loss(default)
    (lb, stats_b), gb = loss(xla)
    np.testing.assert_allclose(la, lb, rtol=1e-5)
    for a, b in zip(jax.tree.leaves((ga, stats_a)), jax.tree.leaves((gb, stats_b)), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
