"""Bad input, fuzzed: hypothesis throws malformed datasets, configs, names and files at the
public entry points. Every one must raise ValueError or TypeError with a message that names
the problem (checked by a pattern per kind of fault), before any training step: no crash, no
other exception, no hang (a per-example deadline)."""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import re
from typing import Any, Callable

import jax
import numpy as np
import optax
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jaxdl

CE = jaxdl.softmax_cross_entropy
N, D, C = 24, 3, 3


@dataclasses.dataclass
class Case:
    kind: str
    call: Callable[[], Any]
    pattern: str  # must appear (as a regex) in the error message: the named problem
    errors: tuple = (ValueError, TypeError)


def _valid_fields(rng_seed=0, n=N, d=D):
    rng = np.random.default_rng(rng_seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    y = rng.integers(0, C, n).astype(np.int32)
    return dict(x_train=x, y_train=y, x_test=x[:6].copy(), y_test=y[:6].copy(), num_classes=C, name="fuzz")


_STATE: dict[str, Any] = {}


def _state():
    # One model for every fit case: every case must fail in validation, before it is used.
    if "state" not in _STATE:
        _STATE["state"] = jaxdl.create_train_state(jaxdl.MLP(features=(8, C)), optax.sgd(0.1),
                                                   key=jax.random.key(0), input_shape=(D,))
        _STATE["data"] = jaxdl.Dataset(**_valid_fields())
    return _STATE["state"], _STATE["data"]


def _fit(**overrides):
    state, data = _state()
    kwargs = dict(key=jax.random.key(1), num_steps=3, batch_size=4, progress=False)
    kwargs.update(overrides)
    data = kwargs.pop("data", data)
    state = kwargs.pop("state", state)
    return lambda: jaxdl.fit(state, data, _must_not_run, **kwargs)


def _must_not_run(state, batch, rng):
    # Traced only if validation let a bad config through; not a ValueError/TypeError, so the
    # case fails (and the shared state is never donated to a real step).
    raise RuntimeError("fit started training on a malformed config")


# ---------------------------------------------------------------- malformed datasets

seeds = st.integers(0, 2**16)
sizes = st.integers(1, 40)


@st.composite
def bad_rank(draw):
    split = draw(st.sampled_from(["x_train", "x_test"]))
    fields = _valid_fields(draw(seeds))
    n = len(fields[split])
    fields[split] = draw(st.sampled_from([np.float32(1.0), np.zeros(n, np.float32)]))
    return Case("inputs of rank < 2", lambda: jaxdl.Dataset(**fields), r"rank >= 2|has shape .* examples")


@st.composite
def bad_dtype(draw):
    split = draw(st.sampled_from(["x_train", "x_test"]))
    fields = _valid_fields(draw(seeds))
    shape = fields[split].shape
    kind = draw(st.sampled_from(["str", "object", "complex", "datetime"]))
    fields[split] = {
        "str": np.full(shape, "a"),
        "object": np.full(shape, None, dtype=object),
        "complex": np.ones(shape, np.complex64),
        "datetime": np.zeros(shape, "datetime64[s]"),
    }[kind]
    return Case(f"{kind} inputs", lambda: jaxdl.Dataset(**fields), rf"{split} must be (numeric|real)")


@st.composite
def non_finite(draw):
    split = draw(st.sampled_from(["x_train", "x_test"]))
    fields = _valid_fields(draw(seeds))
    x = fields[split]
    i, j = draw(st.integers(0, x.shape[0] - 1)), draw(st.integers(0, x.shape[1] - 1))
    x[i, j] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return Case("NaN/inf inputs", lambda: jaxdl.Dataset(**fields), rf"{split} contains .*NaN/inf .*example {i}\b")


@st.composite
def non_finite_targets(draw):
    fields = _valid_fields(draw(seeds))
    fields.update(num_classes=None, y_train=fields["x_train"][:, 0].copy(), y_test=fields["x_test"][:, 0].copy())
    i = draw(st.integers(0, N - 1))
    fields["y_train"][i] = draw(st.sampled_from([np.nan, np.inf]))
    return Case("NaN/inf regression targets", lambda: jaxdl.Dataset(**fields), rf"y_train contains .*NaN/inf targets .*example {i}\b")


@st.composite
def empty_split(draw):
    split = draw(st.sampled_from(["train", "test"]))
    fields = _valid_fields(draw(seeds))
    fields[f"x_{split}"] = np.zeros((0, D), np.float32)
    fields[f"y_{split}"] = np.zeros(0, np.int32)
    return Case("empty split", lambda: jaxdl.Dataset(**fields), rf"x_{split} is empty")


@st.composite
def length_mismatch(draw):
    split = draw(st.sampled_from(["train", "test"]))
    fields = _valid_fields(draw(seeds))
    n = len(fields[f"x_{split}"])
    m = draw(sizes.filter(lambda m: m != n))
    fields[f"y_{split}"] = np.zeros(m, np.int32)
    return Case("x/y length mismatch", lambda: jaxdl.Dataset(**fields), rf"y_{split} has shape \({m},\) but x_{split} has {n} examples")


@st.composite
def feature_mismatch(draw):
    fields = _valid_fields(draw(seeds))
    d = draw(st.integers(1, 8).filter(lambda d: d != D))
    fields["x_test"] = np.zeros((6, d), np.float32)
    return Case("train/test feature mismatch", lambda: jaxdl.Dataset(**fields), r"feature shape")


@st.composite
def labels_out_of_range(draw):
    split = draw(st.sampled_from(["y_train", "y_test"]))
    fields = _valid_fields(draw(seeds))
    i = draw(st.integers(0, len(fields[split]) - 1))
    fields[split][i] = draw(st.one_of(st.integers(-1000, -1), st.integers(C, 1000)))
    return Case("labels out of range", lambda: jaxdl.Dataset(**fields), rf"{split} has labels in \[")


@st.composite
def bad_labels(draw):
    fields = _valid_fields(draw(seeds))
    kind = draw(st.sampled_from(["float", "rank 2", "scalar", "string"]))
    fields["y_train"] = {
        "float": fields["y_train"].astype(np.float32) + 0.5,
        "rank 2": fields["y_train"][:, None],
        "scalar": np.int32(1),
        "string": fields["y_train"].astype(str),
    }[kind]
    pattern = {"float": "integer class labels", "rank 2": r"must be \[N\] integer class labels",
               "scalar": r"has shape \(\) but x_train", "string": "integer class labels"}[kind]
    return Case(f"{kind} class labels", lambda: jaxdl.Dataset(**fields), rf"y_train .*{pattern}|{pattern}")


@st.composite
def bad_num_classes(draw):
    fields = _valid_fields(draw(seeds))
    fields["num_classes"] = draw(st.one_of(st.integers(-50, 0), st.floats(0.5, 9.5), st.just("3"), st.just(True)))
    return Case("bad num_classes", lambda: jaxdl.Dataset(**fields), r"num_classes must be a positive int")


# ---------------------------------------------------------------- malformed fit configs

@st.composite
def bad_batch_size(draw):
    value = draw(st.one_of(st.integers(-10**9, 0), st.integers(N + 1, 10**12), st.floats(0.5, 50),
                           st.just("32"), st.just(None), st.just(True)))
    return Case("bad batch_size", _fit(batch_size=value), r"batch_size")


@st.composite
def bad_num_steps(draw):
    value = draw(st.one_of(st.integers(-10**9, -1), st.floats(0.5, 1e4), st.just("100"), st.just(None)))
    return Case("bad num_steps", _fit(num_steps=value), r"num_steps")


@st.composite
def bad_period(draw):
    name = draw(st.sampled_from(["eval_every", "log_every", "checkpoint_every", "eval_batch_size", "max_to_keep"]))
    value = draw(st.one_of(st.integers(-100, 0), st.floats(0.5, 10), st.just("5")))
    return Case(f"bad {name}", _fit(**{name: value}), name)


@st.composite
def bad_key(draw):
    value = draw(st.one_of(st.integers(0, 100), st.just("seed"), st.just(np.zeros(3, np.float32)),
                           st.just(np.zeros((2, 2), np.uint32))))
    # the two checks fit makes: a key at all (jaxdl._checks.as_key), and one key per run
    return Case("bad key", _fit(key=value),
                r"a JAX random key \(jax\.random\.key\(seed\)\), got|expected a single key, got shape")


@st.composite
def wrong_data(draw):
    value = draw(st.sampled_from(["data", "tuple", "dict", "array"]))
    fields = _valid_fields(draw(seeds))
    data = {"data": "mnist1d", "tuple": (fields["x_train"], fields["y_train"]), "dict": fields,
            "array": fields["x_train"]}[value]
    return Case(f"{value} instead of a Dataset", _fit(data=data), r"expects a jaxdl Dataset")


@st.composite
def wrong_feature_width(draw):
    d = draw(st.integers(1, 12).filter(lambda d: d != D))
    data = jaxdl.Dataset(**_valid_fields(draw(seeds), d=d))
    return Case("data of another width than the model", _fit(data=data), rf"built for inputs of shape \({D},\).*\({d},\)")


@st.composite
def too_many_classes(draw):
    fields = _valid_fields(draw(seeds))
    k = draw(st.integers(C + 1, 50))
    fields.update(num_classes=k)
    fields["y_train"][0] = k - 1
    return Case("more classes than logits", _fit(data=jaxdl.Dataset(**fields)), rf"outputs only {C} logits")


@st.composite
def bad_input_shape(draw):
    shape = draw(st.one_of(
        st.lists(st.integers(-5, 0), min_size=1, max_size=3).map(tuple),
        st.lists(st.floats(0.5, 4.5), min_size=1, max_size=2).map(tuple),
        st.just("40"), st.just(None)))
    model = jaxdl.MLP(features=(4, 2))
    return Case("bad input_shape", lambda: jaxdl.create_train_state(model, optax.sgd(0.1), key=jax.random.key(0),
                                                                    input_shape=shape), r"input_shape")


@st.composite
def bad_generator_sizes(draw):
    name = draw(st.sampled_from(["moons", "circles", "xor", "spirals", "blobs", "sine_1d", "linear_1d", "binary_1d"]))
    which = draw(st.sampled_from(["num_train", "num_test"]))
    value = draw(st.one_of(st.integers(-10**6, 0), st.floats(0.5, 100), st.just("10")))
    generator = getattr(jaxdl.data, name)
    return Case(f"{name} with bad {which}", lambda: generator(key=jax.random.key(0), **{which: value}), which)


# ---------------------------------------------------------------- unknown names, bad files

names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_0123456789-", min_size=0, max_size=12)


@st.composite
def unknown_name(draw):
    known = set(jaxdl.ACTIVATIONS) | set(jaxdl.KERNEL_INITS) | set(jaxdl.data.TFDS_IMAGE_SETS)
    name = draw(names.filter(lambda n: n not in known))
    which = draw(st.sampled_from(["activation", "kernel initialiser", "tfds image set", "mlp activation"]))
    if which == "activation":
        call = lambda: jaxdl.get_activation(name)  # noqa: E731
    elif which == "kernel initialiser":
        call = lambda: jaxdl.get_kernel_init(name)  # noqa: E731
    elif which == "tfds image set":
        call = lambda: jaxdl.data.tfds_images(name)  # noqa: E731
    else:
        call = lambda: jaxdl.MLP(features=(3, 2), activation=name).init(jax.random.key(0), np.ones((1, 2)))  # noqa: E731
    pattern = {"mlp activation": "activation"}.get(which, which)
    return Case(f"unknown {which}", call, rf"unknown {pattern} {name!r}".replace("(", r"\(").replace(")", r"\)"))


@st.composite
def corrupt_idx(draw, tmp_dir):
    raw = draw(st.one_of(
        st.binary(max_size=64),  # anything
        st.builds(lambda b, n: bytes([0, 0, 8, n]) + b, st.binary(max_size=40), st.integers(1, 4)),  # valid magic
    ))
    path = tmp_dir / f"fuzz-{hashlib.sha1(raw).hexdigest()[:16]}.idx"
    path.write_bytes(raw)
    # the message names the file and says what is wrong with it (not a bare NumPy reshape error)
    return Case("corrupt IDX file", lambda: jaxdl.data.read_idx(path),
                rf"^{re.escape(str(path))}: (not an IDX file|unknown IDX type code|IDX header truncated|cannot read IDX"
                rf"|header says shape .* but the file holds)")


BUILDERS = [bad_rank, bad_dtype, non_finite, non_finite_targets, empty_split, length_mismatch, feature_mismatch,
            labels_out_of_range, bad_labels, bad_num_classes, bad_batch_size, bad_num_steps, bad_period, bad_key,
            wrong_data, wrong_feature_width, too_many_classes, bad_input_shape, bad_generator_sizes, unknown_name]


def test_malformed_inputs_get_named_errors(tmp_path):
    seen: collections.Counter = collections.Counter()

    # derandomize: the examples are a function of this test's source, the same in every run
    @settings(max_examples=600, deadline=30_000, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(case=st.one_of([b() for b in BUILDERS] + [corrupt_idx(tmp_path)]))
    def check(case: Case):
        seen[case.kind] += 1
        with pytest.raises(case.errors) as info:
            case.call()
        message = str(info.value)
        assert message, f"{case.kind}: empty error message"
        assert re.search(case.pattern, message), f"{case.kind}: {message!r} does not match {case.pattern!r}"

    check()
    total = sum(seen.values())
    print(f"fuzzed {total} malformed inputs of {len(seen)} kinds:", dict(sorted(seen.items())))
    assert total >= 200
    assert len(seen) >= 30
