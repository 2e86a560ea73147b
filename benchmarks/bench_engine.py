"""Engine benchmarks: training steps per second, nnlab beside PyTorch, and telemetry overhead.

A *step* is what ``nnlab.train`` does per batch: forward, loss, backward, SGD
update. nnlab is timed through ``nnlab.train(..., telemetry=False)`` itself on
synthetic data sized so that an epoch is a few steps; the step count comes from
the History. PyTorch runs the same network (Linear -> [BatchNorm1d] -> ReLU ->
[Dropout] per hidden layer, then Linear) with CrossEntropyLoss and
torch.optim.SGD in a plain shuffled-index loop (no DataLoader), one thread.

Runs of the frameworks being compared are interleaved: round 1 nnlab then torch,
round 2 torch then nnlab, and so on; each reports the median over its rounds, so
a burst of load from elsewhere on the machine hits both sides alike.

The caller must have set OPENBLAS_NUM_THREADS (and friends) before NumPy was imported.
"""

from __future__ import annotations

import math
import statistics
import time

import numpy as np

import nnlab

# (input features, hidden widths, classes, batch size, steps per epoch)
SHAPES = [
    (2, (16,) * 10, 2, 64, 10),
    (2, (64,) * 6, 2, 256, 10),
    (64, (256,) * 4, 10, 512, 8),
    (784, (1024,) * 3, 10, 1024, 1),
]
VARIANTS = ("plain", "bn+dropout")
DTYPES = ("float32", "float64")
DROPOUT_RATE = 0.1
LR = 0.01

try:
    import torch
except ImportError:      # an optional extra: the PyTorch columns stay empty
    torch = None
else:
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work already started
        pass

TORCH_MISSING = ("torch not installed — PyTorch columns skipped "
                 "(pip install torch==2.13.0 for the CPU build)")


def shape_name(shape) -> str:
    inputs, hidden, classes, batch, _ = shape
    return f"{inputs} x ({len(hidden)} x {hidden[0]}) x {classes}"


def matmul_flops_per_step(shape) -> int:
    """Multiply-adds of the Dense layers, counted as 2*m*n*k per matmul.

    Forward: one matmul per Dense layer. Backward: dL/dW and dL/dx per layer,
    except dL/dx of the first layer (nobody needs the gradient of the data;
    PyTorch skips it, nnlab computes it anyway, and it is not counted).
    BatchNorm, activations, dropout, the loss and the update are not counted.
    """
    inputs, hidden, classes, batch, _ = shape
    sizes = [inputs, *hidden, classes]
    flops = 0
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        per_matmul = 2 * batch * fan_in * fan_out
        flops += per_matmul * (2 if index == 0 else 3)
    return flops


def synthetic_data(shape, dtype, seed=0):
    inputs, _, classes, batch, steps_per_epoch = shape
    rng = np.random.default_rng(seed)
    n = batch * steps_per_epoch
    X = rng.standard_normal((n, inputs)).astype(dtype)
    y = rng.integers(0, classes, size=n)
    return X, y


# ---------------------------------------------------------------------------
# Runners: each takes a number of epochs and returns (steps taken, seconds)
# ---------------------------------------------------------------------------

def nnlab_runner(shape, variant, dtype, telemetry=False, package=nnlab):
    """``package`` is nnlab, or another version of it (bench_baseline's nnlab_baseline)."""
    inputs, hidden, classes, batch, _ = shape
    X, y = synthetic_data(shape, dtype)
    model = package.mlp([inputs, *hidden, classes], activation="relu",
                        batchnorm=variant == "bn+dropout",
                        dropout=DROPOUT_RATE if variant == "bn+dropout" else 0.0,
                        seed=0, dtype=getattr(np, dtype))
    calls = [0]

    def run(epochs):
        calls[0] += 1
        started = time.perf_counter()
        history = package.train(model, X, y, epochs=epochs, batch_size=batch, lr=LR,
                                seed=calls[0], telemetry=telemetry)
        seconds = time.perf_counter() - started
        return history.steps, seconds

    return run


def torch_model(shape, variant, dtype):
    inputs, hidden, classes, _, _ = shape
    torch.manual_seed(0)
    layers = []
    for fan_in, fan_out in zip([inputs, *hidden[:-1]], hidden):
        layers.append(torch.nn.Linear(fan_in, fan_out))
        if variant == "bn+dropout":
            layers.append(torch.nn.BatchNorm1d(fan_out))
        layers.append(torch.nn.ReLU())
        if variant == "bn+dropout":
            layers.append(torch.nn.Dropout(DROPOUT_RATE))
    layers.append(torch.nn.Linear(hidden[-1], classes))
    return torch.nn.Sequential(*layers).to(getattr(torch, dtype)).train()


def _torch_batches(n, batch, generator):
    """One epoch of shuffled index batches."""
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch):
        yield order[start:start + batch]


def torch_runner(shape, variant, dtype):
    batch = shape[3]
    X_np, y_np = synthetic_data(shape, dtype)
    X, y = torch.from_numpy(X_np), torch.from_numpy(y_np).long()
    n = X.shape[0]
    model = torch_model(shape, variant, dtype)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    generator = torch.Generator().manual_seed(0)

    def run(epochs):
        steps = 0
        started = time.perf_counter()
        for _ in range(epochs):
            for index in _torch_batches(n, batch, generator):
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(X[index]), y[index])
                loss.backward()
                optimizer.step()
                loss.item()          # nnlab.train reads every loss too
                steps += 1
        return steps, time.perf_counter() - started

    return run


# ---------------------------------------------------------------------------
# Interleaved measurement
# ---------------------------------------------------------------------------

def interleaved(runners: dict, steps_per_epoch: int, seconds_per_round: float, rounds: int,
                min_steps: int = 1) -> dict:
    """Steps/s of each runner: calibrate, then ``rounds`` alternating rounds; medians.

    Each runner first runs one epoch (warm-up and calibration); its epochs per
    round are then chosen to take about ``seconds_per_round``.
    """
    epochs = {}
    for name, run in runners.items():
        steps, seconds = run(1)
        per_step = seconds / max(steps, 1)
        want_steps = max(min_steps, seconds_per_round / per_step)
        epochs[name] = max(1, round(want_steps / steps_per_epoch))
    rates = {name: [] for name in runners}
    steps_taken = {name: 0 for name in runners}
    names = list(runners)
    for round_index in range(rounds):
        for name in (names if round_index % 2 == 0 else names[::-1]):
            steps, seconds = runners[name](epochs[name])
            steps_taken[name] += steps
            rates[name].append(steps / seconds if steps and seconds > 0 else float("nan"))
    return {name: {"steps_per_s": statistics.median(rates[name]),
                   "rounds": [round(rate, 3) for rate in rates[name]],
                   "steps_per_round": epochs[name] * steps_per_epoch,
                   "steps": steps_taken[name]} for name in runners}


def matmul_peak(dtype: str, size: int = 1024, repeats: int = 5) -> float:
    """Best GFLOP/s of ``size x size`` np.matmul on the current BLAS threads."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    out = np.empty((size, size), dtype=dtype)
    np.matmul(a, b, out=out)                 # warm-up
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - started)
    return 2 * size ** 3 / best / 1e9


def matmul_floor(shape, dtype: str, repeats: int = 7) -> float:
    """Seconds per step of the step's own matmuls alone (the ones ``matmul_flops_per_step``
    counts, at their real sizes): the floor a step cannot go below on this machine's BLAS."""
    inputs, hidden, classes, batch, _ = shape
    sizes = [inputs, *hidden, classes]
    rng = np.random.default_rng(0)
    products = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        x = rng.standard_normal((batch, fan_in)).astype(dtype)
        w = rng.standard_normal((fan_in, fan_out)).astype(dtype)
        g = rng.standard_normal((batch, fan_out)).astype(dtype)
        products.append((x, w, np.empty((batch, fan_out), dtype)))            # forward
        products.append((x.T, g, np.empty((fan_in, fan_out), dtype)))         # dL/dW
        if index:
            products.append((g, w.T, np.empty((batch, fan_in), dtype)))       # dL/dx
    loops = max(1, int(2e7 / max(matmul_flops_per_step(shape), 1)))
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(loops):
            for a, b, out in products:
                np.matmul(a, b, out=out)
        best = min(best, (time.perf_counter() - started) / loops)
    return best


def engine(seconds_per_config: float = 2.0, rounds: int = 5, dtypes=DTYPES, shapes=SHAPES,
           log=print) -> dict:
    """Every shape x variant x dtype; ``seconds_per_config`` per framework, split over rounds."""
    if torch is None:
        log(TORCH_MISSING)
    peak = {dtype: matmul_peak(dtype) for dtype in dtypes}
    rows = []
    for shape in shapes:
        for variant in VARIANTS:
            for dtype in dtypes:
                runners = {"nnlab": nnlab_runner(shape, variant, dtype)}
                if torch is not None:
                    runners["torch"] = torch_runner(shape, variant, dtype)
                result = interleaved(runners, shape[4], seconds_per_config / rounds, rounds)
                flops = matmul_flops_per_step(shape)
                row = {"shape": shape_name(shape), "sizes": [shape[0], *shape[1], shape[2]],
                       "batch": shape[3], "variant": variant, "dtype": dtype,
                       "matmul_flops_per_step": flops}
                for framework in ("nnlab", "torch"):
                    measured = result.get(framework)
                    rate = measured["steps_per_s"] if measured else None
                    row[f"{framework}_steps_per_s"] = rate
                    row[f"{framework}_gflops"] = rate * flops / 1e9 if rate else None
                    row[f"{framework}_detail"] = measured
                row["ratio"] = (row["nnlab_steps_per_s"] / row["torch_steps_per_s"]
                                if row["torch_steps_per_s"] else None)
                floor = matmul_floor(shape, dtype)
                row["matmul_floor_ms_per_step"] = 1e3 * floor
                for framework in ("nnlab", "torch"):
                    rate = row[f"{framework}_steps_per_s"]
                    row[f"{framework}_of_floor"] = floor * rate if rate else None
                rows.append(row)
                torch_text = (f"torch {row['torch_steps_per_s']:9.1f}  ratio {row['ratio']:.2f}"
                              if row["ratio"] is not None else "")
                log(f"  {row['shape']:<24} b{row['batch']:<5} {variant:<10} {dtype}: "
                    f"nnlab {row['nnlab_steps_per_s']:9.1f} steps/s  {torch_text}")
    return {"rows": rows, "peak_gflops": peak, "seconds_per_config": seconds_per_config,
            "rounds": rounds, "dropout_rate": DROPOUT_RATE, "lr": LR,
            "torch": torch.__version__ if torch is not None else None,
            "torch_threads": torch.get_num_threads() if torch is not None else None,
            "flops_note": ("2*m*n*k per Dense matmul: forward, dL/dW, dL/dx (not dL/dx of the "
                           "first layer); other layers not counted")}


def telemetry(seconds_per_config: float = 1.0, rounds: int = 5, dtypes=DTYPES, log=print) -> dict:
    """Step rate with the recorder off and on, interleaved, on the smallest shape."""
    shape = SHAPES[0]
    rows = []
    for variant in VARIANTS:
        for dtype in dtypes:
            runners = {"off": nnlab_runner(shape, variant, dtype, telemetry=False),
                       "on": nnlab_runner(shape, variant, dtype, telemetry=True)}
            result = interleaved(runners, shape[4], seconds_per_config / rounds, rounds)
            off, on = result["off"]["steps_per_s"], result["on"]["steps_per_s"]
            row = {"shape": shape_name(shape), "batch": shape[3], "variant": variant,
                   "dtype": dtype, "off_steps_per_s": off, "on_steps_per_s": on,
                   "off_ms_per_step": 1e3 / off, "on_ms_per_step": 1e3 / on,
                   "overhead": off / on - 1.0, "detail": result}
            rows.append(row)
            log(f"  {row['shape']:<24} b{row['batch']:<5} {variant:<10} {dtype}: off "
                f"{row['off_ms_per_step']:.3f} ms, on {row['on_ms_per_step']:.3f} ms per step, "
                f"overhead {row['overhead']:+.0%}")
    return {"rows": rows}


# ---------------------------------------------------------------------------
# End to end, as a lab uses the engine
# ---------------------------------------------------------------------------

# A lab's run: 300 two-feature examples, batches of 32 (10 steps per epoch), 30 epochs.
LAB_SHAPES = [(2, (32,) * 6, 2, 32, 10), (2, (16,) * 10, 2, 64, 10)]
LAB_EPOCHS = 30


def nnlab_lab_run(shape, dtype):
    """Build the model, train it with telemetry, return the History: what a lab click costs."""
    inputs, hidden, classes, batch, _ = shape
    X, y = synthetic_data(shape, dtype)

    def run():
        started = time.perf_counter()
        model = nnlab.mlp([inputs, *hidden, classes], activation="relu", seed=0,
                          dtype=getattr(np, dtype))
        history = nnlab.train(model, X, y, epochs=LAB_EPOCHS, batch_size=batch, lr=LR, seed=0)
        return history.steps, time.perf_counter() - started
    return run


def torch_lab_run(shape, dtype):
    """The same in PyTorch, recording what nnlab's telemetry records per step and layer
    (loss, ||dL/dW||, ||dL/db||, ||dW||/||W||, activation mean/std, dead fraction), as NumPy."""
    inputs, hidden, classes, batch, _ = shape
    X_np, y_np = synthetic_data(shape, dtype)
    X, y = torch.from_numpy(X_np), torch.from_numpy(y_np).long()
    n = X.shape[0]

    def run():
        started = time.perf_counter()
        model = torch_model(shape, "plain", dtype)
        linears = [m for m in model if isinstance(m, torch.nn.Linear)]
        relus = [m for m in model if isinstance(m, torch.nn.ReLU)]
        outputs = {}
        for index, relu in enumerate(relus):
            relu.register_forward_hook(lambda m, i, o, index=index: outputs.__setitem__(index, o))
        optimizer = torch.optim.SGD(model.parameters(), lr=LR)
        loss_fn = torch.nn.CrossEntropyLoss()
        generator = torch.Generator().manual_seed(0)
        rows = []
        for _ in range(LAB_EPOCHS):
            for index in _torch_batches(n, batch, generator):
                optimizer.zero_grad(set_to_none=True)
                loss = loss_fn(model(X[index]), y[index])
                loss.backward()
                before = [layer.weight.detach().clone() for layer in linears]
                optimizer.step()
                with torch.no_grad():
                    grads = torch.stack([layer.weight.grad.norm() for layer in linears])
                    bias = torch.stack([layer.bias.grad.norm() for layer in linears])
                    ratio = torch.stack([(layer.weight - w).norm() / w.norm()
                                         for layer, w in zip(linears, before)])
                    acts = [outputs[i] for i in range(len(relus))]
                    mean = torch.stack([a.mean() for a in acts])
                    std = torch.stack([a.std() for a in acts])
                    dead = torch.stack([(a <= 0).all(dim=0).float().mean() for a in acts])
                rows.append((loss.item(), grads.numpy(), bias.numpy(), ratio.numpy(),
                             mean.numpy(), std.numpy(), dead.numpy()))
        columns = [np.array(column) for column in zip(*rows)]
        return len(columns[0]), time.perf_counter() - started
    return run


def end_to_end(repeats: int = 7, dtype: str = "float64", shapes=LAB_SHAPES, log=print) -> dict:
    """Milliseconds per lab-sized run (build, train with telemetry, History), median of repeats."""
    rows = []
    for shape in shapes:
        runners = {"nnlab": nnlab_lab_run(shape, dtype)}
        if torch is not None:
            runners["torch"] = torch_lab_run(shape, dtype)
        times = {name: [] for name in runners}
        for name, run in runners.items():
            run()                                       # warm-up
        for repeat in range(repeats):
            for name in (list(runners) if repeat % 2 == 0 else list(runners)[::-1]):
                times[name].append(runners[name]()[1])
        row = {"shape": shape_name(shape), "batch": shape[3], "epochs": LAB_EPOCHS,
               "steps": LAB_EPOCHS * shape[4], "dtype": dtype,
               "nnlab_ms": 1e3 * statistics.median(times["nnlab"]),
               "torch_ms": 1e3 * statistics.median(times["torch"]) if "torch" in times else None}
        row["ratio"] = row["torch_ms"] / row["nnlab_ms"] if row["torch_ms"] else None
        rows.append(row)
        log(f"  end to end {row['shape']:<22} b{row['batch']:<4} {row['steps']} steps: nnlab "
            f"{row['nnlab_ms']:.1f} ms" + (f", torch {row['torch_ms']:.1f} ms" if row["torch_ms"] else ""))
    return {"rows": rows, "repeats": repeats}
