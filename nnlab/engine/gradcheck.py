"""Numerical gradient checking: does backward agree with finite differences?

For each parameter entry ``p``, the centred difference
``(L(p + eps) - L(p - eps)) / (2 eps)`` approximates dL/dp with an error of
order eps^2, plus round-off of order 1e-16 * |L| / eps. If backprop is right,
the two agree to about 1e-7 in relative terms in float64 (eps = 1e-5 balances
the two errors best for losses of order one); 1e-4 or worse means a bug (unless a ReLU kink lies within
eps of an input, where the function is not differentiable).
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ._checks import check_features, check_labels, check_number
from .layers import BatchNorm, Dropout, Layer
from .losses import MeanSquaredError, SoftmaxCrossEntropy
from .models import Sequential


# Finite differences in float64 resolve a gradient only to about 1e-16 * |L| / eps,
# roughly 1e-10 at the default eps: a gradient below this everywhere is zero as far as they can tell
# (the bias of a Dense layer followed by BatchNorm is exactly such a case).
ZERO_GRADIENT = 1e-8


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """max over entries of |a - n| / max(|a| + |n|, floor).

    ``floor`` is 1e-3 times the largest |a| + |n| in the array, so entries that
    are tiny next to the rest of the gradient (whose finite differences are
    mostly round-off) do not dominate the answer. When the whole gradient is
    below ``ZERO_GRADIENT`` both sides are zero to round-off and the error is 0.
    """
    total = np.abs(analytic) + np.abs(numeric)
    largest = float(total.max(initial=0.0))
    if largest < ZERO_GRADIENT:
        return 0.0
    return float(np.max(np.abs(analytic - numeric) / np.maximum(total, 1e-3 * largest)))


@contextmanager
def _frozen(layers):
    """Keep BatchNorm running statistics untouched, and release the Dropout masks held inside.

    Yields the Dropout layers: the caller holds each one's mask (``fixed_mask``) once drawn.
    """
    saved = [(layer, layer.running_mean.copy(), layer.running_var.copy())
             for layer in layers if isinstance(layer, BatchNorm)]
    dropouts = [layer for layer in layers if isinstance(layer, Dropout)]
    try:
        yield dropouts
    finally:
        for layer in dropouts:
            layer.fixed_mask = None
        for layer, mean, var in saved:
            layer.running_mean, layer.running_var = mean, var


def gradcheck(model_or_layer, X, y=None, loss=None, eps: float = 1e-6) -> dict:
    """Compare backprop's gradients with centred finite differences, in float64.

    ``model_or_layer`` is a Sequential or a single layer. The loss is ``loss``
    if given; else softmax cross-entropy for integer ``y``, mean squared error
    for float ``y``, and, when ``y`` is None, ``sum(output * R)`` for a fixed
    random ``R`` (which makes dL/doutput = R, exercising every output).
    Dropout masks are drawn once and held fixed; BatchNorm runs in training mode.

    Returns ``{"<layer>.<param>": max relative error, ..., "input": ...}``
    (for a single layer the keys are just ``"W"``, ``"b"``, ..., ``"input"``).
    """
    # Below 1e-10 the perturbation is lost to round-off (x + eps == x for |x| near 1e6 at
    # 1e-10, for every x at 1e-300) and every relative error reads 1; above 1e-2 the
    # finite difference measures curvature, not the gradient.
    eps = check_number("eps", eps, low=1e-10, high=1e-2)
    single = isinstance(model_or_layer, Layer)
    if not single and not isinstance(model_or_layer, Sequential):
        raise TypeError("gradcheck needs an nnlab layer or Sequential model, "
                        f"but got {type(model_or_layer).__name__}.")
    layers = [model_or_layer] if single else model_or_layer.layers
    for layer in layers:
        for key, value in layer.params.items():
            if value.dtype != np.float64:
                raise ValueError(f"gradcheck needs float64 parameters (finite differences in "
                                 f"float32 are mostly round-off), but {layer!r} has {key} "
                                 f"in {value.dtype}. Build it with dtype=np.float64.")
    X = check_features("X", X, dtype=np.float64).copy()   # perturbed in place below

    def forward(inputs):
        out = inputs
        for layer in layers:
            out = layer.forward(out, training=True)
        return out

    with _frozen(layers) as dropouts:
        out = forward(X)          # draws the dropout masks, held fixed from here on
        for layer in dropouts:
            layer.fixed_mask = layer.mask
        if y is None:
            projection = np.random.default_rng(1234).standard_normal(out.shape)
            loss_value = lambda out: float(np.sum(out * projection))
            loss_grad = lambda: projection
        else:
            if loss is None:
                y_array = np.asarray(y)
                loss = SoftmaxCrossEntropy() if y_array.dtype.kind in "iu" else MeanSquaredError()
            if getattr(loss, "classification", False):
                y = check_labels("y", y, X.shape[0], out.shape[1])
            loss_value = lambda out: loss.forward(out, y)
            loss_grad = loss.backward

        loss_value(forward(X))
        grad = loss_grad()
        for layer in reversed(layers):
            grad = layer.backward(grad)
        analytic = {(id(layer), key): layer.grads[key].copy()
                    for layer in layers for key in layer.params}
        analytic_input = grad

        def numeric_gradient(array):
            numeric = np.zeros_like(array)
            flat, out_flat = array.reshape(-1), numeric.reshape(-1)
            for i in range(flat.size):
                original = flat[i]
                flat[i] = original + eps
                plus = loss_value(forward(X))
                flat[i] = original - eps
                minus = loss_value(forward(X))
                flat[i] = original
                out_flat[i] = (plus - minus) / (2 * eps)
            return numeric

        errors = {}
        for layer in layers:
            for key, value in layer.params.items():
                name = key if single else f"{layer.name}.{key}"
                errors[name] = relative_error(analytic[(id(layer), key)], numeric_gradient(value))
        errors["input"] = relative_error(analytic_input, numeric_gradient(X))
    return errors
