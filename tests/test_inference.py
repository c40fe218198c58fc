"""Inference over a data set (jaxdl/_inference.py) and the confusion matrix."""

import jax
import numpy as np
import optax
import pytest

import jaxdl

def test_predict_matches_apply_and_confusion_matrix_counts(key):
    model = jaxdl.MLP(features=(8, 3))
    state = jaxdl.create_train_state(model, optax.sgd(0.1), key=key, input_shape=(4,))
    x = np.asarray(jax.random.normal(key, (23, 4)))
    logits = jaxdl.predict(state, x, batch_size=10)  # 3 batches, the last padded
    np.testing.assert_allclose(logits, model.apply({"params": state.params}, x), rtol=1e-5, atol=1e-6)
    labels = np.arange(23) % 3
    cm = np.asarray(jaxdl.confusion_matrix(labels, logits.argmax(-1), 3))
    assert cm.sum() == 23 and np.array_equal(cm.sum(axis=1), np.bincount(labels, minlength=3))
    assert np.trace(cm) == int((logits.argmax(-1) == labels).sum())
    with pytest.raises(ValueError, match="confusion_matrix needs"):
        jaxdl.confusion_matrix(labels, labels[:5], 3)


def test_confusion_matrix_never_counts_an_out_of_range_pair_in_another_cell():
    labels, predictions = np.array([0, 1, 2, 0]), np.array([0, 1, 1, 2])
    # Flattened, (1, 3) would be 1 * 3 + 3 = 6, the cell (2, 0); -1 would be dropped silently.
    with pytest.raises(ValueError, match=r"predictions must lie in \[0, 3\), got 3 at index 1"):
        jaxdl.confusion_matrix(labels, np.array([0, 3, 1, 2]), 3)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\), got -1 at index 2"):
        jaxdl.confusion_matrix(np.array([0, 1, -1, 0]), predictions, 3)
    with pytest.raises(TypeError, match="labels must be integer classes"):
        jaxdl.confusion_matrix(labels.astype(np.float32), predictions, 3)
    with pytest.raises(ValueError, match="num_classes must be >= 1, got 0"):
        jaxdl.confusion_matrix(labels, predictions, 0)
    # Under jit the values are not visible: the bad pairs are left out, nothing else moves.
    counted = jax.jit(jaxdl.confusion_matrix, static_argnums=2)
    cm = np.asarray(counted(np.array([0, 1, -1, 0]), np.array([0, 3, 1, 2]), 3))
    np.testing.assert_array_equal(cm, [[1, 0, 1], [0, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(counted(labels, predictions, 3), jaxdl.confusion_matrix(labels, predictions, 3))
