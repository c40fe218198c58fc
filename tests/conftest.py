"""Test configuration: strict numerics so silent broadcasting bugs fail loudly."""

import os

# Before jax is imported anywhere: keep tests on the CPU, with no GPU probing.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import jax  # noqa: E402
import pytest  # noqa: E402

# [B, 1] against [B] must be an error, not a [B, B] broadcast.
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    return jax.random.key(0)
