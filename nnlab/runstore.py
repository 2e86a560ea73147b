"""A small store of finished runs, shipped with the course: the slow runs a lab needs at once.

The dropout lab trains 1000 epochs for each of its 11 rates: about half a second
each, too slow for a click. ``make runs`` (``python -m nnlab.experiments``) trains
them once and writes them to ``nnlab/lab_runs.npz`` (compressed, about 1 MB);
``experiments.outcome`` then reads a stored run instead of training it. A stored
run is the run itself: its History, its final weights (the model is rebuilt
from them), its measurements, and the parameters it kept at the epochs the lab
plays (``History.snapshots``); its run record (``History.run``) is described
again from the configuration. Settings not in the store are trained as before.

Bit for bit where the arithmetic is the same: another NumPy or BLAS may round a
last bit differently (NumPy 1.24 against 2.x: about 1e-13 after 1000 epochs).
The store keeps a :func:`fingerprint` of the machine that built it (a hash of a
two-epoch run of the same network); :func:`built_here` says whether this machine
matches. ``tests/test_runstore.py`` trains a sample again and compares: bit for
bit when it matches, to rounding otherwise. The lab shows the stored numbers
either way, so every machine shows the same ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from .runner import Experiment, Outcome, trained

PATH = Path(__file__).with_name("lab_runs.npz")
_ARRAYS = ("step_loss", "global_grad_norm", "grad_norms", "bias_grad_norms", "update_ratios",
           "activation_mean", "activation_std", "dead_fraction", "epoch_dead_fraction",
           "telemetry_steps", "snapshot_epochs", "snapshots")
_LISTS = ("loss", "accuracy", "val_loss", "val_accuracy")
_SCALARS = ("layer_names", "activation_names", "relu_names", "diverged_at", "diverged_loss",
            "interrupted", "message", "steps_per_epoch", "epochs", "n_classes", "lr",
            "snapshot_layout")
_index = None


def fingerprint(config) -> str:
    """A hash of a two-epoch run of ``config``'s network on this machine: the same where
    NumPy and the BLAS round exactly as on the machine that built the store."""
    history = trained(config.replace(epochs=2)).history
    numbers = (history.step_loss, history.grad_norms, history.activation_std)
    return hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes() for a in numbers)).hexdigest()[:16]


def _config_of(text: str) -> Experiment:
    """The configuration a :func:`key` describes."""
    fields = json.loads(text)
    return Experiment(**{name: tuple(value) if isinstance(value, list) else value
                         for name, value in fields.items()})


def built_here(path: Path = PATH) -> bool:
    """Whether this machine computes the stored runs bit for bit (see :func:`fingerprint`,
    taken of the store's first run)."""
    with np.load(path) as store:
        if "fingerprint" not in store.files:
            return False
        first = json.loads(store["keys"].tobytes())[0]
        return store["fingerprint"].tobytes().decode() == fingerprint(_config_of(first))


def key(config) -> str:
    """A stable text key for a configuration (every compared field, not its title)."""
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(config) if f.compare}
    return json.dumps(fields, sort_keys=True, default=list)


def _encode(result, prefix: str) -> dict:
    history = result.history
    if any(hasattr(layer, "running_mean") for layer in result.model.layers):
        raise ValueError("the run store keeps weights only: a batch-normalized run cannot be stored")
    arrays = {f"{prefix}{name}": getattr(history, name) for name in _ARRAYS}
    arrays.update({f"{prefix}{name}": np.asarray(getattr(history, name), dtype=float)
                   for name in _LISTS})
    for index, layer in enumerate(result.model.layers):
        for name, value in layer.params.items():
            arrays[f"{prefix}param.{index}.{name}"] = value
    arrays[f"{prefix}weight_change"] = result.weight_change
    arrays[f"{prefix}dead_units"] = result.dead_units
    meta = {name: getattr(history, name) for name in _SCALARS}
    meta.update(train_accuracy=result.train_accuracy, val_accuracy=result.val_accuracy,
                train_loss=result.train_loss)
    arrays[f"{prefix}meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return arrays


def write(configs, path: Path = PATH) -> Path:
    """Train ``configs`` and write the store (``make runs`` writes
    ``experiments.stored_configs()``)."""
    configs = list(configs)
    arrays = {"keys": np.frombuffer(json.dumps([key(c) for c in configs]).encode(), dtype=np.uint8),
              "fingerprint": np.frombuffer(fingerprint(configs[0]).encode(), dtype=np.uint8)}
    for number, config in enumerate(configs):
        arrays.update(_encode(trained(config), f"{number}."))
    # An .npz as np.savez_compressed writes it, but with fixed dates: the same runs give the
    # same file, byte for byte.
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, value in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(value), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue(), compresslevel=9)
    return path


def _load_index(path: Path = PATH) -> dict:
    global _index
    if _index is None:
        _index = {}
        if path.exists():
            with np.load(path) as store:
                keys = json.loads(store["keys"].tobytes())
            _index = {text: number for number, text in enumerate(keys)}
    return _index


def load(config, path: Path = PATH):
    """The stored Outcome of ``config``, or None if the store does not hold it."""
    number = _load_index(path).get(key(config))
    if number is None:
        return None
    from .engine.losses import SoftmaxCrossEntropy
    from .engine.optim import SGD
    from .engine.runinfo import describe_run
    from .engine.telemetry import dead_units
    from .engine.training import History
    prefix = f"{number}."
    with np.load(path) as store:
        data = {name[len(prefix):]: store[name] for name in store.files if name.startswith(prefix)}
    meta = json.loads(data["meta"].tobytes())
    history = History(**{name: data[name] for name in _ARRAYS},
                      **{name: data[name].tolist() for name in _LISTS},
                      **{name: meta[name] for name in _SCALARS})
    history.snapshot_layout = [(name, tuple(shape)) for name, shape in history.snapshot_layout]
    (X, y), _ = config.data()
    model = config.build(X.shape[1], int(y.max()) + 1)
    history.run = describe_run(model, X.astype(model.dtype), y,
                               batch_size=config.batch_size,
                               optimizer=SGD(config.lr, momentum=config.momentum,
                                             clip_norm=config.clip_norm),
                               loss=SoftmaxCrossEntropy())
    for index, layer in enumerate(model.layers):
        for name in layer.params:
            layer.params[name][...] = data[f"param.{index}.{name}"]
    dead_units(model, X)        # one forward pass: the layers hold their outputs, as after training
    return Outcome(config, history, model, data["weight_change"], data["dead_units"],
                   meta["train_accuracy"], meta["val_accuracy"], meta["train_loss"])
