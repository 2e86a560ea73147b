"""Lesson 5's exercises (batch normalization): each judge, then the catalogue entries."""

from __future__ import annotations

import numpy as np

from .. import experiments, metrics
from ..experiments import CASES
from ..engine.gradcheck import relative_error
from ..engine.layers import BatchNorm, Dense, ReLU
from ..engine.losses import SoftmaxCrossEntropy
from ..engine.models import Sequential
from ._common import (Exercise, Verdict, _array, _boolean, _choice, _Invalid, _number, _right,
                      _wrong)

# The prediction of lesson 5: the deep ReLU net at this learning rate, without and with BN.
HIGH_RATE = 1.0
TARGET = 0.9
PREDICTIONS = ("plain", "batchnorm", "both", "neither")


def _reaches(result) -> bool:
    return metrics.epochs_to_accuracy(result, TARGET) is not None


def _judge_high_rate(answer) -> Verdict:
    prediction = _choice("trains_at_lr_1", answer, PREDICTIONS)
    case = CASES["batchnorm"]
    plain = experiments.outcome(case.broken.replace(lr=HIGH_RATE))
    with_bn = experiments.outcome(case.fixed.replace(lr=HIGH_RATE))
    measured = {(True, True): "both", (True, False): "plain", (False, True): "batchnorm",
                (False, False): "neither"}[_reaches(plain), _reaches(with_bn)]
    epochs = (f"epochs to {TARGET:.0%} training accuracy at lr {HIGH_RATE:g}: without batch "
              f"normalization {metrics.epochs_to_accuracy_text(plain, TARGET)}, with it "
              f"{metrics.epochs_to_accuracy_text(with_bn, TARGET)}")
    if prediction == measured:
        return _right(f"{epochs}. A plain net's step moves each weight by lr x gradient, however "
                      "large the weights already are; after batch normalization a layer's output "
                      "does not depend on its weights' scale, and its gradient shrinks as they "
                      "grow, so a too-large rate slows itself down (Ioffe & Szegedy 2015).")
    if prediction in ("plain", "neither"):
        return _wrong("look at the sweep's row for this learning rate again. Then ask: if a "
                      "layer's weights grow, what happens to its output after batch "
                      "normalization, and so to its gradient?")
    return _wrong("look at the sweep's row for this learning rate again: at a large rate a plain "
                  "ReLU net's first steps are huge. Lesson 3 showed what a step that size does to "
                  "ReLU units; does anything in the plain net slow it down?")


def _batchnorm_reference(grad_out, x, gamma, eps):
    layer = BatchNorm(x.shape[1], eps=eps)
    layer.params["gamma"][...] = gamma
    layer.forward(x, training=True)
    grad_x = layer.backward(grad_out)
    return grad_x, layer.grads["gamma"].copy(), layer.grads["beta"].copy(), layer


def _numeric_grad_x(grad_out, x, gamma, eps, step=1e-6):
    """d/dx of L = sum(grad_out * y), y = gamma * x_hat (training mode), by central differences."""
    def loss(inputs):
        mean, var = inputs.mean(axis=0), inputs.var(axis=0)
        return float(np.sum(grad_out * gamma * (inputs - mean) / np.sqrt(var + eps)))
    numeric = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[index] += step
        minus[index] -= step
        numeric[index] = (loss(plus) - loss(minus)) / (2 * step)
    return numeric


def _judge_batchnorm_backward(batchnorm_backward) -> Verdict:
    rng = np.random.default_rng(5)
    batch, features, eps = 8, 3, 1e-5
    x = rng.normal([2.0, -1.0, 0.0], [1.5, 0.3, 4.0], size=(batch, features))
    gamma = np.array([1.5, 0.5, 2.0])
    grad_out = rng.normal(size=(batch, features))
    grad_x, grad_gamma, grad_beta, layer = _batchnorm_reference(grad_out, x, gamma, eps)
    result = batchnorm_backward(grad_out.copy(), x.copy(), gamma.copy(), eps)
    if not isinstance(result, (tuple, list)) or len(result) != 3:
        length = f" of length {len(result)}" if isinstance(result, (tuple, list)) else ""
        if result is None:
            raise _Invalid("batchnorm_backward(...) returned None: end the function with "
                           "`return grad_x, grad_gamma, grad_beta`.")
        return _wrong("batchnorm_backward should return three arrays, (grad_x, grad_gamma, "
                      f"grad_beta), but it returned {type(result).__name__}{length}.")
    got_x = _array("grad_x (dL/dx, the shape of x: batch x features)", result[0], x.shape)
    got_gamma = _array("grad_gamma (dL/dgamma, one per feature)", result[1], (features,))
    got_beta = _array("grad_beta (dL/dbeta, one per feature)", result[2], (features,))
    wrong = []
    if not np.allclose(got_beta, grad_beta, rtol=1e-5, atol=1e-8):
        hint = (" (you took the mean; every example adds its own share, so sum)"
                if np.allclose(got_beta, grad_out.mean(axis=0)) else "")
        wrong.append(f"grad_beta: beta is added to every example's output{hint}")
    if not np.allclose(got_gamma, grad_gamma, rtol=1e-5, atol=1e-8):
        hint = (" (you multiplied by x; gamma multiplies the normalized x_hat)"
                if np.allclose(got_gamma, np.sum(grad_out * x, axis=0)) else "")
        wrong.append(f"grad_gamma: what does gamma multiply in the forward pass?{hint}")
    if not np.allclose(got_x, grad_x, rtol=1e-5, atol=1e-8):
        scale = gamma * layer.inv_std
        no_batch = scale * grad_out
        no_var = scale * (grad_out - grad_out.mean(axis=0))
        no_mean = scale * (grad_out - layer.x_hat * (grad_out * layer.x_hat).mean(axis=0))
        if np.allclose(got_x, no_batch):
            wrong.append("grad_x: you treated the batch mean and variance as constants (that is "
                         "the evaluation-mode gradient). In training both are computed from "
                         "every x in the batch, so each x also moves the others' outputs: two "
                         "more terms")
        elif np.allclose(got_x, no_var):
            wrong.append("grad_x: the path through the batch mean is there, but not the one "
                         "through the batch variance: each x also changes the variance every "
                         "output is divided by")
        elif np.allclose(got_x, no_mean):
            wrong.append("grad_x: the path through the batch variance is there, but not the one "
                         "through the batch mean: each x also shifts the mean every output "
                         "subtracts")
        else:
            wrong.append("grad_x: apply the chain rule through x_hat = (x - mean) / sqrt(var + "
                         "eps), remembering that mean and var depend on every x of the batch")
    error = relative_error(got_x, _numeric_grad_x(grad_out, x, gamma, eps))
    check = (f"gradient check of grad_x against finite differences: relative error {error:.1e} "
             f"(about 1e-7 or below is right; above 1e-4 is a bug)")
    if wrong:
        return _wrong(f"{check}. " + "; ".join(wrong) + ".")
    return _right(f"{check}; grad_gamma and grad_beta match nnlab's BatchNorm.backward. The "
                  "two subtracted terms are the batch's mean and variance answering back: "
                  "in training an example's gradient depends on its whole batch.")


def _scaled_weight_gradient(scale: float) -> float:
    """||dL/dW|| of a Dense layer followed by BatchNorm, with W multiplied by ``scale``."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(32, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    dense = Dense(2, 16, rng=np.random.default_rng(8))
    dense.params["W"] = dense.params["W"] * scale
    model = Sequential([dense, BatchNorm(16), ReLU(), Dense(16, 2, rng=np.random.default_rng(9))])
    loss = SoftmaxCrossEntropy()
    loss.forward(model.forward(X, training=True), y)
    model.backward(loss.backward())
    return float(np.linalg.norm(dense.grads["W"]))


def measured_gradient_factor(scale: float = 10.0) -> float:
    """How many times ||dL/dW|| changes when a Dense layer before BatchNorm has W x ``scale``."""
    return _scaled_weight_gradient(scale) / _scaled_weight_gradient(1.0)


def _judge_gradient_factor(answer) -> Verdict:
    factor = _number("gradient_factor", answer, low=0.0)
    measured = measured_gradient_factor(10.0)
    shown = (f"measured on a Dense layer followed by BatchNorm: ||dL/dW|| is {measured:.4g} "
             "times what it was")
    if abs(factor - measured) <= 0.02 * measured:
        return _right(f"{shown}. The loss does not change when W is scaled (the batch mean and "
                      "standard deviation scale with it), so L(10 W) = L(W); differentiating, "
                      "10 dL/dW at 10 W equals dL/dW at W. Larger weights get smaller "
                      "gradients, and a step of a given size changes them relatively less: "
                      "that is why batch norm tolerates large learning rates.")
    if abs(factor - 10.0) <= 0.2:
        return _wrong("that is what a layer without normalization would suggest. With BatchNorm "
                      "after it, does the layer's output, and so the loss, change at all when W "
                      "is multiplied by 10?")
    if abs(factor - 1.0) <= 0.02:
        return _wrong("the loss is indeed the same, L(10 W) = L(W). But the gradient is taken "
                      "with respect to the scaled weights: differentiate both sides of "
                      "L(10 W) = L(W) with respect to W (chain rule).")
    if abs(factor - 0.01) <= 0.0002:
        return _wrong("one power of ten too many: the factor 10 appears once in the chain rule "
                      "of L(10 W) = L(W).")
    return _wrong("start from what BatchNorm's output does when its input is multiplied by 10, "
                  "then use the chain rule on L(10 W) = L(W).")


def _judge_raw_inputs_with_batchnorm(answer) -> Verdict:
    prediction = _boolean("batchnorm_rescues_raw_inputs", answer)
    case = CASES["batchnorm"]
    raw = experiments.outcome(case.configs["raw_inputs"])
    with_bn = experiments.outcome(case.configs["raw_inputs"].replace(batchnorm=True))
    standardized = experiments.outcome(case.configs["standardized"])
    target = 0.85
    after = metrics.training_accuracy_after
    rescues = after(with_bn) >= target
    measured = (f"{metrics.NAMES['training_accuracy_after']}: raw inputs {after(raw):.2f}, raw "
                f"inputs with batch normalization {after(with_bn):.2f}, standardized inputs "
                f"{after(standardized):.2f} (the target was {target:.2f})")
    scales = case.configs["raw_inputs"].input_scales
    large, small = max(scales), min(scales)
    why = (f"Batch normalization undoes the saturation (it rescales each hidden unit's "
           f"pre-activation), but the gradient of a first-layer weight is still proportional to "
           f"its input: the weight reading the feature on scale {large:g} gets gradients "
           f"{large / small:,.0f} times larger than the one reading the feature on scale "
           f"{small:g}, and one learning rate cannot suit both. Standardize the inputs first.")
    if prediction == rescues:
        return _right(f"{measured}. " + (why if not rescues else
                                         "Here normalizing inside the network was enough."))
    if not rescues:
        return _wrong("batch normalization does take the first layer out of saturation. But "
                      "look at the gradient of a first-layer weight: it is (its input) x (the "
                      "error at its unit). Does BatchNorm change the inputs the first layer "
                      "reads, and what does that mean for the feature on scale "
                      f"{small:g}?")
    return _wrong(f"{measured}. Normalizing inside the network was enough here.")


EXERCISES = [
    Exercise(
        "05.1", "predict", f"At learning rate {HIGH_RATE:g}, which deep ReLU net reaches "
                           f"{TARGET:.0%} training accuracy in 40 epochs: without batch "
                           "normalization, with it, both or neither?",
        "trains_at_lr_1", " or ".join(repr(p) for p in PREDICTIONS),
        hint="Lesson 3: what does a very large step do to ReLU units? Then: after batch "
             "normalization, does a layer's output change when its weights grow?",
        solution='trains_at_lr_1 = "batchnorm"\n',
        judge=_judge_high_rate),
    Exercise(
        "05.2", "implement", "Write batch normalization's backward pass in training mode, "
                             "gradient-checked.",
        "batchnorm_backward", "a function batchnorm_backward(grad_out, x, gamma, eps=1e-5) "
                              "returning (grad_x, grad_gamma, grad_beta)",
        hint="Recompute mean, var, inv_std = 1 / sqrt(var + eps) and x_hat. grad_beta sums "
             "grad_out over the batch; grad_gamma sums grad_out * x_hat. For grad_x, x reaches "
             "x_hat three ways: directly, through the batch mean and through the batch "
             "variance; with n the batch size the three combine into one line.",
        solution="import numpy as np\n\n"
                 "def batchnorm_backward(grad_out, x, gamma, eps=1e-5):\n"
                 "    n = x.shape[0]\n"
                 "    inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)\n"
                 "    x_hat = (x - x.mean(axis=0)) * inv_std\n"
                 "    grad_beta = grad_out.sum(axis=0)\n"
                 "    grad_gamma = (grad_out * x_hat).sum(axis=0)\n"
                 "    grad_x = gamma * inv_std / n * (n * grad_out - grad_beta - x_hat * grad_gamma)\n"
                 "    return grad_x, grad_gamma, grad_beta\n",
        judge=_judge_batchnorm_backward),
    Exercise(
        "05.3", "derive", "A Dense layer feeds BatchNorm. Multiply its weights W by 10: by what "
                          "factor does ||dL/dW|| change?",
        "gradient_factor", "a number (the new ||dL/dW|| over the old one)",
        hint="First: does BatchNorm's output change when its input is multiplied by 10? Then "
             "write L(10 W) = L(W) and differentiate both sides with respect to W.",
        solution="gradient_factor = 0.1   # L(10 W) = L(W), so 10 L'(10 W) = L'(W)\n",
        judge=_judge_gradient_factor),
    Exercise(
        "05.4", "predict", "Inputs on very different scales: does adding batch normalization "
                           "(without standardizing the inputs) make the net train?",
        "batchnorm_rescues_raw_inputs", "True or False",
        hint="BatchNorm sits after each Dense layer. The gradient of a first-layer weight is "
             "(its input) x (the error at its unit): does BatchNorm change the inputs?",
        solution="batchnorm_rescues_raw_inputs = False\n",
        judge=_judge_raw_inputs_with_batchnorm),
]
