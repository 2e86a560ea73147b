"""Lesson 00 (backpropagation): every number the lesson states, measured, and every exercise
check fed wrong-but-plausible answers (rejected, with a reason that points at the idea without
giving the answer) and right answers in the forms a learner writes (accepted)."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

import nnlab
from nnlab import exercises, experiments, labs, metrics
from nnlab.exercises import RIGHT, WRONG
from nnlab.exercises import lesson00

SEEDS = (0, 1, 2, 3, 4, 5)
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "00_backpropagation.ipynb"


def markdown() -> str:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


# --- the numbers -------------------------------------------------------------------------

def test_a_fresh_10_class_network_starts_at_ln_10_and_a_badly_initialised_one_far_above():
    fresh = lesson00.fresh_first_losses(seeds=SEEDS)
    bad = lesson00.fresh_first_losses(seeds=SEEDS, init=3.0)
    assert np.all(np.abs(fresh - math.log(10)) <= 0.05), fresh
    assert np.all(bad >= 100 * math.log(10)), bad
    shown = lesson00.fresh_first_losses()
    shown_bad = lesson00.fresh_first_losses(init=3.0)
    assert (f"between {shown.min():.2f} and {shown.max():.2f} (five seeds)" in markdown())
    assert f"between {shown_bad.min():.0f} and {shown_bad.max():.0f}" in markdown()


def test_the_first_loss_is_ln_c_for_2_classes_too():
    assert np.all(np.abs(lesson00.fresh_first_losses(classes=2, seeds=SEEDS) - math.log(2)) <= 0.1)


def test_the_engine_backward_of_softmax_cross_entropy_is_p_minus_onehot_over_n():
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        scores, labels = rng.normal(0, 3, size=(7, 4)), rng.integers(0, 4, size=7)
        loss = nnlab.SoftmaxCrossEntropy()
        loss.forward(scores, labels)
        p = np.exp(scores - scores.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        assert np.abs(loss.backward() - (p - np.eye(4)[labels]) / 7).max() < 1e-12


def test_by_hand_and_by_nnlab_agree_and_the_gradient_check_reads_below_1e_7():
    hidden, output_layer = nnlab.Dense(2, 2, rng=0), nnlab.Dense(2, 1, rng=1)
    model = nnlab.Sequential([hidden, nnlab.Sigmoid(), output_layer])
    x, t = np.array([[1.0, -2.0]]), np.array([[1.0]])
    h = 1 / (1 + np.exp(-(x @ hidden.params["W"] + hidden.params["b"])))
    y_hat = h @ output_layer.params["W"] + output_layer.params["b"]
    d_z = (2 * (y_hat - t)) @ output_layer.params["W"].T * h * (1 - h)
    loss = nnlab.MeanSquaredError()
    loss.forward(model.forward(x), t)
    model.backward(loss.backward())
    assert np.allclose(hidden.grads["W"], x.T @ d_z, rtol=1e-12)
    assert max(nnlab.gradcheck(model, x, t).values()) < 1e-7


def test_the_planted_bug_reads_above_1e_2_and_the_sound_layers_below_1e_7_on_every_batch():
    for seed in SEEDS:
        errors = {name: max(nnlab.gradcheck(layer, lesson00.suspect_batch(seed)).values())
                  for name, layer in lesson00.suspect_layers().items()}
        assert errors.pop(lesson00.BUGGY) > 1e-2
        assert max(errors.values()) < 1e-7


def test_hidden_layers_trained_by_backprop_learn_the_spirals_a_linear_model_cannot():
    deep = labs.PLAYGROUND_DEFAULT
    for seed in SEEDS:
        shallow = experiments.outcome(deep.replace(hidden=(), seed=seed))
        assert metrics.training_accuracy_after(shallow) <= 0.7
    passed = [seed for seed in SEEDS
              if metrics.training_accuracy_after(experiments.outcome(deep.replace(seed=seed))) >= 0.95]
    assert 0 in passed and len(passed) >= 5, passed


# --- the exercises, adversarially --------------------------------------------------------

def judged(exercise_id, answer):
    return exercises.verdict(exercise_id, answer)


@pytest.mark.parametrize("answer", [0.1, 1.0, math.log(2), 10, 2, -2.3, 0, 4.6, 23.0])
def test_00_1_wrong_first_losses_are_rejected_without_giving_the_answer(answer):
    result = judged("00.1", answer)
    assert result.status == WRONG, str(result)
    assert "2.3" not in result.reason and "ln 10" not in result.reason and "ln C" not in result.reason


@pytest.mark.parametrize("answer", [math.log(10), 2.3, 2.302585, np.float64(2.3), np.log(10), 2.35])
def test_00_1_right_first_losses_are_accepted(answer):
    assert judged("00.1", answer).status == RIGHT


SIGMOID_WRONG = {
    "forgot the upstream gradient": lambda s, g: s * (1 - s),
    "only s": lambda s, g: g * s,
    "only 1 - s": lambda s, g: g * (1 - s),
    "took the output for the input": lambda s, g: g * (1 / (1 + np.exp(-s))) * (1 - 1 / (1 + np.exp(-s))),
    "the tanh slope": lambda s, g: g * (1 - s * s),
}


@pytest.mark.parametrize("name", list(SIGMOID_WRONG))
def test_00_2_wrong_sigmoid_backwards_are_rejected_without_the_formula(name):
    result = judged("00.2", SIGMOID_WRONG[name])
    assert result.status == WRONG, str(result)
    assert "s (1 - s)" not in result.reason and "output * (1 - output)" not in result.reason


def _in_place(s, g):
    g *= s * (1 - s)
    return g


@pytest.mark.parametrize("answer", [lambda s, g: g * s * (1 - s), lambda s, g: g * (s - s ** 2),
                                    _in_place, lambda s, g: np.multiply(g, s * (1.0 - s))])
def test_00_2_right_sigmoid_backwards_are_accepted(answer):
    assert judged("00.2", answer).status == RIGHT


DENSE_WRONG = {
    "x @ grad_out": (lambda x, W, g: (x @ g, g.sum(0), g @ W.T), "shapes that do not fit"),
    "transposed grad_W": (lambda x, W, g: (g.T @ x, g.sum(0), g @ W.T), "grad_W has shape (4, 3)"),
    "mean for the bias": (lambda x, W, g: (x.T @ g, g.mean(0), g @ W.T), "grad_b"),
    "bias summed over units": (lambda x, W, g: (x.T @ g, g.sum(1), g @ W.T), "grad_b has shape (5,)"),
    "W instead of W.T": (lambda x, W, g: (x.T @ g, g.sum(0), g @ W), "shapes that do not fit"),
    "only two results": (lambda x, W, g: (x.T @ g, g @ W.T), "three arrays"),
    "grad_x through the wrong weights": (lambda x, W, g: (x.T @ g, g.sum(0), g @ (W.T * 2)), "grad_x"),
}


@pytest.mark.parametrize("name", list(DENSE_WRONG))
def test_00_3_wrong_dense_backwards_say_which_gradient_is_wrong(name):
    answer, words = DENSE_WRONG[name]
    result = judged("00.3", answer)
    assert result.status == WRONG, str(result)
    assert words in result.reason, str(result)
    assert "is different from" not in result.reason and "x.T @ grad_out" not in result.reason


@pytest.mark.parametrize("answer", [
    lambda x, W, g: (x.T @ g, g.sum(axis=0), g @ W.T),
    lambda x, W, g: [np.einsum("bi,bo->io", x, g), np.sum(g, axis=0), np.dot(g, W.T)],
    lambda x, W, g: (np.dot(x.T, g), g.sum(0, keepdims=False), (W @ g.T).T),
])
def test_00_3_right_dense_backwards_are_accepted(answer):
    assert judged("00.3", answer).status == RIGHT


def _softmax(scores):
    exp = np.exp(scores - scores.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def _onehot(labels, classes):
    return np.eye(classes)[labels]


SOFTMAX_WRONG = {
    "no 1/N": (lambda z, y: _softmax(z) - _onehot(y, z.shape[1]), "mean over the batch"),
    "sign flipped": (lambda z, y: (_onehot(y, z.shape[1]) - _softmax(z)) / len(y), "sign"),
    "p only": (lambda z, y: _softmax(z) / len(y), "second part"),
    "unstable": (lambda z, y: (np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
                               - _onehot(y, z.shape[1])) / len(y), "overflow"),
    "softmax over the batch": (lambda z, y: (np.exp(z - z.max()) / np.exp(z - z.max()).sum(axis=0)
                                             - _onehot(y, z.shape[1])) / len(y), "finite-difference"),
}


@pytest.mark.parametrize("name", list(SOFTMAX_WRONG))
def test_00_4_wrong_softmax_backwards_are_rejected_with_the_idea(name):
    answer, words = SOFTMAX_WRONG[name]
    result = judged("00.4", answer)
    assert result.status == WRONG, str(result)
    assert words in result.reason, str(result)
    assert "p - onehot" not in result.reason


def _with_logsumexp(z, y):
    log_p = z - z.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    grad = np.exp(log_p)
    grad[np.arange(len(y)), y] -= 1
    return grad / len(y)


@pytest.mark.parametrize("answer", [lambda z, y: (_softmax(z) - _onehot(y, z.shape[1])) / len(y),
                                    _with_logsumexp,
                                    lambda z, y: (_softmax(z) - (np.arange(z.shape[1]) == y[:, None])) / z.shape[0]])
def test_00_4_right_softmax_backwards_are_accepted(answer):
    assert judged("00.4", answer).status == RIGHT


@pytest.mark.parametrize("answer", ["swish", "scale", "Swish"])
def test_00_5_a_sound_layer_is_not_the_bug_and_the_reason_sends_to_the_gradient_check(answer):
    result = judged("00.5", answer)
    assert result.status == WRONG and "gradcheck" in result.reason
    assert lesson00.BUGGY not in result.reason


@pytest.mark.parametrize("answer", ["softplus", " Softplus ", "SOFTPLUS"])
def test_00_5_the_buggy_layer_in_any_case_is_accepted(answer):
    assert judged("00.5", answer).status == RIGHT


def test_00_5_an_unknown_name_lists_the_suspects():
    result = judged("00.5", "relu")
    assert result.status == WRONG and all(name in result.reason for name in lesson00.SUSPECTS)
