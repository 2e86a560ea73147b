"""Lesson 0's exercises (backpropagation): each judge, then the catalogue entries.

00.1 is the lesson's opening prediction (the first loss of a fresh classifier); 00.2 to 00.4
build backward passes (sigmoid, Dense, softmax cross-entropy), each checked numerically;
and 00.5 is a diagnosis (gradient-check three layers, one with a planted bug).
"""

from __future__ import annotations

import math

import numpy as np

from ..engine.gradcheck import gradcheck
from ..engine.layers import Dense, Layer, Sigmoid
from ..engine.losses import SoftmaxCrossEntropy
from ..engine.models import mlp
from ._common import (IN_PREDICT_FIRST, Exercise, Verdict, _array, _Invalid, _number, _right, _scalar,
                      _wrong)

# --- 00.1: the first loss of a fresh classifier ----------------------------------------

FIRST_LOSS_CLASSES = 10
FIRST_LOSS_SEEDS = (0, 1, 2, 3, 4)


def fresh_first_losses(classes: int = FIRST_LOSS_CLASSES, seeds=FIRST_LOSS_SEEDS,
                       init="xavier") -> np.ndarray:
    """The loss of a fresh ``mlp([2, 32, 32, classes], init=init)`` on 300 balanced,
    standardized spiral points, one value per seed: what 00.1 asks the learner to predict
    (with ``init="xavier"``; a large std such as 3.0 shows a badly initialised net)."""
    from ..engine.datasets import spirals, standardize
    losses = []
    for seed in seeds:
        X, y = spirals(n=300, classes=classes, seed=seed)
        model = mlp([2, 32, 32, classes], init=init, seed=seed)
        losses.append(SoftmaxCrossEntropy().forward(model.forward(standardize(X), training=False), y))
    return np.array(losses)


def _judge_first_loss(answer) -> Verdict:
    guess = _number("first_loss_prediction", answer, low=-1e6, high=1e6)
    measured = fresh_first_losses()
    low, high = float(measured.min()), float(measured.max())
    if abs(guess - float(measured.mean())) <= 0.1:
        return _right(f"fresh 10-class networks (5 seeds) start at a loss of {low:.2f} to "
                      f"{high:.2f}. Scores near 0 make the softmax give every class the same "
                      "probability, 1/C, and the loss is minus the log of the probability given "
                      "to the right class: ln C. A first loss far above it means the scores "
                      "start large (a bad initialisation); lesson 2 shows one.")
    if guess < 0:
        return _wrong("a cross-entropy is minus the log of a probability, and a probability is "
                      "at most 1: the loss is never negative.")
    if math.isclose(guess, 1 / FIRST_LOSS_CLASSES, rel_tol=0.05):
        return _wrong("that is the probability the fresh network gives each class. The loss is "
                      "computed from the probability of the right class: which function of it?")
    if math.isclose(guess, math.log10(FIRST_LOSS_CLASSES), rel_tol=0.05):
        return _wrong("close to the idea, but the cross-entropy uses the natural logarithm "
                      "(the softmax is built from exp).")
    if math.isclose(guess, math.log(2), rel_tol=0.1):
        return _wrong("that is the first loss of a fresh net with 2 classes. With more classes, "
                      "each gets a smaller share of the probability.")
    side = "above" if guess > high else "below"
    return _wrong(f"the measured first losses lie {side} {guess:g}. Before training the scores "
                  "are all near 0: what probability does the softmax then give each of the C "
                  "classes, and what loss does that probability give?")


# --- 00.2: the sigmoid's backward pass ------------------------------------------------

def _judge_sigmoid_backward(sigmoid_backward) -> Verdict:
    probe = _array("sigmoid_backward(output, grad_out)",
                   sigmoid_backward(np.array([[0.5, 0.9]]), np.array([[1.0, 2.0]])), (1, 2))
    if not np.allclose(probe, [[0.25, 2.0 * 0.9 * 0.1]]):
        return _wrong(f"for outputs s = [0.5, 0.9] and upstream gradients [1, 2] yours returned "
                      f"{np.round(probe[0], 4).tolist()}. The function receives the sigmoid's "
                      "output s, not its input: write the sigmoid's slope with s, then multiply "
                      "it into the upstream gradient.")
    rng = np.random.default_rng(0)
    layer = Sigmoid()
    output = layer.forward(rng.normal(0.0, 2.0, (5, 4)))
    grad_out = rng.normal(size=(5, 4))
    expected = layer.backward(grad_out)
    got = _array("sigmoid_backward(output, grad_out)",
                 sigmoid_backward(output.copy(), grad_out.copy()), (5, 4))
    if not np.allclose(got, expected, rtol=1e-6, atol=1e-12):
        return _wrong("it is right at the probe point but not on a random batch of shape (5, 4): "
                      "apply the formula element by element, for every entry.")
    return _right("your backward pass matches nnlab's Sigmoid.backward on a random batch. "
                  "The slope s (1 - s) is at most 0.25 (at s = 0.5); lesson 1 shows what a "
                  "product of many such slopes does.")


# --- 00.3: a Dense layer's backward pass ----------------------------------------------

_DENSE_SHAPES = ("x is (5, 3), W is (3, 4) and grad_out is (5, 4); grad_W must be (3, 4) like W, "
                 "grad_b (4,) like b and grad_x (5, 3) like x")


def _judge_dense_backward(dense_backward) -> Verdict:
    rng = np.random.default_rng(1)
    layer = Dense(3, 4, rng=rng)
    x = rng.normal(size=(5, 3))
    grad_out = rng.normal(size=(5, 4))
    layer.forward(x)
    expected_x = layer.backward(grad_out)
    try:
        result = dense_backward(x.copy(), layer.params["W"].copy(), grad_out.copy())
    except ValueError as error:
        if "mismatch" in str(error) or "shape" in str(error) or "align" in str(error):
            return _wrong(f"a matrix product inside your function has shapes that do not fit. "
                          f"Here {_DENSE_SHAPES}: for each gradient, which arrays, transposed "
                          "or not, multiply to that shape?")
        raise
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        length = f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""
        return _wrong("dense_backward should return three arrays, (grad_W, grad_b, grad_x), "
                      f"but it returned {type(result).__name__}{length}.")
    names = ("grad_W", "grad_b", "grad_x")
    shapes = ((3, 4), (4,), (5, 3))
    shape_problems = [f"{name} has shape {np.shape(value)}, not {shape}"
                      for name, value, shape in zip(names, result, shapes)
                      if np.shape(value) != shape]
    if shape_problems:
        return _wrong("; ".join(shape_problems) + f". Here {_DENSE_SHAPES}.")
    grad_W = _array("grad_W", result[0], (3, 4))
    grad_b = _array("grad_b", result[1], (4,))
    grad_x = _array("grad_x", result[2], (5, 3))
    wrong = []
    if not np.allclose(grad_W, layer.grads["W"]):
        wrong.append("grad_W is off: each weight W[i, j] connects input i to output j, so it "
                     "collects input i times the error at output j, added up over the batch")
    if not np.allclose(grad_b, layer.grads["b"]):
        mean = " (you averaged; the loss's own 1/batch is already inside grad_out)" if np.allclose(
            grad_b, grad_out.mean(axis=0)) else ""
        wrong.append(f"grad_b is off{mean}: the bias is added to every example, so every "
                     "example's error reaches it")
    if not np.allclose(grad_x, expected_x):
        wrong.append("grad_x is off: each input reached every output through its row of W, so "
                     "the error travels back through the same weights")
    if wrong:
        return _wrong("; ".join(wrong) + ".")
    return _right("all three gradients match nnlab's Dense.backward. Note that grad_x reuses W "
                  "and grad_out: this hand-off, layer after layer, is backpropagation. Two "
                  "matrix products on the way back (grad_W and grad_x) against one on the way "
                  "forward: the backward pass costs about twice the forward pass.")


# --- 00.4: the softmax cross-entropy's backward pass -----------------------------------

def _judge_softmax_ce_backward(softmax_cross_entropy_backward) -> Verdict:
    rng = np.random.default_rng(4)
    scores = rng.normal(size=(6, 3))
    labels = np.array([0, 2, 1, 1, 0, 2])
    loss = SoftmaxCrossEntropy()
    loss.forward(scores, labels)
    expected = loss.backward()
    got = _array("softmax_cross_entropy_backward(scores, labels)",
                 softmax_cross_entropy_backward(scores.copy(), labels.copy()), (6, 3))
    if not np.allclose(got, expected, rtol=1e-6, atol=1e-12):
        if np.allclose(got, expected * 6):
            return _wrong("right up to one factor: the loss is the mean over the batch, so each "
                          "example's gradient carries that mean's weight too.")
        if np.allclose(got, -expected):
            return _wrong("the sign is flipped: raising the right class's score should lower "
                          "the loss, so its gradient must be negative.")
        onehot = np.eye(3)[labels]
        if np.allclose(got, expected + onehot / 6) or np.allclose(got, expected + onehot):
            return _wrong("only half of the derivation: the loss depends on each score through "
                          "the softmax's normaliser and, for the right class, through its own "
                          "score too. Where does the second part go?")
        numeric = _finite_difference(scores, labels)
        return _wrong(f"yours differs from the finite-difference gradient of the loss (largest "
                      f"difference {np.abs(got - numeric).max():.2g}). Differentiate "
                      "L = -(1/N) sum_n log softmax(z_n)[y_n] with respect to each score.")
    big = np.array([[1000.0, 0.0, -1000.0], [0.0, 800.0, 0.0]])
    with np.errstate(all="ignore"):
        got_big = np.asarray(softmax_cross_entropy_backward(big.copy(), np.array([2, 1])),
                             dtype=float)
    loss.forward(big, np.array([2, 1]))
    if got_big.shape != big.shape or not np.allclose(got_big, loss.backward(), atol=1e-9):
        return _wrong("right for ordinary scores, but not for scores near 1000: exp(1000) "
                      "overflows to inf. The softmax does not change when the same number is "
                      "subtracted from every score of a row; subtract the row's largest.")
    return _right("it matches nnlab's SoftmaxCrossEntropy.backward and the finite differences, "
                  "and stays finite for scores of 1000: (p - onehot(y)) / N is the gradient "
                  "every classifier in this course starts its backward pass with.")


def _finite_difference(scores, labels, eps=1e-6) -> np.ndarray:
    numeric = np.zeros_like(scores)
    for index in np.ndindex(scores.shape):
        plus, minus = scores.copy(), scores.copy()
        plus[index] += eps
        minus[index] -= eps
        numeric[index] = (SoftmaxCrossEntropy().forward(plus, labels)
                          - SoftmaxCrossEntropy().forward(minus, labels)) / (2 * eps)
    return numeric


# --- 00.5: find the layer with the planted bug ------------------------------------------

class _Softplus(Layer):
    """softplus(x) = ln(1 + e^x). Its backward pass has a planted bug (exercise 00.5)."""

    name = "softplus"

    def forward(self, x, training=True):
        self.x = x
        return np.logaddexp(0.0, x)

    def backward(self, grad_out):
        """Should be grad_out * sigmoid(x); the planted bug uses sigmoid(-x)."""
        return grad_out / (1.0 + np.exp(self.x))


class _Swish(Layer):
    """swish(x) = x * sigmoid(x), with its correct backward pass (product rule)."""

    name = "swish"

    def forward(self, x, training=True):
        self.x = x
        self.s = 1.0 / (1.0 + np.exp(-x))
        return x * self.s

    def backward(self, grad_out):
        """d/dx = s + x s (1 - s)."""
        return grad_out * (self.s + self.x * self.s * (1.0 - self.s))


class _Scale(Layer):
    """y = x * gamma, one learned scale per feature, with its correct backward pass."""

    name = "scale"

    def __init__(self, width=4, seed=5):
        super().__init__()
        self.params["gamma"] = np.random.default_rng(seed).normal(1.0, 0.3, width)
        self.grads["gamma"] = np.zeros(width)

    def forward(self, x, training=True):
        self.x = x
        return x * self.params["gamma"]

    def backward(self, grad_out):
        """dL/dgamma = sum over the batch of x * grad_out; dL/dx = grad_out * gamma."""
        self.grads["gamma"] = np.sum(self.x * grad_out, axis=0)
        return grad_out * self.params["gamma"]


SUSPECTS = ("softplus", "swish", "scale")
BUGGY = "softplus"


def suspect_layers() -> dict:
    """Three layers to gradient-check (exercise 00.5): ``{name: layer}``. One has a bug."""
    return {"softplus": _Softplus(), "swish": _Swish(), "scale": _Scale()}


def suspect_batch(seed: int = 0) -> np.ndarray:
    """A float64 batch of shape (8, 4) to run the suspects on."""
    return np.random.default_rng(seed).normal(size=(8, 4))


def _judge_buggy_layer(answer) -> Verdict:
    answer = _scalar(answer)        # a 0-d NumPy array or NumPy string is a name too
    if not isinstance(answer, str) or answer.strip().lower() not in SUSPECTS:
        raise _Invalid(f"`buggy_layer` should be the name of one of the suspects, "
                       f"{', '.join(map(repr, SUSPECTS))}, but it is {answer!r}.")
    name = answer.strip().lower()
    errors = {key: max(gradcheck(layer, suspect_batch()).values())
              for key, layer in suspect_layers().items()}
    if name == BUGGY:
        return _right(f"its largest relative error is {errors[name]:.1g}, far above the 1e-4 "
                      f"line, while the other two stay below 1e-7 "
                      f"({', '.join(f'{k} {v:.0e}' for k, v in errors.items() if k != name)}). "
                      "Its backward uses sigmoid(-x) where the slope of softplus is sigmoid(x).")
    return _wrong(f"the gradient check of {name!r} reads {errors[name]:.0e}, inside the "
                  "band where backprop and finite differences agree. Run nnlab.gradcheck on "
                  "each suspect and compare its errors with the bands (1e-7: agreement; "
                  "above 1e-4: a bug).")


EXERCISES = [
    Exercise(
        "00.1", "predict", "Predict the first loss of a fresh network with 10 balanced classes.",
        "first_loss_prediction", "a number, the loss you expect on the first batch",
        hint="Before training, the scores are small, so the softmax of nearly equal scores gives "
             "each of the C classes about the same probability. The cross-entropy of one "
             "example is -ln(probability of its right class).",
        solution="import math\nfirst_loss_prediction = math.log(10)\n",
        judge=_judge_first_loss, answer_cell=IN_PREDICT_FIRST),
    Exercise(
        "00.2", "implement", "Write the sigmoid's backward pass, given its output s.",
        "sigmoid_backward", "a function sigmoid_backward(output, grad_out)",
        hint="The derivative of the sigmoid can be written with its own output: "
             "d sigmoid(x) / dx = s (1 - s), where s = sigmoid(x). Multiply the upstream "
             "gradient by it, element by element.",
        solution="def sigmoid_backward(output, grad_out):\n"
                 "    return grad_out * output * (1 - output)\n",
        judge=_judge_sigmoid_backward),
    Exercise(
        "00.3", "implement", "Write a Dense layer's backward pass.",
        "dense_backward",
        "a function dense_backward(x, W, grad_out) returning (grad_W, grad_b, grad_x)",
        hint="Follow the shapes. x is (batch, in), W is (in, out), grad_out is (batch, out). "
             "grad_W must be (in, out): which product of x and grad_out gives that? The bias "
             "is added to every example, so its gradient adds up every example's share.",
        solution="def dense_backward(x, W, grad_out):\n"
                 "    grad_W = x.T @ grad_out\n"
                 "    grad_b = grad_out.sum(axis=0)\n"
                 "    grad_x = grad_out @ W.T\n"
                 "    return grad_W, grad_b, grad_x\n",
        judge=_judge_dense_backward),
    Exercise(
        "00.4", "implement", "Write the softmax cross-entropy's backward pass, dL/dscores.",
        "softmax_cross_entropy_backward",
        "a function softmax_cross_entropy_backward(scores, labels) returning dL/dscores",
        hint="Follow the derivation in \"Why it happens\": the gradient of one example's loss "
             "is its probabilities minus the one-hot label. The loss is a mean over the batch. "
             "Subtract each row's largest score before exp, so that large scores cannot "
             "overflow.",
        solution="import numpy as np\n\n"
                 "def softmax_cross_entropy_backward(scores, labels):\n"
                 "    shifted = scores - scores.max(axis=1, keepdims=True)\n"
                 "    probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)\n"
                 "    probs[np.arange(len(labels)), labels] -= 1\n"
                 "    return probs / len(labels)\n",
        judge=_judge_softmax_ce_backward),
    Exercise(
        "00.5", "diagnose", "Gradient-check three layers; name the one whose backward pass has "
                            "a bug.",
        "buggy_layer", f"the name of one suspect: {', '.join(map(repr, SUSPECTS))}",
        hint="nnlab.gradcheck(layer, X) works on a single layer: it returns the largest "
             "relative error per parameter and for the input. Below about 1e-7 backprop agrees "
             "with the finite differences; above 1e-4 something is wrong.",
        solution='buggy_layer = "softplus"   # gradcheck reads about 1 for it, 1e-10 for the others\n',
        judge=_judge_buggy_layer),
]
