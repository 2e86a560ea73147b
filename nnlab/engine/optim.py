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

    After each :meth:`step`, ``last_grad_norm`` holds the global norm before
    clipping, and ``last_scale`` the step size actually used (lr, or less after
    clipping). The update just applied is ``-last_scale * gradient`` without
    momentum; with momentum it is ``flat_update`` (for a model whose parameters
    share one flat array) or ``updates``, a dict from ``(layer index, param name)``
    to each parameter's update. The telemetry recorder reads them. A step whose gradients are not
    finite is skipped, so the weights keep their last finite values.
    """

    def __init__(self, lr: float, momentum: float = 0.0, clip_norm: float | None = None):
        self.lr = check_number("lr", lr, low=0.0, low_open=True)
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0, high_open=True)
        self.clip_norm = None if clip_norm is None else check_number(
            "clip_norm", clip_norm, low=0.0, low_open=True)
        self.velocity: dict = {}
        self.updates: dict = {}
        self.flat_update = None
        self.last_scale = 0.0
        self.last_grad_norm = float("nan")

    def step(self, model) -> None:
        flat_grads = getattr(model, "flat_grads", None)
        if flat_grads is None:
            self._step_each(model)
            return
        # Every parameter lives in one flat array (see Sequential._pack_parameters):
        # the same rule as _step_each below, in a handful of NumPy calls.
        self.updates = {}
        self.last_grad_norm = float(np.sqrt(np.vdot(flat_grads, flat_grads)))
        self.flat_update = None
        self.last_scale = 0.0
        if not np.isfinite(self.last_grad_norm):
            return    # a NaN or infinite gradient is never applied; train() reports the divergence
        scale = self._scale()
        if self.momentum:
            velocity = self.velocity.get("flat")
            if velocity is None or velocity.shape != flat_grads.shape:
                velocity = self.velocity["flat"] = np.zeros_like(flat_grads)
            velocity *= self.momentum
            velocity -= scale * flat_grads
            model.flat_params += velocity
            self.flat_update = velocity
        else:
            model.flat_params -= scale * flat_grads
            self.flat_update = None      # the update is -last_scale * gradient
        self.last_scale = scale

    def _scale(self) -> float:
        """The learning rate, shrunk so the step's global gradient norm is at most clip_norm."""
        if self.clip_norm is not None and self.last_grad_norm > self.clip_norm:
            return self.lr * self.clip_norm / self.last_grad_norm
        return self.lr

    def _step_each(self, model) -> None:
        """One parameter at a time: W <- W + update, update = -lr * g (or the velocity)."""
        pairs = [((index, key), layer.params[key], layer.grads[key])
                 for index, layer in enumerate(model.layers) for key in layer.params]
        squared = sum(float(np.vdot(grad, grad)) for _, _, grad in pairs)
        self.last_grad_norm = squared ** 0.5
        self.updates = {}
        self.flat_update = None
        if not np.isfinite(self.last_grad_norm):
            return    # a NaN or infinite gradient is never applied; train() reports the divergence
        scale = self.last_scale = self._scale()
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
