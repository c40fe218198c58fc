"""Dilated convolutions (UDL §10.2.4): the arithmetic, and a dilated filter equals the larger
filter with zeros between its taps, in 2D (jaxdl.models.Conv2D) and 1D (CNN1D)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxdl
from jaxdl.models import CNN1D, Conv2D, conv_output_size


@pytest.mark.parametrize("n,f,p,s,d,m", [(32, 3, 0, 1, 2, 28), (32, 3, 2, 1, 2, 32), (40, 5, 4, 1, 2, 40),
                                         (41, 3, 0, 2, 3, 18), (7, 3, 0, 1, 3, 1)])
def test_output_size_uses_the_dilated_filter_size(n, f, p, s, d, m):
    assert conv_output_size(n, f, padding=p, stride=s, dilation=d) == m == (n - (d * (f - 1) + 1) + 2 * p) // s + 1


def test_a_dilated_filter_larger_than_the_input_is_named():
    with pytest.raises(ValueError, match=r"dilated filter size D \(F - 1\) \+ 1 = 9 is larger than the padded input"):
        conv_output_size(8, 3, dilation=4)
    with pytest.raises(ValueError, match="dilation D must be an int >= 1"):
        conv_output_size(8, 3, dilation=0)


def _zero_filled(kernel, d):
    """``[F, ..., C, O]`` -> ``[D (F - 1) + 1, ...]`` with ``D - 1`` zeros between taps (spatial axes)."""
    spatial = kernel.ndim - 2
    shape = tuple(d * (k - 1) + 1 for k in kernel.shape[:spatial]) + kernel.shape[spatial:]
    index = tuple(slice(None, None, d) for _ in range(spatial))
    return jnp.zeros(shape, kernel.dtype).at[index].set(kernel)


@pytest.mark.parametrize("dilation,padding,stride", [(2, 2, 1), (3, 0, 1), (2, 1, 2)])
def test_dilated_conv2d_equals_a_zero_filled_kernel(dilation, padding, stride):
    x = jax.random.normal(jax.random.key(0), (2, 13, 13, 3))
    dilated = Conv2D(4, 3, padding, stride, dilation=dilation, exact=False)
    variables = dilated.init(jax.random.key(1), x)
    big = Conv2D(4, 2 * dilation + 1, padding, stride, exact=False)
    big_vars = {"params": {"kernel": _zero_filled(variables["params"]["kernel"], dilation),
                           "bias": variables["params"]["bias"]}}
    np.testing.assert_allclose(dilated.apply(variables, x), big.apply(big_vars, x), rtol=1e-5, atol=1e-5)
    for impl in ("xla", "blocked"):  # the default ("auto") above; each formulation the same function
        np.testing.assert_allclose(Conv2D(4, 3, padding, stride, dilation=dilation, exact=False, impl=impl).apply(
            variables, x), big.apply(big_vars, x), rtol=1e-5, atol=1e-5)


def test_dilated_cnn1d_equals_a_zero_filled_kernel_and_keeps_the_paper_default():
    x = jax.random.normal(jax.random.key(2), (3, 40))
    assert jaxdl.param_count(CNN1D().init(jax.random.key(0), x)["params"]) == 5210  # the paper's CNN
    dilated = CNN1D(channels=4, kernel_sizes=(5,), strides=(1,), paddings=(4,), dilations=(2,))
    variables = dilated.init(jax.random.key(3), x)
    big = CNN1D(channels=4, kernel_sizes=(9,), strides=(1,), paddings=(4,), dilations=(1,))
    params = dict(variables["params"], conv_0=dict(variables["params"]["conv_0"],
                                                   kernel=_zero_filled(variables["params"]["conv_0"]["kernel"], 2)))
    np.testing.assert_allclose(dilated.apply(variables, x), big.apply({"params": params}, x), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="one channel count, stride, padding and dilation per layer"):
        CNN1D(kernel_sizes=(5, 3), strides=(2,)).init(jax.random.key(0), x)
