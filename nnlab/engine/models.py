"""Models: layers in a row, and ``mlp`` to build the ones every lesson uses."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import (_show, check_choice, check_dtype, check_memory, check_number, check_rng,
                      spawn)
from .layers import (ACTIVATIONS, MAX_WIDTH, Activation, BatchNorm, Dense, Dropout, Layer,
                     LeakyReLU, ReLU)


@dataclass(frozen=True, eq=False)
class Parameters:
    """Every parameter of a model, and its gradient, packed into two flat arrays.

    ``values`` and ``grads`` are 1-D arrays of the model's dtype; each layer's
    ``params[key]`` and ``grads[key]`` are views into them (so the layers see and
    change the same numbers). They are the two rows of one (2, size) array,
    ``stacked`` (``stacked[0]`` is ``values``, ``stacked[1]`` is ``grads``).
    ``keys[i]`` is ``(layer index, name)`` of the i-th parameter and ``starts[i]``
    where it begins. This is the whole interface the optimizer and the telemetry
    use: one NumPy call updates every parameter, one ``np.add.reduceat`` takes
    every parameter's norm (of values and gradients at once, on ``stacked``).
    """

    values: np.ndarray
    grads: np.ndarray
    starts: np.ndarray
    keys: tuple
    layout: tuple      # (layer, name, shape) per parameter: what the packing was made for
    stacked: np.ndarray    # (2, size): values and grads, one above the other


class Sequential:
    """Layers applied one after another.

    ``forward`` runs them bottom to top; ``backward`` runs them top to bottom,
    each layer turning dL/d(its output) into dL/d(its input). Each layer gets a
    readable ``name`` such as ``"dense1"`` or ``"relu2"`` (a layer that already
    has one, from another model, keeps it).

    How parameters are stored: :meth:`parameters` packs every layer's parameters
    (and gradients) into one flat array, and makes ``layer.params[key]`` a view into
    it. Whatever a learner does to the model is picked up at the next training step:
    writing into a parameter (``layer.params["W"][...] = ...``), rebinding it
    (``layer.params["W"] = W * 0.5``, same shape and dtype), appending, removing or
    replacing layers in ``model.layers``, copying the model (``copy.copy`` shares the
    layers, ``copy.deepcopy`` and pickling give independent ones) or building a second
    Sequential over some of its layers. Anything that cannot work (a parameter of the
    wrong shape or dtype, one array or one layer used twice, widths that do not chain)
    raises a ValueError saying what to do.
    """

    def __init__(self, layers):
        layers = list(layers)
        if not layers:
            raise ValueError("Sequential needs at least one layer, but got an empty list.")
        self.layers = layers
        self._packed = None
        self._packed_layers: list = []
        self._views: list = []
        self._pack()

    def parameters(self) -> Parameters:
        """The model's parameters, packed (see the class docstring); repacked if stale.

        Checks, in a few microseconds, that the layers and their arrays are still the
        ones packed; if anything changed, packs them again (the current values are kept)."""
        if self.layers != self._packed_layers or not self._views_current():
            self._pack()
        return self._packed

    def _views_current(self) -> bool:
        try:
            for layer, key, value, grad in self._views:
                if layer.params[key] is not value or layer.grads[key] is not grad:
                    return False
        except (KeyError, TypeError, AttributeError):    # a parameter or a dict went missing
            return False
        return True

    def _pack(self) -> None:
        """Copy every parameter (and gradient) into one flat array, and make the
        layers' arrays views into it.

        Nothing changes for the layers: ``layer.params["W"]`` is still a (in, out)
        array that backward and the optimizer update in place. But the optimizer can
        now update all parameters with one NumPy call, and the telemetry can take
        every parameter's norm with one ``np.add.reduceat``, instead of a few calls
        per parameter: on lesson-sized nets the per-call overhead, not the
        arithmetic, is what costs time.
        """
        layers = list(self.layers)
        _check_layers(layers)
        _name_layers(layers)
        entries = [(index, key, layer) for index, layer in enumerate(layers)
                   for key in layer.params]
        arrays = [_checked_param(layer, key) for _, key, layer in entries]
        _check_not_shared(entries, arrays)
        dtypes = {array.dtype for array in arrays}
        if len(dtypes) > 1:
            raise ValueError("The model's parameters mix dtypes "
                             f"({', '.join(sorted(str(d) for d in dtypes))}); build every layer "
                             "with the same dtype (np.float32 or np.float64).")
        dtype = dtypes.pop() if dtypes else np.dtype(np.float64)
        sizes = [array.size for array in arrays]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.intp)
        stacked = np.zeros((2, offsets[-1]), dtype=dtype)
        values, grads = stacked
        views = []
        for (_, key, layer), array, start, stop in zip(entries, arrays, offsets[:-1], offsets[1:]):
            old_grad = layer.grads.get(key)
            values[start:stop] = array.ravel()
            if isinstance(old_grad, np.ndarray) and old_grad.shape == array.shape:
                grads[start:stop] = old_grad.ravel()
            layer.params[key] = values[start:stop].reshape(array.shape)
            layer.grads[key] = grads[start:stop].reshape(array.shape)
            views.append((layer, key, layer.params[key], layer.grads[key]))
        self._packed = Parameters(
            values=values, grads=grads, starts=offsets[:-1],
            keys=tuple((index, key) for index, key, _ in entries),
            layout=tuple((layer, key, array.shape) for (_, key, layer), array
                         in zip(entries, arrays)),
            stacked=stacked)
        self._packed_layers, self._views = layers, views

    # The packed arrays under their former names (read-only; use parameters()).
    flat_params = property(lambda self: self.parameters().values)
    flat_grads = property(lambda self: self.parameters().grads)
    param_offsets = property(lambda self: self.parameters().starts)
    param_keys = property(lambda self: list(self.parameters().keys))

    def __reduce__(self):
        # Copies and pickles rebuild the model from its layers: copy.copy shares the
        # layers (both models train the same layers); deepcopy and pickle copy them.
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

    def activation_widths(self) -> list[int]:
        """The number of units of each activation layer, bottom to top."""
        width = self.in_features
        widths = []
        for layer in self.layers:
            if isinstance(layer, Dense):
                width = layer.out_features
            elif isinstance(layer, Activation):
                widths.append(width)
        return widths

    @property
    def in_features(self) -> int:
        return next(layer for layer in self.layers if isinstance(layer, Dense)).in_features

    @property
    def out_features(self) -> int:
        return next(layer for layer in reversed(self.layers)
                    if isinstance(layer, Dense)).out_features

    @property
    def dtype(self) -> np.dtype:
        return self.parameters().values.dtype

    def check_trainable(self, name: str = "model") -> None:
        """A model ``train`` and ``evaluate`` can use: at least one Dense layer."""
        if not any(isinstance(layer, Dense) for layer in self.layers):
            raise ValueError(f"{name} has no Dense layer ({self!r}), so it has no input or "
                             "output width and nothing to train. Add a Dense layer, or "
                             "build one with nnlab.mlp.")

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
    sizes = [check_number(f"sizes[{i}]", s, low=1, high=MAX_WIDTH, integer=True)
             for i, s in enumerate(sizes)]
    check_choice("activation", activation, tuple(ACTIVATIONS))
    dropout = check_number("dropout", dropout, low=0.0, high=1.0)
    dtype = check_dtype("dtype", dtype)
    rng = check_rng("seed", seed)
    weights = sum(fan_in * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:]))
    # the weights are drawn in float64, then cast and packed: about 3 copies at once
    check_memory(f"mlp({_show(sizes)})", 8 * weights * 3,
                 "Use fewer or narrower layers (lesson nets have a few thousand weights).")
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


def _check_layers(layers) -> None:
    """Every entry a layer, none twice, and the widths of consecutive layers chaining."""
    seen = {}
    width, width_from = None, None
    for index, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise TypeError(f"layer {index} must be an nnlab layer (Dense, ReLU, ...), "
                            f"but got {type(layer).__name__}.")
        if id(layer) in seen:
            raise ValueError(f"layer {index} is the same object as layer {seen[id(layer)]} "
                             f"({layer!r}); a layer owns its parameters, so it can appear only "
                             "once in a model. Use copy.deepcopy(layer) for a second one.")
        seen[id(layer)] = index
        takes = (layer.in_features if isinstance(layer, Dense) else
                 layer.num_features if isinstance(layer, BatchNorm) else None)
        if takes is not None and width is not None and takes != width:
            raise ValueError(f"layer {index} ({layer!r}) takes {takes} inputs, but layer "
                             f"{width_from} before it gives {width}: consecutive widths must "
                             "match.")
        if isinstance(layer, (Dense, BatchNorm)):
            width = layer.out_features if isinstance(layer, Dense) else layer.num_features
            width_from = index


def _name_layers(layers) -> None:
    """Name each layer that has no name yet: its type and the next free number.

    A layer without a name of its own reads its class's (``"dense"``). (Not tested with
    ``vars(layer)``: reading an object's ``__dict__`` makes every later attribute access
    on it slower in CPython 3.11+, and layers read their attributes on every step.)"""
    unnamed = [layer.name == type(layer).name for layer in layers]
    taken = {layer.name for layer, blank in zip(layers, unnamed) if not blank}
    for layer, blank in zip(layers, unnamed):
        if blank:
            number = 1
            while f"{type(layer).name}{number}" in taken:
                number += 1
            layer.name = f"{type(layer).name}{number}"
            taken.add(layer.name)


def _checked_param(layer, key) -> np.ndarray:
    """``layer.params[key]``, if it is an array of the shape the layer needs."""
    array = layer.params[key]
    where = f"{getattr(layer, 'name', type(layer).__name__)}.params[{key!r}]"
    if not isinstance(array, np.ndarray) or array.dtype.kind != "f":
        raise TypeError(f"{where} must be a float NumPy array, but got {_describe(array)}. "
                        f"Write into it instead: layer.params[{key!r}][...] = new_values.")
    expected = layer.param_shapes().get(key, array.shape)
    if array.shape != tuple(expected):
        raise ValueError(f"{where} has shape {array.shape}, but the layer needs "
                         f"{tuple(expected)}. Assign an array of that shape (or write into "
                         f"it: layer.params[{key!r}][...] = new_values).")
    return array


def _check_not_shared(entries, arrays) -> None:
    """Each parameter its own array: packing copies values, so a tie would silently break."""
    owner = {}
    for (_, key, layer), array in zip(entries, arrays):
        here = f"{layer.name}.params[{key!r}]"
        if id(array) in owner:
            raise ValueError(f"{here} is the same array as {owner[id(array)]}; each layer owns "
                             f"its parameters. Give it a copy: layer.params[{key!r}] = "
                             "other.copy().")
        owner[id(array)] = here


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype}"
    return type(value).__name__
