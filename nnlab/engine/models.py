"""Models: layers in a row, and ``mlp`` to build the ones every lesson uses."""

from __future__ import annotations

from collections import Counter

import numpy as np

from ._checks import check_choice, check_dtype, check_number, check_rng, spawn
from .layers import ACTIVATIONS, Activation, BatchNorm, Dense, Dropout, Layer, ReLU, LeakyReLU


class Sequential:
    """Layers applied one after another.

    ``forward`` runs them bottom to top; ``backward`` runs them top to bottom,
    each layer turning dL/d(its output) into dL/d(its input). Each layer gets a
    readable ``name`` such as ``"dense1"`` or ``"relu2"``.
    """

    def __init__(self, layers):
        layers = list(layers)
        if not layers:
            raise ValueError("Sequential needs at least one layer, but got an empty list.")
        for index, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {index} must be an nnlab layer (Dense, ReLU, ...), "
                                f"but got {type(layer).__name__}.")
        counts = Counter()
        for layer in layers:
            counts[type(layer).name] += 1
            layer.name = f"{type(layer).name}{counts[type(layer).name]}"
        self.layers = layers
        self._pack_parameters()

    def _pack_parameters(self) -> None:
        """Make every parameter, and every gradient, a view into one flat array.

        Nothing changes for the layers: ``layer.params["W"]`` is still a
        (in, out) array that backward and the optimizer update in place. But the
        optimizer can now update all parameters with one NumPy call, and the
        telemetry can take every parameter's norm with one ``np.add.reduceat``,
        instead of a few calls per parameter: on lesson-sized nets the per-call
        overhead, not the arithmetic, is what costs time.

        ``param_keys[i]`` is ``(layer index, name)`` of the i-th parameter and
        ``param_offsets[i]`` where it starts in ``flat_params``/``flat_grads``.
        Models whose layers mix dtypes are left unpacked (``flat_params`` is None).
        """
        entries = [(index, key, layer) for index, layer in enumerate(self.layers)
                   for key in layer.params]
        self.param_keys = [(index, key) for index, key, _ in entries]
        self.flat_params = self.flat_grads = None
        self.param_offsets = np.zeros(0, dtype=np.intp)
        dtypes = {layer.params[key].dtype for _, key, layer in entries}
        if len(dtypes) != 1:
            return
        sizes = [layer.params[key].size for _, key, layer in entries]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
        flat_params = np.empty(offsets[-1], dtype=dtypes.pop())
        flat_grads = np.zeros_like(flat_params)
        for (_, key, layer), start, stop in zip(entries, offsets[:-1], offsets[1:]):
            shape = layer.params[key].shape
            flat_params[start:stop] = layer.params[key].ravel()
            layer.params[key] = flat_params[start:stop].reshape(shape)
            layer.grads[key] = flat_grads[start:stop].reshape(shape)
        self.flat_params, self.flat_grads, self.param_offsets = flat_params, flat_grads, offsets[:-1]

    def __reduce__(self):
        # Copies and pickles rebuild the model from its layers, so the copy's
        # parameters are views into the copy's own flat array, not the original's.
        return (type(self), (self.layers,))

    def forward(self, x: np.ndarray, training: bool = True) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    __call__ = forward

    def backward(self, grad_out: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate dL/d(output) through every layer; return dL/d(input).

        Training does not need dL/d(input), so it passes ``input_grad=False``
        and a first Dense layer skips that matrix product (returning None).
        """
        *upper, first = self.layers[::-1]
        for layer in upper:
            grad_out = layer.backward(grad_out)
        if not input_grad and isinstance(first, Dense):
            return first.backward(grad_out, input_grad=False)
        return first.backward(grad_out)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Class predictions (argmax of the scores) in evaluation mode."""
        return self.forward(x, training=False).argmax(axis=1)

    # What the other modules ask of a model -----------------------------------
    @property
    def dense_layers(self) -> list[Dense]:
        return [layer for layer in self.layers if isinstance(layer, Dense)]

    @property
    def activation_layers(self) -> list[Activation]:
        return [layer for layer in self.layers if isinstance(layer, Activation)]

    @property
    def relu_layers(self) -> list[Activation]:
        return [layer for layer in self.layers if isinstance(layer, (ReLU, LeakyReLU))]

    @property
    def in_features(self) -> int:
        return self.dense_layers[0].in_features

    @property
    def out_features(self) -> int:
        return self.dense_layers[-1].out_features

    @property
    def dtype(self) -> np.dtype:
        return self.dense_layers[0].params["W"].dtype

    def parameter_count(self) -> int:
        return sum(p.size for layer in self.layers for p in layer.params.values())

    def __repr__(self):
        inner = ",\n  ".join(repr(layer) for layer in self.layers)
        return f"Sequential(\n  {inner}\n)"


def mlp(sizes, activation: str = "relu", init="he", batchnorm: bool = False,
        dropout: float = 0.0, bias: float = 0.0, seed=0, dtype=np.float64) -> Sequential:
    """A multi-layer perceptron.

    ``sizes`` lists the width of every layer, input first and output last: for
    example ``[2, 16, 16, 2]`` is 2 inputs, two hidden layers of 16 units, 2
    classes. Each hidden layer is ``Dense -> [BatchNorm] -> activation ->
    [Dropout]``; the last layer is a plain ``Dense`` (the loss applies softmax).

    ``init`` and ``bias`` go to every Dense layer; ``seed`` (or a Generator)
    draws the weights, so the same seed gives the same network.
    """
    if not isinstance(sizes, (str, bytes)) and np.iterable(sizes):
        sizes = list(sizes)
    if not isinstance(sizes, list) or len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, such as "
                         f"[2, 16, 2], but got {sizes!r}.")
    sizes = [check_number(f"sizes[{i}]", s, low=1, integer=True) for i, s in enumerate(sizes)]
    check_choice("activation", activation, tuple(ACTIVATIONS))
    dropout = check_number("dropout", dropout, low=0.0, high=1.0)
    dtype = check_dtype("dtype", dtype)
    rng = check_rng("seed", seed)
    layers: list[Layer] = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1]):
        layers.append(Dense(fan_in, fan_out, init=init, bias=bias, rng=rng, dtype=dtype))
        if batchnorm:
            layers.append(BatchNorm(fan_out, dtype=dtype))
        layers.append(ACTIVATIONS[activation]())
        if dropout > 0.0:
            layers.append(Dropout(dropout, rng=spawn(rng, 1)[0]))
    layers.append(Dense(sizes[-2], sizes[-1], init=init, bias=bias, rng=rng, dtype=dtype))
    return Sequential(layers)
