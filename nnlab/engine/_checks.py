"""Argument checks that speak to a learner.

Every public function in nnlab validates what it is given with these helpers, so
a mistake ends in one ValueError or TypeError that names the argument, shows the
value that was seen and says what would be valid, instead of a NumPy traceback
three calls deeper.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def _show(value) -> str:
    """A short, readable rendering of a value for an error message."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_number(name: str, value, *, low=None, high=None, low_open=False,
                 high_open=False, integer=False) -> float | int:
    """Return ``value`` as a Python number if it lies in the allowed range.

    ``low``/``high`` are inclusive unless ``low_open``/``high_open`` say otherwise.
    """
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {kind}, but got {_show(value)} "
                        f"({type(value).__name__}).")
    if integer and not isinstance(value, numbers.Integral):
        if float(value).is_integer():
            value = int(value)
        else:
            raise TypeError(f"{name} must be {kind}, but got {value!r}.")
    # (a Python int is always finite, and may be too large for a float: 10**400)
    if not isinstance(value, numbers.Integral) and not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number, but got {_show(value)}.")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(f"{name} must be in {left}{lo}, {hi}{right}, but got {_show(value)}.")
    return int(value) if integer else float(value)


def check_positive_int(name: str, value) -> int:
    """A count such as ``epochs`` or ``batch_size``: a whole number >= 1."""
    return check_number(name, value, low=1, integer=True)


def check_choice(name: str, value, choices) -> str:
    """``value`` must be one of ``choices`` (strings)."""
    if value not in choices:
        valid = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {valid}, but got {_show(value)}.")
    return value


def check_features(name: str, x, *, dtype=None, ndim: int = 2) -> np.ndarray:
    """A real-valued, finite array of ``ndim`` dimensions with at least one row."""
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array, but got {type(x).__name__}.")
    if x.dtype.kind not in "fiub":
        raise TypeError(f"{name} must hold numbers, but its dtype is {x.dtype}.")
    if x.ndim != ndim:
        want = "(examples, features)" if ndim == 2 else f"{ndim} dimensions"
        raise ValueError(f"{name} must have shape {want}, but got shape {x.shape}.")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {x.shape}): there is nothing to train on.")
    if dtype is not None:
        x = x.astype(dtype, copy=False)
    elif x.dtype.kind != "f":
        x = x.astype(np.float64)
    if not np.isfinite(x).all():
        bad = int(np.size(x) - np.isfinite(x).sum())
        raise ValueError(f"{name} contains {bad} NaN or infinite value(s); "
                         "clean or standardize the data first.")
    return x


def check_labels(name: str, y, n_examples: int, n_classes: int | None) -> np.ndarray:
    """Integer class labels, one per example, each in ``[0, n_classes)``."""
    if isinstance(y, (list, tuple)):
        y = np.asarray(y)
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{name} must be a NumPy array of class labels, "
                        f"but got {type(y).__name__}.")
    if y.ndim != 1:
        raise ValueError(f"{name} must have shape (examples,), but got shape {y.shape}.")
    if y.shape[0] != n_examples:
        raise ValueError(f"{name} has {y.shape[0]} labels but the inputs have "
                         f"{n_examples} examples; they must match.")
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.isfinite(y).all() and np.all(y == np.round(y)):
            y = y.astype(np.int64)
        elif y.dtype.kind == "f":
            bad = y[~(np.isfinite(y) & (y == np.round(y)))][0]
            raise TypeError(f"{name} must hold integer class labels (0, 1, ...), but it holds "
                            f"{float(bad)!r} (dtype {y.dtype}).")
        else:
            raise TypeError(f"{name} must hold integer class labels (0, 1, ...), "
                            f"but its dtype is {y.dtype}.")
    if n_classes == 1:
        raise ValueError(f"{name} holds class labels, but the model has 1 output: softmax over "
                         "one output is always 1, so it cannot classify. For two classes build "
                         "the model with 2 outputs (e.g. nnlab.mlp([2, 16, 2])); to regress "
                         f"onto numbers instead, pass float targets with "
                         "loss=nnlab.MeanSquaredError().")
    if n_classes is not None and y.size and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"{name} must hold labels in [0, {n_classes - 1}] for a model "
                         f"with {n_classes} outputs, but saw labels from {y.min()} to {y.max()}.")
    return y


def check_rng(name: str, rng) -> np.random.Generator:
    """A seed (int), a ``numpy.random.Generator``, or None (which means seed 0)."""
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"{name} must be a seed >= 0 (or a numpy.random.Generator), "
                             f"but got {rng!r}.")
        return np.random.default_rng(int(rng))
    raise TypeError(f"{name} must be an int seed or a numpy.random.Generator, "
                    f"but got {_show(rng)}.")


def spawn(rng: np.random.Generator, n: int) -> list:
    """``rng.spawn(n)``: n independent child generators. ``Generator.spawn`` is NumPy 1.25+;
    on 1.24 the same children come from the bit generator's seed sequence."""
    if hasattr(rng, "spawn"):
        return rng.spawn(n)
    bit_generator = rng.bit_generator
    return [np.random.Generator(type(bit_generator)(seed))
            for seed in bit_generator._seed_seq.spawn(n)]


def check_dtype(name: str, dtype) -> np.dtype:
    """float32 or float64."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be np.float32 or np.float64, but got {dtype!r}.") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"{name} must be np.float32 or np.float64, but got {dt}.")
    return dt


# A learner's kernel on a class server (JupyterHub, Binder) typically gets 1-2 GB.
# nnlab refuses, before allocating anything, a network or a run whose arrays would
# need more than this, and says how much it estimated.
MEMORY_LIMIT = 2 * 1024 ** 3


def format_bytes(nbytes: float) -> str:
    """``1536`` -> ``'1.5 KB'``; ``3.2e9`` -> ``'3.0 GB'`` (powers of 1024)."""
    if nbytes >= 1024 ** 6:
        return "1 EB or more"
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if nbytes < 1024 or unit == "TB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return ""  # pragma: no cover


def check_memory(what: str, nbytes: float, advice: str) -> None:
    """Refuse ``what`` if its arrays would need more than :data:`MEMORY_LIMIT`."""
    if nbytes > MEMORY_LIMIT:
        raise ValueError(f"{what} would need an estimated {format_bytes(nbytes)} of memory, more "
                         f"than the {format_bytes(MEMORY_LIMIT)} nnlab allows (a learner's "
                         f"kernel typically has 1-2 GB). {advice}")
