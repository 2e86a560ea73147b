"""Layers: each one's forward pass, with its backward pass right beneath it.

Every layer has ``forward(x, training=True)`` and ``backward(grad_out) -> grad_in``,
plus two dicts, ``params`` and ``grads``, with the same keys and shapes. ``forward``
keeps what ``backward`` will need (the "cache") on the layer; ``backward`` fills
``grads`` with dL/dparam and returns dL/dx, which the layer below receives as its
``grad_out``. That hand-off, repeated from the loss down to the input, is
backpropagation: the chain rule applied one layer at a time.

Shapes: ``x`` is ``(batch, features)`` throughout.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_choice, check_dtype, check_memory, check_number, check_rng, _show

# The widest layer nnlab builds (a million units); memory is checked separately.
MAX_WIDTH = 10 ** 6


class Layer:
    """Base class. Parameter-free layers keep ``params`` and ``grads`` empty."""

    name = "layer"

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x, training: bool = True):
        return self.forward(x, training=training)

    def param_shapes(self) -> dict:
        """The shape each parameter must have (a model checks it when it packs them)."""
        return {key: value.shape for key, value in self.params.items()}

    def _needs_forward(self, attribute: str):
        if getattr(self, attribute, None) is None:
            raise RuntimeError(f"{type(self).__name__}.backward was called before forward: "
                               "run a forward pass first, so the layer has its inputs cached.")

    def __repr__(self):
        return f"{type(self).__name__}()"


# ---------------------------------------------------------------------------
# Dense
# ---------------------------------------------------------------------------

INITS = ("he", "xavier", "lecun")


def init_std(init, in_features: int, out_features: int) -> float:
    """The standard deviation of the normal draw for each initialisation scheme.

    - ``"he"``     sqrt(2 / in): keeps ReLU activations at a steady scale.
    - ``"xavier"`` sqrt(2 / (in + out)) (Glorot normal): suits tanh and sigmoid.
    - ``"lecun"``  sqrt(1 / in).
    - a float: that standard deviation itself (too small: gradients vanish;
      too large: they explode).
    """
    if isinstance(init, str):
        check_choice("init", init, INITS)
        if init == "he":
            return float(np.sqrt(2.0 / in_features))
        if init == "xavier":
            return float(np.sqrt(2.0 / (in_features + out_features)))
        return float(np.sqrt(1.0 / in_features))
    try:
        return check_number("init", init, low=0.0, low_open=True)
    except TypeError:
        raise TypeError(f"init must be one of {', '.join(map(repr, INITS))} or a positive "
                        f"standard deviation, but got {_show(init)}.") from None


class Dense(Layer):
    """A fully connected layer, ``y = x @ W + b``.

    Shapes: ``x`` (batch, in_features) -> ``y`` (batch, out_features);
    ``params["W"]`` (in_features, out_features), ``params["b"]`` (out_features,).

    ``init`` chooses the scale of the random weights (see :func:`init_std`);
    ``bias`` is the value every bias starts at (a large negative bias kills ReLUs).
    """

    name = "dense"

    def __init__(self, in_features: int, out_features: int, init="he", bias: float = 0.0,
                 rng=None, dtype=np.float64):
        super().__init__()
        self.in_features = check_number("in_features", in_features, low=1, high=MAX_WIDTH,
                                        integer=True)
        self.out_features = check_number("out_features", out_features, low=1, high=MAX_WIDTH,
                                         integer=True)
        # drawn in float64, then cast: about three copies of the weights at once
        check_memory(f"Dense({self.in_features}, {self.out_features})",
                     24 * self.in_features * self.out_features,
                     "Use a narrower layer (lesson nets have tens to hundreds of units).")
        self.init = init
        bias = check_number("bias", bias)
        dtype = check_dtype("dtype", dtype)
        std = init_std(init, self.in_features, self.out_features)
        rng = check_rng("rng", rng)
        weights = rng.standard_normal((self.in_features, self.out_features)) * std
        self.params = {"W": weights.astype(dtype),
                       "b": np.full(self.out_features, bias, dtype=dtype)}
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        self.x = None

    def param_shapes(self) -> dict:
        return {"W": (self.in_features, self.out_features), "b": (self.out_features,)}

    def forward(self, x, training=True):
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{self!r} expects inputs of shape (batch, {self.in_features}), "
                             f"but got shape {x.shape}.")
        W = self.params["W"]
        if x.dtype != W.dtype:
            x = x.astype(W.dtype)
        self.x = x
        out = x @ W
        out += self.params["b"]
        return out

    def backward(self, grad_out, input_grad: bool = True):
        """dL/dW = x^T g,  dL/db = sum_batch g,  dL/dx = g W^T.

        ``input_grad=False`` skips dL/dx (returning None): the first layer of a
        network has no layer below it to pass it to.
        """
        self._needs_forward("x")
        if grad_out.dtype != self.x.dtype:
            grad_out = grad_out.astype(self.x.dtype)
        np.matmul(self.x.T, grad_out, out=self.grads["W"])
        # The sum over the batch, written as (row of ones) @ g: one BLAS call, which on
        # lesson-sized batches is several times faster than a NumPy reduction.
        np.dot(self._ones(grad_out), grad_out, out=self.grads["b"])
        return grad_out @ self.params["W"].T if input_grad else None

    def _ones(self, like: np.ndarray) -> np.ndarray:
        ones = getattr(self, "_batch_ones", None)
        if ones is None or ones.shape[0] != like.shape[0] or ones.dtype != like.dtype:
            ones = self._batch_ones = np.ones(like.shape[0], dtype=like.dtype)
        return ones

    def __repr__(self):
        return f"Dense({self.in_features} -> {self.out_features}, init={self.init!r})"


# ---------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------

class Activation(Layer):
    """An element-wise nonlinearity. Keeps its last ``output`` for backward and telemetry."""

    output = None


class ReLU(Activation):
    """``relu(x) = max(x, 0)``. A unit whose input stays below 0 outputs 0 and passes no gradient."""

    name = "relu"

    def forward(self, x, training=True):
        self.output = np.maximum(x, 0)
        return self.output

    def backward(self, grad_out):
        """d relu / dx = 1 where x > 0, else 0 (we take 0 at the kink x = 0)."""
        self._needs_forward("output")
        return grad_out * (self.output > 0)


class LeakyReLU(Activation):
    """``x`` where ``x > 0``, else ``slope * x``: a small gradient survives below zero."""

    name = "leaky_relu"

    def __init__(self, slope: float = 0.01):
        super().__init__()
        self.slope = check_number("slope", slope, low=0.0, high=1.0, high_open=True)
        self.positive = None

    def forward(self, x, training=True):
        self.positive = x > 0
        self.output = np.where(self.positive, x, x * self.slope)
        return self.output

    def backward(self, grad_out):
        """d/dx = 1 where x > 0, else ``slope``."""
        self._needs_forward("positive")
        return np.where(self.positive, grad_out, grad_out * self.slope)

    def __repr__(self):
        return f"LeakyReLU(slope={self.slope})"


class Sigmoid(Activation):
    """``sigmoid(x) = 1 / (1 + exp(-x))``, computed as ``(1 + tanh(x / 2)) / 2`` so it never overflows."""

    name = "sigmoid"

    def forward(self, x, training=True):
        self.output = 0.5 * (1.0 + np.tanh(0.5 * x))
        return self.output

    def backward(self, grad_out):
        """d sigmoid / dx = s (1 - s), at most 0.25: many of them in a row shrink the gradient."""
        self._needs_forward("output")
        s = self.output
        return grad_out * s * (1.0 - s)


class Tanh(Activation):
    """``tanh(x)``."""

    name = "tanh"

    def forward(self, x, training=True):
        self.output = np.tanh(x)
        return self.output

    def backward(self, grad_out):
        """d tanh / dx = 1 - tanh(x)^2, at most 1 and tiny once the unit saturates."""
        self._needs_forward("output")
        t = self.output
        return grad_out * (1.0 - t * t)


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "sigmoid": Sigmoid, "tanh": Tanh}


# ---------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------

class Dropout(Layer):
    """Inverted dropout: drop each unit with probability ``rate`` during training.

    ``rate`` is the probability of *dropping* (0.0 = keep everything, 1.0 = drop
    everything). Kept units are scaled by ``1 / (1 - rate)`` so each unit's
    expected value is unchanged, which is why evaluation (``training=False``)
    can simply pass ``x`` through. At rate 1.0 the output is all zeros.

    ``rng`` (a seed or Generator) draws the masks; :func:`nnlab.train` reseeds it
    from its own ``seed`` so a run is reproducible.
    """

    name = "dropout"

    def __init__(self, rate: float, rng=None):
        super().__init__()
        self.rate = check_number("rate", rate, low=0.0, high=1.0)
        self.rng = check_rng("rng", rng)
        self.mask = None          # the scaled keep-mask of the last training pass
        self.fixed_mask = None    # set by gradcheck to reuse one mask on every pass

    def forward(self, x, training=True):
        if not training or self.rate == 0.0:
            self.mask = None
            return x
        if self.fixed_mask is not None:
            self.mask = self.fixed_mask
        elif self.rate == 1.0:
            self.mask = np.zeros_like(x)
        else:
            keep = self.rng.random(x.shape, dtype=x.dtype) >= self.rate
            self.mask = keep * x.dtype.type(1.0 / (1.0 - self.rate))
        return x * self.mask

    def backward(self, grad_out):
        """dL/dx = g * mask (the same scaled mask as the forward pass)."""
        if self.mask is None:      # eval mode or rate 0: the identity
            return grad_out
        return grad_out * self.mask

    def __repr__(self):
        return f"Dropout(rate={self.rate})"


# ---------------------------------------------------------------------------
# Batch normalization
# ---------------------------------------------------------------------------

class BatchNorm(Layer):
    """Batch normalization over the batch dimension.

    Training: each feature is normalized with the mean and the *biased* variance of
    the current batch, ``x_hat = (x - mean) / sqrt(var + eps)``, then rescaled by
    the trainable ``gamma`` and shifted by ``beta``: ``y = gamma * x_hat + beta``.
    It also keeps running estimates for evaluation, the same way PyTorch does::

        running_mean = (1 - momentum) * running_mean + momentum * batch_mean
        running_var  = (1 - momentum) * running_var  + momentum * batch_var_unbiased

    where ``batch_var_unbiased = var * n / (n - 1)``. Evaluation
    (``training=False``) uses the running statistics instead of the batch's.

    Shapes: ``x`` (batch, num_features); ``params["gamma"]``, ``params["beta"]``,
    ``running_mean`` and ``running_var`` are (num_features,).
    """

    name = "batchnorm"

    def __init__(self, num_features: int, momentum: float = 0.1, eps: float = 1e-5,
                 dtype=np.float64):
        super().__init__()
        self.num_features = check_number("num_features", num_features, low=1, integer=True)
        self.momentum = check_number("momentum", momentum, low=0.0, high=1.0)
        self.eps = check_number("eps", eps, low=0.0, low_open=True)
        dtype = check_dtype("dtype", dtype)
        self.params = {"gamma": np.ones(self.num_features, dtype=dtype),
                       "beta": np.zeros(self.num_features, dtype=dtype)}
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}
        self.running_mean = np.zeros(self.num_features, dtype=dtype)
        self.running_var = np.ones(self.num_features, dtype=dtype)
        self.x_hat = None         # the normalized input of the last pass, before gamma and beta
        self.inv_std = None
        self.training = True

    def param_shapes(self) -> dict:
        return {"gamma": (self.num_features,), "beta": (self.num_features,)}

    def forward(self, x, training=True):
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r} expects inputs of shape (batch, {self.num_features}), "
                             f"but got shape {x.shape}.")
        self.training = training
        if training:
            n = x.shape[0]
            if n < 2:
                raise ValueError("BatchNorm cannot train on a batch of one example: its "
                                 "variance is 0, so there is nothing to normalize by. Use a "
                                 "batch_size of 2 or more (16-256 is typical).")
            mean = np.add.reduce(x, axis=0) / n
            centred = x - mean
            var = np.einsum("ij,ij->j", centred, centred) / n
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + (m * n / (n - 1)) * var
        else:
            centred = x - self.running_mean
            var = self.running_var
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.x_hat = centred * self.inv_std
        out = self.x_hat * self.params["gamma"]
        out += self.params["beta"]
        return out

    def backward(self, grad_out):
        """With g = dL/dy, n the batch size and sums over the batch:

        dL/dgamma = sum(g * x_hat),  dL/dbeta = sum(g)
        dL/dx = gamma * inv_std / n * (n g - dL/dbeta - x_hat * dL/dgamma)   (training)
        dL/dx = gamma * inv_std * g                                          (evaluation)

        In training the batch mean and variance depend on every x in the batch,
        which is where the two subtracted terms come from.
        """
        self._needs_forward("x_hat")
        x_hat = self.x_hat
        grad_gamma, grad_beta = self.grads["gamma"], self.grads["beta"]
        np.einsum("ij,ij->j", grad_out, x_hat, out=grad_gamma)
        np.add.reduce(grad_out, axis=0, out=grad_beta)
        scale = self.params["gamma"] * self.inv_std
        if not self.training:
            return grad_out * scale
        n = grad_out.shape[0]
        grad_in = grad_out * n
        grad_in -= grad_beta
        grad_in -= x_hat * grad_gamma
        grad_in *= scale / n
        return grad_in

    def __repr__(self):
        return f"BatchNorm({self.num_features}, momentum={self.momentum}, eps={self.eps})"
