"""A corpus of generated runs with known ground truth, to measure ``diagnose`` on.

:func:`specs` lists :class:`RunSpec` objects, each a small run built from a
seed with faults put in by construction (a deep sigmoid net, a learning rate
of 6, 40 training examples for a 128-wide net, labels drawn independently of
the inputs, ...), across depth 2-12, width 4-512, every activation, batch
size 1 to the full batch, float32 and float64, cross-entropy and MSE,
balanced and imbalanced classes, short and long runs, with and without
telemetry. :func:`judge` trains one and compares ``diagnose``'s cases with
the truth: the faults put in, plus the symptoms measured on the trained model
without ``diagnose`` (did it diverge; is it at chance on its own training set,
evaluated once more after training). :func:`summary` adds up the results:
exact-match rate, confusion matrix, remedies in place or in conflict, and the
reliability of each confidence band. ``benchmarks/bench_diagnose.py`` runs
it all; the tests run a subset.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..engine import datasets
from ..engine.models import mlp
from ..engine.optim import SGD
from ..engine.training import evaluate, train
from .rules import CASE_NAMES, CONFLICTS

# What measured() adds when gradient clipping let a run with exploding gradients learn.
REMEDIED = "remedied by clipping"
# ... and when the trained model's loss is already below 0.4 of chance (it has learned).
LEARNED = "learned"

BANDS = (("low", 0.5, 0.65), ("medium", 0.65, 0.85), ("high", 0.85, 1.01))


@dataclass(frozen=True)
class RunSpec:
    """One generated run: its data, network, training, and the faults put in."""

    name: str
    faults: frozenset
    data: str = "blobs"          # blobs, moons, circles, xor, noise, regression, regression_noise
    n: int = 200
    features: int = 2
    classes: int = 2
    minority: float = 0.5        # share of the smallest class (2 classes), 0.5 = balanced
    scale: float = 1.0           # inputs multiplied by this (raw, unstandardized data)
    feature_scales: tuple = ()   # then each feature multiplied by its own factor
    constant_columns: int = 0    # then this many constant columns appended (zeros, ones, ...)
    label_noise: float = 0.0
    val: int = 0                 # validation examples
    hidden: tuple = (16, 16)
    activation: str = "relu"
    init: object = "he"
    bias: float = 0.0
    batchnorm: bool = False
    dropout: float = 0.0
    lr: float = 0.1
    clip_norm: float | None = None
    momentum: float = 0.0
    batch_size: int = 32
    epochs: int = 20
    dtype: str = "float64"
    telemetry: bool = True
    seed: int = 0

    @property
    def regression(self) -> bool:
        return self.data.startswith("regression")


def make_data(spec: RunSpec):
    """``(X, y), val``: the inputs standardized (then times ``scale``); val None without ``val``."""
    rng = np.random.default_rng(spec.seed)
    total = spec.n + spec.val
    if spec.data in ("moons", "circles", "xor"):
        X, y = getattr(datasets, spec.data)(n=total, noise=0.15, seed=spec.seed)
        X = np.hstack([X, rng.standard_normal((total, spec.features - 2))]) \
            if spec.features > 2 else X
    elif spec.data in ("regression", "regression_noise"):
        X = rng.standard_normal((total, spec.features))
        w, v = rng.standard_normal((2, spec.features)) / np.sqrt(spec.features)
        y = np.tanh(X @ w) + 0.5 * (X @ v) ** 2 + 0.1 * rng.standard_normal(total)
        if spec.data == "regression_noise":
            y = rng.permutation(y)
        y = y[:, None]
    else:
        shares = np.full(spec.classes, 1.0 / spec.classes)
        if spec.classes == 2:
            shares = np.array([1 - spec.minority, spec.minority])
        y = rng.choice(spec.classes, size=total, p=shares)
        centres = rng.standard_normal((spec.classes, spec.features)) * (
            0.0 if spec.data == "noise" else 3.0 / np.sqrt(min(spec.features, 4)))
        X = centres[y] + rng.standard_normal((total, spec.features))
    if spec.label_noise and not spec.regression:
        y = datasets.flip_labels(y, spec.label_noise, seed=spec.seed + 1)
    X = datasets.standardize(X, reference=X[:spec.n]) * spec.scale
    if spec.feature_scales:
        X = X * np.asarray(spec.feature_scales, dtype=float)
    if spec.constant_columns:
        X = np.hstack([X, np.tile(np.arange(spec.constant_columns, dtype=float), (total, 1))])
    if not spec.regression:
        y = y.astype(np.intp)
    val = (X[spec.n:], y[spec.n:]) if spec.val else None
    return (X[:spec.n], y[:spec.n]), val


def build(spec: RunSpec, n_inputs: int, n_outputs: int):
    return mlp([n_inputs, *spec.hidden, n_outputs], activation=spec.activation, init=spec.init,
               batchnorm=spec.batchnorm, dropout=spec.dropout, bias=spec.bias, seed=spec.seed,
               dtype=np.dtype(spec.dtype))


def measured(spec: RunSpec, history, model, X, y, val) -> set:
    """The faults and symptoms the trained run shows, measured without ``diagnose``.

    - diverged: training stopped on a blown-up loss.
    - not_learning: the trained model, evaluated once more on its own training
      set, has a loss of at least 0.8 of what ignoring the inputs gives (the
      label entropy, or the targets' variance) and, for classification, an
      accuracy less than halfway from the majority class's share to 1.
    - saturated_activations (when put in by construction): that loss is still
      at least 0.8 of chance. With gradient clipping on and the loss below 0.8
      of chance, the exploding gradients put in count as remedied (``REMEDIED``).
    - dead_relu: half or more of a ReLU layer outputs 0 for every training
      example, counted on the whole training set after training, in training
      mode (dropout on): such a unit gets no gradient from any example.
    - overfitting: in a run that learned, accuracy on the training set
      (evaluation mode, after training) at least 0.2 above accuracy on the
      validation set, or 0.1 above it while the validation loss has risen 25%
      above its best (where early stopping would have stopped), or 0.05 above it
      while the validation loss has doubled from its best.
    """
    if history.diverged:
        return {"diverged"}
    found = set()
    loss, accuracy = evaluate(model, X, y)
    if spec.regression:
        chance = float(np.var(y))
        stuck = loss >= 0.8 * chance
    else:
        shares = np.bincount(y) / y.size
        shares = shares[shares > 0]
        entropy, majority = float(-(shares * np.log(shares)).sum()), float(shares.max())
        stuck = loss >= 0.8 * entropy and (accuracy - majority) / (1 - majority) < 0.5
        chance = entropy
    if stuck:
        found.add("not_learning")
    if "saturated_activations" in spec.faults and loss >= 0.8 * chance:
        found.add("saturated_activations")
    if spec.clip_norm is not None and loss < 0.8 * chance:
        found.add(REMEDIED)
    if loss < 0.4 * chance:
        found.add(LEARNED)
    dead = _dead_in_training_mode(model, X)
    if dead.size and dead.max() >= 0.5:
        found.add("dead_relu")
    if val is not None and not spec.regression and not stuck:
        gap = accuracy - evaluate(model, *val)[1]
        val_loss = np.asarray(history.val_loss)
        rose = val_loss[-3:].mean() >= 1.25 * val_loss.min()
        doubled = val_loss[-3:].mean() >= 2.0 * val_loss.min()
        if gap >= 0.2 or (gap >= 0.1 and rose) or (gap >= 0.05 and doubled):
            found.add("overfitting")
    return found


def _dead_in_training_mode(model, X) -> np.ndarray:
    """Per ReLU-family layer: the share of units that output 0 for every row of ``X``."""
    with np.errstate(all="ignore"):
        model.forward(X, training=True)
    return np.array([1.0 - (layer.output != 0).any(axis=0).mean() for layer in model.relu_layers])


@dataclass
class Result:
    """One run of the corpus: the truth, what diagnose said, and what was wrong with it."""

    spec: RunSpec
    truth: set
    cases: list
    confidences: dict
    remedy_problems: list = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return set(self.cases) == self.truth


def truth_of(spec: RunSpec, shown: set, steps: int) -> set:
    """The true cases: gradient faults put in by construction, plus what the run measurably shows.

    Vanishing and exploding gradients and saturated activations are put in
    by construction (inputs x300 or weights of std 3 into tanh units, counted
    only when the run then stays at chance; deep
    saturating nets or tiny weights; large weights in deep ReLU nets, unless
    gradient clipping, the lesson's remedy, let the run learn anyway);
    everything else is measured (see :func:`measured`). A run shorter than 50
    steps is "inconclusive" unless it shows a fault from its first steps (or
    takes steps so tiny it cannot learn) or has already learned (``LEARNED``);
    a run with nothing wrong is "healthy". What only per-layer telemetry shows is not expected without it.
    """
    truth = set(spec.faults) | shown
    if unscaled_by_construction(spec):
        truth.add("unscaled_inputs")
    learned = LEARNED in shown
    truth.discard(LEARNED)
    if REMEDIED in shown:
        truth -= {"exploding_gradients", REMEDIED}  # clipping, the lesson's remedy, did its job
    if "saturated_activations" not in shown:
        truth.discard("saturated_activations")  # saturated but learning: only a warning sign
    if not spec.telemetry:
        truth -= {"vanishing_gradients", "exploding_gradients", "dead_relu",
                  "saturated_activations"}
    if truth & {"exploding_gradients", "diverged"}:
        truth.discard("dead_relu")      # part of the blow-up's story, not a finding of its own
    if steps < 50:
        truth -= {"dead_relu", "overfitting"}
        if spec.lr > 1e-4:
            truth.discard("not_learning")   # too short to tell, unless the steps are tiny
    if not truth:
        return {"inconclusive"} if steps < 50 and not learned else {"healthy"}
    return truth


def unscaled_by_construction(spec: RunSpec) -> bool:
    """The inputs were scaled far apart (x100 or more between features) or far up (x100)."""
    factors = np.abs(spec.scale * np.asarray(spec.feature_scales or (1.0,), dtype=float))
    return bool(factors.max() >= 100 or factors.max() / factors.min() >= 100)


def in_place(action: str, spec: RunSpec) -> bool:
    """Whether the remedy ``action`` is what ``spec`` already does (read from the spec itself)."""
    return {
        "add_batchnorm": spec.batchnorm,
        "use_relu": spec.activation in ("relu", "leaky_relu"),
        "leaky_relu": spec.activation == "leaky_relu",
        "clip": spec.clip_norm is not None,
        "add_dropout": spec.dropout > 0,
        "normalize_inputs": not unscaled_by_construction(spec),
        "he_init": spec.init == "he",
    }.get(action, False)


def judge(spec: RunSpec) -> Result:
    """Train ``spec``, diagnose it, and compare with the truth."""
    from . import diagnose

    (X, y), val = make_data(spec)
    model = build(spec, X.shape[1], 1 if spec.regression else int(y.max()) + 1)
    optimizer = SGD(spec.lr, momentum=spec.momentum, clip_norm=spec.clip_norm)
    history = train(model, X, y, epochs=spec.epochs, batch_size=spec.batch_size,
                    optimizer=optimizer, val=val, seed=spec.seed, telemetry=spec.telemetry)
    truth = truth_of(spec, measured(spec, history, model, X, y, val), history.steps)
    diagnosis = diagnose(history)
    problems = []
    actions = [action for finding in diagnosis.findings for action in finding.actions]
    problems += [f"in place: {action}" for action in actions if in_place(action, spec)]
    problems += [f"conflict: {a} and {b}" for a, b in CONFLICTS if a in actions and b in actions]
    confidences = {finding.case: finding.confidence for finding in diagnosis.findings}
    return Result(spec, truth, diagnosis.cases, confidences, problems)


# ---------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------

def _pick(rng, options):
    return options[int(rng.integers(len(options)))]


def _healthy(seed: int) -> RunSpec:
    rng = np.random.default_rng(1000 + seed)
    activation = ("relu", "leaky_relu", "tanh", "sigmoid")[seed % 4]
    data = _pick(rng, ("blobs", "blobs", "moons", "xor", "regression"))
    depth = int(_pick(rng, (2, 2, 3, 4))) if activation != "sigmoid" else 2
    width = int(_pick(rng, (8, 16, 32, 64, 128, 512)))
    batch = int(_pick(rng, (1, 8, 32, 32, 64, 200)))
    n = 200 if batch > 1 else 100
    steps_per_epoch = -(-n // batch)
    if width >= 256:
        depth = 2
    epochs = max(3, int(np.ceil((300 if width <= 64 else 120) / steps_per_epoch)))
    batchnorm = depth >= 3 and batch > 1 and bool(rng.integers(2))
    init = "he" if activation in ("relu", "leaky_relu") else "xavier"
    lr = {"relu": 0.1, "leaky_relu": 0.1, "tanh": 0.1, "sigmoid": 0.5}[activation]
    if batch == 1:
        lr, epochs = (0.02 if activation != "sigmoid" else 0.05), 6
    if data == "regression":
        lr = min(lr, 0.05)
    return RunSpec(f"healthy {activation} {depth}x{width} {data} batch {batch}", frozenset(),
                   data=data, n=n, features=int(_pick(rng, (2, 4, 8))),
                   classes=int(_pick(rng, (2, 2, 3))) if data == "blobs" else 2,
                   minority=float(_pick(rng, (0.5, 0.5, 0.2))), val=int(_pick(rng, (0, 200))),
                   hidden=(width,) * depth, activation=activation, init=init, batchnorm=batchnorm,
                   lr=lr, batch_size=batch, epochs=epochs,
                   dtype=_pick(rng, ("float32", "float64")), seed=seed,
                   dropout=0.1 if rng.integers(4) == 0 else 0.0,
                   telemetry=bool(rng.integers(6)))


def _deep_healthy(seed: int) -> RunSpec:
    rng = np.random.default_rng(2000 + seed)
    depth = int(_pick(rng, (6, 8, 10, 12)))
    return RunSpec(f"healthy deep relu batchnorm {depth}x32", frozenset(), data="blobs",
                   hidden=(32,) * depth, batchnorm=True, lr=0.05, epochs=30, seed=seed,
                   dtype=_pick(rng, ("float32", "float64")))


def _short(seed: int) -> RunSpec:
    base = _healthy(seed + 50)
    return replace(base, name=f"short: {base.name}", epochs=1 if base.batch_size <= 8 else 2,
                   n=200 if base.batch_size > 1 else 30, telemetry=True)


def _vanishing(seed: int) -> RunSpec:
    rng = np.random.default_rng(3000 + seed)
    kind = seed % 3
    depth = int(_pick(rng, (6, 8, 10, 12)))
    width = int(_pick(rng, (8, 16, 32, 64)))
    if kind == 0:
        settings = dict(activation="sigmoid", init="xavier", lr=0.1)
    elif kind == 1:
        settings = dict(activation="tanh", init=0.05, lr=0.1)
    else:
        settings = dict(activation="relu", init=0.02, lr=0.1)
    return RunSpec(f"vanishing {settings['activation']} {depth}x{width}",
                   frozenset({"vanishing_gradients"}), data=_pick(rng, ("moons", "xor", "blobs")),
                   hidden=(width,) * depth, epochs=int(_pick(rng, (10, 20))),
                   batch_size=int(_pick(rng, (16, 32))), seed=seed,
                   dtype=_pick(rng, ("float32", "float64")), **settings)


def _exploding(seed: int) -> RunSpec:
    rng = np.random.default_rng(4000 + seed)
    depth = int(_pick(rng, (6, 8, 10)))
    width = int(_pick(rng, (16, 32, 64)))
    return RunSpec(f"exploding relu {depth}x{width}", frozenset({"exploding_gradients"}),
                   data=_pick(rng, ("moons", "blobs", "xor")), hidden=(width,) * depth,
                   init=float(_pick(rng, (1.0, 1.2, 1.5))), lr=float(_pick(rng, (0.1, 0.2))),
                   epochs=10, seed=seed, dtype=_pick(rng, ("float32", "float64")))


def _dead(seed: int) -> RunSpec:
    rng = np.random.default_rng(5000 + seed)
    width = int(_pick(rng, (64, 96, 128)))
    if seed % 3 == 2:
        return RunSpec(f"dead relu bias -3 {width}x2", frozenset(),
                       data=_pick(rng, ("moons", "blobs")), hidden=(width, width), bias=-3.0,
                       lr=0.1, epochs=20, seed=seed, dtype=_pick(rng, ("float32", "float64")))
    return RunSpec(f"dead relu lr 5 {width}", frozenset(),
                   data=_pick(rng, ("moons", "xor", "circles")), n=300, hidden=(width,),
                   lr=5.0, epochs=20, seed=seed,
                   dtype=_pick(rng, ("float32", "float64")))


def _overfitting(seed: int, dead: bool = False) -> RunSpec:
    rng = np.random.default_rng(6000 + seed + (500 if dead else 0))
    width = int(_pick(rng, (128, 256)))
    faults = set()
    return RunSpec(f"overfitting {width}x2" + (" lr 0.6 (dead)" if dead else ""),
                   frozenset(faults), data=_pick(rng, ("moons", "xor")), val=200,
                   label_noise=0.15, features=int(_pick(rng, (2, 4))), hidden=(width, width),
                   lr=0.6 if dead else 0.1, batch_size=10 if dead else 8, n=50 if dead else 40,
                   epochs=150 if dead else 300, seed=seed,
                   dtype=_pick(rng, ("float32", "float64")),
                   telemetry=bool(rng.integers(5)))


def _not_learning(seed: int) -> RunSpec:
    rng = np.random.default_rng(7000 + seed)
    kind = seed % 6
    dtype = _pick(rng, ("float32", "float64"))
    if kind == 0:
        return RunSpec("not learning: lr 1e-5", frozenset(), data="blobs",
                       hidden=(32, 32), lr=1e-5, epochs=int(_pick(rng, (2, 20))), seed=seed,
                       dtype=dtype)
    if kind == 1:
        return RunSpec("not learning: raw inputs x300, tanh",
                       frozenset({"saturated_activations"}),
                       data="circles", hidden=(32, 32), activation="tanh",
                       init="xavier", scale=300.0, epochs=20, seed=seed, dtype=dtype)
    if kind == 2:
        minority = float(_pick(rng, (0.05, 0.2, 0.5)))
        return RunSpec(f"not learning: labels independent of inputs, {minority:.0%} positives",
                       frozenset(), data="noise", features=4, minority=minority,
                       hidden=(16, 16), lr=0.05, epochs=10, seed=seed, dtype=dtype)
    if kind == 3:
        return RunSpec("not learning: regression on unrelated targets",
                       frozenset(), data="regression_noise", features=4,
                       hidden=(16, 16), lr=0.02, epochs=10, seed=seed, dtype=dtype)
    if kind == 4:
        return RunSpec("not learning: saturated tanh, init std 3",
                       frozenset({"saturated_activations"}),
                       data=_pick(rng, ("xor", "circles")), hidden=(64, 64, 64),
                       activation="tanh", init=3.0, lr=float(_pick(rng, (0.1, 0.001))),
                       epochs=20, seed=seed, dtype=dtype)
    return RunSpec("not learning: batch size 1, lr 1e-6", frozenset(),
                   data="blobs", n=60, hidden=(16,), lr=1e-6, batch_size=1, epochs=2, seed=seed,
                   dtype=dtype)


def _diverged(seed: int) -> RunSpec:
    rng = np.random.default_rng(8000 + seed)
    return RunSpec("diverged: lr 40", frozenset(),
                   data=_pick(rng, ("moons", "blobs", "regression")),
                   hidden=(int(_pick(rng, (4, 16, 64))),), lr=float(_pick(rng, (40.0, 80.0))),
                   epochs=10, seed=seed, dtype=_pick(rng, ("float32", "float64")))


def _remedy_in_place(seed: int) -> RunSpec:
    """Runs where a textbook remedy is already on: the diagnosis must not propose it again."""
    kind = seed % 3
    if kind == 0:
        base = _overfitting(seed + 200)
        return replace(base, name=f"{base.name}, dropout 0.1 on", dropout=0.1, telemetry=True,
                       data="moons")
    if kind == 1:
        base = _exploding(seed + 200)
        return replace(base, name=f"{base.name}, clipping on", clip_norm=1.0, lr=0.5)
    return RunSpec("not learning: lr 1e-5 with batch norm", frozenset(), data="blobs",
                   hidden=(32, 32, 32), batchnorm=True, lr=1e-5, epochs=10, seed=seed)


def _unscaled(seed: int) -> RunSpec:
    """One feature on a scale far from the others' (millimetres beside metres), any activation,
    at learning rates from too large to too small for it: the root cause is the scale."""
    rng = np.random.default_rng(9000 + seed)
    features = int(_pick(rng, (2, 3)))
    factor = float(_pick(rng, (300.0, 1000.0)))
    scales = tuple(factor if column == 0 else 1.0 for column in range(features))
    activation = _pick(rng, ("relu", "relu", "tanh"))
    lr = float(_pick(rng, (0.1, 0.01, 0.001)))
    # A tanh layer fed the large feature saturates (put in by construction, counted only
    # when the run then stays at chance, as for inputs x300).
    faults = frozenset({"saturated_activations"}) if activation == "tanh" else frozenset()
    return RunSpec(f"unscaled: one feature x{factor:g}, {activation}, lr {lr:g}", faults,
                   data=_pick(rng, ("moons", "blobs")), features=features, feature_scales=scales,
                   hidden=(32, 32), activation=activation,
                   init="he" if activation == "relu" else "xavier", lr=lr, epochs=20, seed=seed,
                   dtype=_pick(rng, ("float32", "float64")))


def _constant_columns(seed: int) -> RunSpec:
    """Standardized inputs beside constant columns (a column of zeros, of ones, ...): healthy,
    and not "unscaled": a constant column has no scale."""
    base = _healthy(seed + 300)
    return replace(base, name=f"{base.name}, {1 + seed % 3} constant columns",
                   constant_columns=1 + seed % 3)


def _vanishing_no_telemetry(seed: int) -> RunSpec:
    return replace(_vanishing(seed + 100), telemetry=False)


FAMILIES = {
    "healthy": (_healthy, 60), "healthy deep": (_deep_healthy, 8), "short": (_short, 16),
    "vanishing": (_vanishing, 27), "exploding": (_exploding, 20), "dead": (_dead, 21),
    "overfitting": (_overfitting, 14),
    "dead + overfitting": (lambda seed: _overfitting(seed, dead=True), 10),
    "not learning": (_not_learning, 36), "diverged": (_diverged, 12),
    "vanishing, no telemetry": (_vanishing_no_telemetry, 6),
    "remedy already in place": (_remedy_in_place, 12),
    "unscaled inputs": (_unscaled, 12), "constant columns": (_constant_columns, 6),
}


def specs() -> list[RunSpec]:
    """Every run of the corpus, in a fixed order (the same list every time)."""
    return [maker(seed) for maker, count in FAMILIES.values() for seed in range(count)]


def subset(every: int = 12) -> list[RunSpec]:
    """Every ``every``-th run: a cross-section small enough for the test suite."""
    return specs()[::every]


# ---------------------------------------------------------------------------
# Adding it up
# ---------------------------------------------------------------------------

def summary(results: list[Result]) -> dict:
    """Exact matches, the confusion matrix, remedy problems and the reliability table.

    ``confusion[truth][found]`` counts the runs whose truth includes case
    ``truth`` and whose diagnosis includes ``found`` (a run with two true cases
    counts in two rows). ``reliability[case][band]`` is ``[findings, right]``.
    A healthy run "given a fault" got any case but healthy or inconclusive.
    """
    names = list(CASE_NAMES)
    confusion = {t: {f: 0 for f in names} for t in names}
    reliability = {case: {band: [0, 0] for band, _, _ in BANDS} for case in names}
    for result in results:
        for true_case in result.truth:
            for found in set(result.cases):
                confusion[true_case][found] += 1
        for case, confidence in result.confidences.items():
            band = next(name for name, low, high in BANDS if low <= confidence < high) \
                if confidence >= 0.5 else "low"
            reliability[case][band][0] += 1
            reliability[case][band][1] += case in result.truth
    broken = [r for r in results if r.truth != {"healthy"}]
    healthy = [r for r in results if r.truth == {"healthy"}]
    return {
        "runs": len(results), "exact": sum(r.exact for r in results),
        "exact_rate": sum(r.exact for r in results) / max(len(results), 1),
        "broken_called_healthy": sum(r.cases == ["healthy"] for r in broken),
        "broken": len(broken), "healthy": len(healthy),
        "healthy_given_fault": sum(bool(set(r.cases) - {"healthy", "inconclusive"})
                                   for r in healthy),
        "remedy_problems": sum(bool(r.remedy_problems) for r in results),
        "confusion": confusion, "reliability": reliability,
        "truth_counts": {case: sum(case in r.truth for r in results) for case in names},
        "wrong": [(r.spec.name, r.spec.seed, sorted(r.truth), r.cases)
                  for r in results if not r.exact],
        "problems": [(r.spec.name, r.remedy_problems) for r in results if r.remedy_problems],
    }
