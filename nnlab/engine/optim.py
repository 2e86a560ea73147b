"""Stochastic gradient descent, with momentum and gradient clipping."""

from __future__ import annotations

import functools
import math
import weakref
from typing import NamedTuple

import numpy as np

from ._checks import check_number


class StepRecord(NamedTuple):
    """What one optimizer step did; :meth:`SGD.step` returns it and the recorder reads it.

    ``grad_norm``: the global gradient norm sqrt(sum of every squared gradient entry),
    before clipping (not finite: the step was skipped, nothing changed).
    ``scale``: the step size used, ``lr``, or ``lr * clip_norm / grad_norm`` after
    clipping (0 for a skipped step). ``clipped``: whether clipping shrank the step.
    ``update``: the change applied to the packed parameters (with momentum, the
    velocity), or None when it was exactly ``-scale * gradient`` (plain SGD, or a
    skipped step). For a model without ``parameters()`` it is the dict
    ``{(layer index, name): update}``. ``parameters``: the packed parameters the
    step read and changed (the model's :class:`~nnlab.engine.models.Parameters`;
    None for a model without ``parameters()``), so whoever reports on the step
    reads exactly the arrays the optimizer used.
    """

    grad_norm: float
    scale: float
    clipped: bool
    update: np.ndarray | dict | None    # (a small immutable record, cheap to make every step)
    parameters: object = None

    @property
    def applied(self) -> bool:
        return math.isfinite(self.grad_norm)


SKIPPED = StepRecord(grad_norm=float("nan"), scale=0.0, clipped=False, update=None)


@functools.lru_cache(maxsize=None)
def _safe_range(dtype: np.dtype) -> tuple[float, float]:
    """Sums of squares safely inside ``dtype``'s range (far from overflow and denormals)."""
    info = np.finfo(dtype)
    return float(info.tiny) * 2.0 ** info.nmant, float(info.max) / 2.0 ** info.nmant


def global_norm(grads: np.ndarray) -> float:
    """sqrt(sum(grads ** 2)) as a Python float, without overflow or underflow.

    One BLAS dot product when the sum of squares is comfortably inside the dtype's
    range; otherwise (a float32 sum of squares overflows once the norm passes about
    1.8e19, and squares below about 1e-23 vanish) the gradient is divided by its
    largest entry first, in float64. Infinite or NaN entries give inf or nan.
    """
    squared = float(np.vdot(grads, grads))
    low, high = _safe_range(grads.dtype)
    if low < squared < high:
        return math.sqrt(squared)
    biggest = float(np.max(np.abs(grads))) if grads.size else 0.0
    if biggest == 0.0 or not math.isfinite(biggest):
        return biggest
    scaled = grads.astype(np.float64) / biggest
    return biggest * math.sqrt(float(np.vdot(scaled, scaled)))


class SGD:
    """``W <- W - lr * dL/dW`` for every parameter of every layer.

    ``momentum`` (0 <= momentum < 1) keeps a running velocity,
    ``v <- momentum * v - lr * g`` and ``W <- W + v``. PyTorch writes it
    ``b <- momentum * b + g`` and ``W <- W - lr * b``: the same steps while ``lr``
    stays fixed, but after a change of ``lr`` PyTorch rescales the whole remembered
    velocity by the new rate at once, while here past steps keep the rate they were
    taken with and the new rate enters gradually.

    ``clip_norm`` rescales all gradients together whenever their global norm
    ``sqrt(sum of every squared gradient entry)`` exceeds it, by ``clip_norm / norm``
    (PyTorch's ``clip_grad_norm_`` uses ``clip_norm / (norm + 1e-6)``, a hair
    smaller): the classic remedy for exploding gradients, since a single huge step
    can no longer throw the weights far away.

    :meth:`step` returns a :class:`StepRecord` saying what it did; ``last_step``
    keeps it, and ``last_grad_norm`` and ``last_scale`` read it. A step whose
    gradients are not finite is skipped, so the weights keep their last finite values.

    The velocity belongs to one model: used on another model (or on a model whose
    layers changed), the optimizer starts again from zero velocity. Training the
    same model again continues with the velocity it had.
    """

    def __init__(self, lr: float, momentum: float = 0.0, clip_norm: float | None = None):
        self.lr = check_number("lr", lr, low=0.0, low_open=True)
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0, high_open=True)
        self.clip_norm = None if clip_norm is None else check_number(
            "clip_norm", clip_norm, low=0.0, low_open=True)
        self.velocity: dict = {}
        self.updates: dict = {}
        self.last_step = SKIPPED
        self._owner = None          # weak reference to the model the velocity belongs to
        self._layout = None         # and the arrangement of its parameters

    @property
    def last_grad_norm(self) -> float:
        return self.last_step.grad_norm

    @property
    def last_scale(self) -> float:
        return self.last_step.scale

    @property
    def flat_update(self):
        update = self.last_step.update
        return update if isinstance(update, np.ndarray) else None

    def step(self, model) -> StepRecord:
        """Update every parameter of ``model`` from its gradients; return what was done."""
        if not hasattr(model, "parameters"):
            self.last_step = self._step_each(model)
            return self.last_step
        # Every parameter lives in one flat array (see Sequential.parameters):
        # the same rule as _step_each below, in a handful of NumPy calls.
        packed = model.parameters()
        if not (self._layout is packed.layout and self._owner() is model):
            self._own(model, packed.layout)
        if self.updates:
            self.updates = {}
        values, grads = packed.values, packed.grads
        norm = global_norm(grads)
        if not math.isfinite(norm):
            self.last_step = StepRecord(norm, 0.0, False, None, packed)
            return self.last_step    # never applied; train() reports the divergence
        scale, clipped = self._scale(norm)
        update = None
        if self.momentum:
            velocity = self.velocity.get("flat")
            if velocity is None:
                velocity = self.velocity["flat"] = np.zeros_like(grads)
            velocity *= self.momentum
            velocity -= scale * grads
            values += velocity
            update = velocity
        else:
            values -= scale * grads
        self.last_step = StepRecord(norm, scale, clipped, update, packed)
        return self.last_step

    def _own(self, model, layout) -> None:
        """Start from zero velocity on a new model, or on one whose layers changed."""
        if self._owner is None or self._owner() is not model or (
                self._layout is not layout and self._layout != layout):
            self.velocity = {}
            self._owner = weakref.ref(model)
            self._layout = layout

    def _scale(self, norm: float) -> tuple[float, bool]:
        """The learning rate, shrunk so the step's global gradient norm is at most clip_norm."""
        if self.clip_norm is not None and norm > self.clip_norm:
            return self.lr * self.clip_norm / norm, True
        return self.lr, False

    def _step_each(self, model) -> StepRecord:
        """One parameter at a time: W <- W + update, update = -lr * g (or the velocity)."""
        pairs = [((index, key), layer.params[key], layer.grads[key])
                 for index, layer in enumerate(model.layers) for key in layer.params]
        self._own(model, tuple((key, param.shape) for key, param, _ in pairs))
        norm = math.sqrt(sum(global_norm(grad) ** 2 for _, _, grad in pairs))
        self.updates = {}
        if not math.isfinite(norm):
            return StepRecord(norm, 0.0, False, None)
        scale, clipped = self._scale(norm)
        for key, param, grad in pairs:
            if self.momentum:
                velocity = self.velocity.get(key)
                update = -scale * grad if velocity is None else self.momentum * velocity - scale * grad
                self.velocity[key] = update
            else:
                update = grad * (-scale)
            param += update
            self.updates[key] = update
        return StepRecord(norm, scale, clipped, self.updates if self.momentum else None)

    def __repr__(self):
        return f"SGD(lr={self.lr}, momentum={self.momentum}, clip_norm={self.clip_norm})"
