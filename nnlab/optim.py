"""Stochastic gradient descent, with momentum and gradient clipping."""

from __future__ import annotations

import numpy as np

from ._checks import check_number


class SGD:
    """``W <- W - lr * dL/dW`` for every parameter of every layer.

    ``momentum`` (0 <= momentum < 1) keeps a running velocity,
    ``v <- momentum * v - lr * g`` and ``W <- W + v``.

    ``clip_norm`` rescales all gradients together whenever their global norm
    ``sqrt(sum of every squared gradient entry)`` exceeds it: the classic remedy
    for exploding gradients, since a single huge step can no longer throw the
    weights far away.

    After each :meth:`step`, ``updates`` maps ``(layer index, param name)`` to the
    update just applied and ``last_grad_norm`` holds the global norm before
    clipping; the telemetry recorder reads both. A step whose gradients are not
    finite is skipped, so the weights keep their last finite values.
    """

    def __init__(self, lr: float, momentum: float = 0.0, clip_norm: float | None = None):
        self.lr = check_number("lr", lr, low=0.0, low_open=True)
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0, high_open=True)
        self.clip_norm = None if clip_norm is None else check_number(
            "clip_norm", clip_norm, low=0.0, low_open=True)
        self.velocity: dict = {}
        self.updates: dict = {}
        self.last_grad_norm = float("nan")

    def step(self, model) -> None:
        pairs = [((index, key), layer.params[key], layer.grads[key])
                 for index, layer in enumerate(model.layers) for key in layer.params]
        squared = sum(float(np.vdot(grad, grad)) for _, _, grad in pairs)
        self.last_grad_norm = squared ** 0.5
        self.updates = {}
        if not np.isfinite(self.last_grad_norm):
            return    # a NaN or infinite gradient is never applied; train() reports the divergence
        scale = self.lr
        if self.clip_norm is not None and self.last_grad_norm > self.clip_norm:
            scale = self.lr * self.clip_norm / self.last_grad_norm
        for key, param, grad in pairs:
            if self.momentum:
                velocity = self.velocity.get(key)
                update = -scale * grad if velocity is None else self.momentum * velocity - scale * grad
                self.velocity[key] = update
            else:
                update = grad * (-scale)
            param += update
            self.updates[key] = update

    def __repr__(self):
        return f"SGD(lr={self.lr}, momentum={self.momentum}, clip_norm={self.clip_norm})"
