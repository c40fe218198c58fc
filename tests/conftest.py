"""Test configuration: strict numerics so silent broadcasting bugs fail loudly."""

import os

# Before jax is imported anywhere: keep tests on the CPU, with no GPU probing.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

# Compile for a short compile: almost every test runs a small program once or a few times, so
# XLA:CPU's compile, not the run, is what a test costs. LLVM at level 0, one LLVM module and the
# older loop emitters (what jaxdl.cpu.jit_once uses for programs that run once) compute the
# same values and compile about twice as fast here. Subprocesses the tests start inherit it.
# The library's default code generation is still exercised where it matters: the tests of
# compiler options compare against the fusion emitters explicitly.
TEST_XLA_FLAGS = ("--xla_backend_optimization_level=0 --xla_cpu_parallel_codegen_split_count=1 "
                  "--xla_cpu_use_fusion_emitters=false")
if "JAXDL_TEST_DEFAULT_COMPILE" not in os.environ:
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {TEST_XLA_FLAGS}".strip()
# What a user's program compiles with (the tests of compiler options compare against it).
FUSION_EMITTERS = {"xla_cpu_use_fusion_emitters": True}

import jax  # noqa: E402
import pytest  # noqa: E402

# [B, 1] against [B] must be an error, not a [B, B] broadcast.
jax.config.update("jax_numpy_rank_promotion", "raise")

if os.environ.get("JAXDL_TEST_CACHE"):
    jax.config.update("jax_compilation_cache_dir", os.environ["JAXDL_TEST_CACHE"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


@pytest.fixture
def key():
    return jax.random.key(0)
