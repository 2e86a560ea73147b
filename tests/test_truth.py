"""The engine stays true whatever a learner does to a model (issue 10).

Every way of touching a model either trains exactly (the same numbers as an
untouched model built the same way, and telemetry equal to the layers' real
gradients) or raises a clear error at once. Optimizer state belongs to one model.
"""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import numpy as np
import pytest

import nnlab
from nnlab import SGD, Dense, ReLU
from test_errors import assert_clear_error

X, Y = nnlab.datasets.spirals(n=120, noise=0.1, seed=0)


def net(seed=0, sizes=(2, 8, 8, 2)):
    return nnlab.mlp(list(sizes), seed=seed)


def run(model, y=Y, **kwargs):
    arguments = dict(epochs=3, batch_size=40, lr=0.1, seed=1)
    arguments.update(kwargs)
    return nnlab.train(model, X, y, **arguments)


def weights(model):
    return [p.copy() for layer in model.layers for p in layer.params.values()]


def assert_trains_exactly(model):
    """``model`` trains to the same numbers as an independent copy of it, its weights
    move, and its telemetry is its layers' real gradients."""
    reference = copy.deepcopy(model)               # independent layers, same numbers
    before = weights(model)
    history = run(model)
    expected = run(reference)
    assert history.same_as(expected), (history, expected)
    for now, then, ref in zip(weights(model), before, weights(reference)):
        np.testing.assert_array_equal(now, ref)
        assert not np.array_equal(now, then)       # every parameter trained
    # the last row of telemetry is the last step's gradients, as the layers hold them
    real = [np.linalg.norm(layer.grads["W"]) for layer in model.dense_layers]
    np.testing.assert_allclose(history.grad_norms[-1], real, rtol=1e-12)
    assert np.all(history.grad_norms > 0)
    return history


# --------------------------------------------------------------------------- copies


def test_training_the_original_after_a_shallow_copy():
    model = net()
    twin = copy.copy(model)
    assert twin.layers[0] is model.layers[0]       # a shallow copy shares the layers
    assert_trains_exactly(model)
    assert_trains_exactly(twin)                    # and either can be trained


def test_a_deep_copy_trains_independently():
    model = net()
    twin = copy.deepcopy(model)
    before = weights(model)
    assert_trains_exactly(twin)
    for now, then in zip(weights(model), before):
        np.testing.assert_array_equal(now, then)   # the original did not move
    assert_trains_exactly(model)


def test_a_pickled_model_trains_independently():
    model = net()
    run(model, epochs=1)
    twin = pickle.loads(pickle.dumps(model))
    for mine, theirs in zip(weights(model), weights(twin)):
        np.testing.assert_array_equal(mine, theirs)
    before = weights(model)
    assert_trains_exactly(twin)
    for now, then in zip(weights(model), before):
        np.testing.assert_array_equal(now, then)


def test_a_second_sequential_over_shared_layers():
    model = net()
    part = nnlab.Sequential(model.layers[:2])
    assert [layer.name for layer in part.layers] == ["dense1", "relu1"]   # names kept
    assert_trains_exactly(model)
    # and the part still sees (and trains) the shared layer's current numbers
    np.testing.assert_array_equal(part.parameters().values[:16],
                                  model.layers[0].params["W"].ravel())
    nnlab.train(nnlab.Sequential(model.layers[2:]), np.maximum(X @ np.ones((2, 8)), 0), Y,
                epochs=1)
    assert_trains_exactly(model)


# --------------------------------------------------------------------------- rebinding


def test_rebinding_a_parameter_trains_the_new_array():
    model = net()
    layer = model.layers[0]
    layer.params["W"] = layer.params["W"] * 0.5
    history = assert_trains_exactly(model)
    assert history.grad_norms[0, 0] > 0


def test_replacing_a_layers_dicts_and_swapping_arrays():
    model = net(sizes=(2, 8, 8, 8, 2))
    second, third = model.dense_layers[1], model.dense_layers[2]
    second.params["W"], third.params["W"] = third.params["W"], second.params["W"]
    model.layers[0].params = {"W": np.ones((2, 8)), "b": np.zeros(8)}
    model.layers[0].grads = {}
    assert_trains_exactly(model)


def test_writing_in_place_is_seen_by_everything():
    model = net()
    model.layers[0].params["W"][...] = 0.25
    assert np.all(model.parameters().values[:16] == 0.25)
    assert_trains_exactly(model)


def test_a_parameter_of_the_wrong_shape_is_refused_at_once():
    model = net()
    model.layers[0].params["W"] = np.zeros((3, 8))
    with pytest.raises(ValueError, match=r"dense1.params\['W'\] has shape \(3, 8\).*\(2, 8\)"):
        run(model)


def test_a_parameter_of_another_dtype_or_type_is_refused():
    model = net()
    model.layers[0].params["W"] = model.layers[0].params["W"].astype(np.float32)
    with pytest.raises(ValueError, match="mix dtypes"):
        run(model)
    model.layers[0].params["W"] = [[0.0] * 8] * 2
    with pytest.raises(TypeError, match=r"dense1.params\['W'\] must be a float NumPy array"):
        run(model)


def test_one_array_in_two_layers_is_refused():
    model = net(sizes=(2, 8, 8, 8, 2))
    model.dense_layers[2].params["W"] = model.dense_layers[1].params["W"]
    with pytest.raises(ValueError, match="same array as dense2.params"):
        run(model)


# --------------------------------------------------------------------------- layers


def test_appending_layers_trains_them():
    model = net(sizes=(2, 8, 4))
    model.layers += [ReLU(), Dense(4, 2, rng=3)]
    history = assert_trains_exactly(model)
    assert history.layer_names == ["dense1", "dense2", "dense3"]
    assert history.activation_names == ["relu1", "relu2"]


def test_appended_layers_train_without_telemetry_too():
    model = net(sizes=(2, 8, 4))
    model.layers += [ReLU(), Dense(4, 2, rng=3)]
    before = model.layers[-1].params["W"].copy()
    history = run(model, telemetry=False)
    assert not np.array_equal(model.layers[-1].params["W"], before)
    assert history.steps == 9 and history.grad_norms.shape == (0, 0)


def test_removing_layers():
    model = net(sizes=(2, 8, 8, 2))
    del model.layers[2:4]                                   # dense2 and relu2
    history = assert_trains_exactly(model)
    assert history.layer_names == ["dense1", "dense3"]


def test_replacing_a_layer():
    model = net()
    model.layers[2] = Dense(8, 8, rng=7)
    history = assert_trains_exactly(model)
    assert history.grad_norms.shape[1] == 3


def test_layers_that_do_not_chain_are_refused_at_once():
    model = net(sizes=(2, 8, 4))
    model.layers += [ReLU(), Dense(5, 2)]
    with pytest.raises(ValueError, match=r"layer 4 \(Dense\(5 -> 2.*takes 5 inputs.*gives 4"):
        run(model)


def test_one_layer_twice_is_refused():
    layer = Dense(2, 2)
    with pytest.raises(ValueError, match="layer 2 is the same object as layer 0"):
        nnlab.Sequential([layer, ReLU(), layer])


# --------------------------------------------------------------------------- optimizer state


def test_an_optimizer_reused_on_another_model_starts_fresh():
    optimizer = SGD(0.1, momentum=0.9)
    run(net(seed=0), lr=None, optimizer=optimizer)
    assert optimizer.velocity                                # it has a velocity now
    second = run(net(seed=1), lr=None, optimizer=optimizer)
    fresh = run(net(seed=1), lr=None, optimizer=SGD(0.1, momentum=0.9))
    assert second.same_as(fresh)


def test_an_optimizer_continues_on_the_same_model_and_restarts_when_its_layers_change():
    model = net()
    optimizer = SGD(0.1, momentum=0.9)
    run(model, lr=None, optimizer=optimizer, epochs=1)
    velocity = optimizer.velocity["flat"].copy()
    model.parameters().grads[:] = 0.0                        # a step with zero gradient
    before = model.parameters().values.copy()
    optimizer.step(model)                                    # moves by 0.9 * velocity
    np.testing.assert_allclose(model.parameters().values - before, 0.9 * velocity)
    model.layers += [ReLU(), Dense(2, 2)]
    model.parameters().grads[:] = 0.0
    before = model.parameters().values.copy()
    optimizer.step(model)                                    # new layers: fresh velocity
    np.testing.assert_array_equal(model.parameters().values, before)


class Stand:
    """A model of one parameter with a fixed gradient (SGD reads layers[i].params/grads)."""

    def __init__(self, w, g):
        self.layers = [type("L", (), {"params": {"W": w}, "grads": {"W": g}})()]


def test_momentum_matches_pytorchs_convention_until_the_learning_rate_changes():
    """nnlab: v <- m v - lr g, W <- W + v.  PyTorch: b <- m b + g, W <- W - lr b."""
    g = np.array([1.0])
    w = np.array([0.0])
    optimizer = SGD(0.1, momentum=0.9)
    model = Stand(w, g)
    torch_w, buffer = 0.0, 0.0
    for step in range(6):
        lr = 0.1 if step < 3 else 0.01
        optimizer.lr = lr
        optimizer.step(model)
        buffer = 0.9 * buffer + 1.0
        torch_w -= lr * buffer
        if step < 3:
            assert w[0] == pytest.approx(torch_w, rel=1e-12)
    assert w[0] != pytest.approx(torch_w, rel=1e-3)       # they part after the change
    assert "PyTorch" in SGD.__doc__ and "clip_norm / (norm + 1e-6)" in SGD.__doc__


def test_sgd_step_returns_what_it_did():
    model = net()
    loss = nnlab.SoftmaxCrossEntropy()
    loss.forward(model.forward(X), Y)
    model.backward(loss.backward())
    norm = np.sqrt(np.sum(model.parameters().grads ** 2))
    step = SGD(0.5, clip_norm=norm / 4).step(model)
    assert isinstance(step, nnlab.StepRecord) and step.applied and step.clipped
    assert step.grad_norm == pytest.approx(norm) and step.scale == pytest.approx(0.5 / 4)
    assert step.update is None
    step = SGD(0.5, momentum=0.5).step(model)
    assert not step.clipped and step.scale == 0.5 and step.update is not None


# --------------------------------------------------------------------------- float32


@pytest.mark.parametrize("size", [1e20, 1e-25, 3e37])
def test_the_global_norm_of_float32_near_its_limits(size):
    """Finite gradients whose squares overflow (or vanish) in float32."""
    model = nnlab.Sequential([Dense(1001, 1, dtype=np.float32)])
    grads = (np.linspace(-1.0, 1.0, 1001) * size).astype(np.float32)
    model.layers[0].grads["W"][:, 0] = grads
    expected = np.sqrt(np.sum(grads.astype(np.float64) ** 2))
    before = model.layers[0].params["W"].astype(np.float64)
    optimizer = SGD(0.1, clip_norm=1.0)
    optimizer.step(model)
    assert optimizer.last_grad_norm == pytest.approx(expected, rel=1e-6)
    assert nnlab.optim.global_norm(grads) == pytest.approx(expected, rel=1e-6)
    if expected > 1.0:              # clipped: the step taken is lr * clip_norm long
        moved = np.linalg.norm(model.layers[0].params["W"].astype(np.float64) - before)
        assert moved == pytest.approx(0.1, rel=1e-4)


def recorded(model, inputs, labels):
    """One full-batch step of ``model``, with its telemetry row."""
    recorder = nnlab.Recorder(model, 1)
    loss = nnlab.SoftmaxCrossEntropy()
    with np.errstate(all="ignore"):
        loss.forward(model.forward(inputs), labels)
        model.backward(loss.backward())
    step = SGD(1e-30).step(model)
    grads = [layer.grads["W"].astype(np.float64) for layer in model.dense_layers]
    recorder.record(step)
    return recorder.arrays(), grads


def test_float32_telemetry_near_the_float32_limits(sums):
    """Activations near 1e36 and gradients near 1e20: their squares overflow float32."""
    model = nnlab.Sequential([Dense(2, 4, dtype=np.float32), ReLU(), Dense(4, 2, dtype=np.float32)])
    model.layers[0].params["W"][...] = np.float32(1e18)
    model.layers[2].params["W"][...] = np.float32(1e-30)
    inputs = np.abs(X[:50]).astype(np.float32) * np.float32(1e18)
    arrays, grads = recorded(model, inputs, Y[:50])
    output = model.layers[1].output.astype(np.float64)
    assert np.isfinite(output).all() and output.max() > 1e35
    np.testing.assert_allclose(arrays["activation_mean"][0], [output.mean()], rtol=1e-6)
    np.testing.assert_allclose(arrays["activation_std"][0], [output.std()], rtol=1e-6)
    np.testing.assert_allclose(arrays["grad_norms"][0], [np.linalg.norm(g) for g in grads],
                               rtol=1e-6)


def test_float32_telemetry_of_a_nearly_constant_layer(sums):
    """Outputs 1000 +- 0.005: E[x^2] - E[x]^2 summed in float32 loses the spread entirely."""
    model = nnlab.Sequential([Dense(2, 16, dtype=np.float32, bias=1000.0), ReLU(),
                              Dense(16, 2, dtype=np.float32)])
    model.layers[0].params["W"] *= np.float32(0.01)
    arrays, _ = recorded(model, X.astype(np.float32), Y)
    output = model.layers[1].output.astype(np.float64)
    assert 1e-4 < output.std() < 1e-1
    # float64 sums of float32 data: the spread survives to a few parts in 1e5 at a mean
    # 2e5 times the spread (summed in float32, as before, it read 0.42 for 0.0047)
    np.testing.assert_allclose(arrays["activation_std"][0], [output.std()], rtol=1e-4)
    np.testing.assert_allclose(arrays["activation_mean"][0], [output.mean()], rtol=1e-9)


@pytest.mark.parametrize("scale", [1e-25, 1e-12, 1e12, 1e30])
def test_float32_telemetry_of_tiny_and_huge_activations(sums, scale):
    """Activations near 1e-25 (their squares underflow float32), 1e30 (they overflow it)
    and in between: mean and spread as a float64 recomputation gives them."""
    model = nnlab.Sequential([Dense(2, 16, dtype=np.float32), ReLU(),
                              Dense(16, 2, dtype=np.float32)])
    model.layers[0].params["W"] *= np.float32(scale)
    model.layers[2].params["W"] /= np.float32(scale)
    arrays, _ = recorded(model, X.astype(np.float32), Y)
    output = model.layers[1].output.astype(np.float64)
    assert 0 < output.max() < 1e3 * scale
    np.testing.assert_allclose(arrays["activation_mean"][0], [output.mean()], rtol=1e-6)
    np.testing.assert_allclose(arrays["activation_std"][0], [output.std()], rtol=1e-5)
    dead = np.mean(np.all(output == 0, axis=0))
    np.testing.assert_array_equal(arrays["dead_fraction"][0], [dead])


# --------------------------------------------------------------------------- interrupts


class InterruptAt(nnlab.SoftmaxCrossEntropy):
    """Cross-entropy that raises KeyboardInterrupt (as Kernel > Interrupt does) on call n."""

    def __init__(self, n):
        super().__init__()
        self.calls, self.n = 0, n

    def forward(self, pred, target):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt
        return super().forward(pred, target)


def test_an_interrupted_run_keeps_its_history():
    model = net()
    with pytest.raises(KeyboardInterrupt) as caught:
        run(model, loss=InterruptAt(8), epochs=5)        # 3 steps per epoch: in epoch 3
    error = caught.value
    assert isinstance(error, nnlab.TrainingInterrupted)
    history = error.history
    assert history is nnlab.last_history
    assert history.interrupted and "interrupted" in repr(history)
    assert history.steps == 7 and history.epochs == 2 and len(history.loss) == 2
    assert history.grad_norms.shape == (7, 3) and history.epoch_dead_fraction.shape == (2, 2)
    assert "Interrupted after 7 steps" in history.message
    assert "nnlab.last_history" in str(error)
    # the same 7 steps as an uninterrupted run's first 7
    full = run(net(), epochs=5)
    np.testing.assert_array_equal(history.step_loss, full.step_loss[:7])
    np.testing.assert_array_equal(history.grad_norms, full.grad_norms[:7])


def test_an_interrupt_still_stops_a_loop_of_runs():
    finished = []
    with pytest.raises(KeyboardInterrupt):
        for n in (1000, 5, 1000):
            finished.append(run(net(), loss=InterruptAt(n)))
    assert len(finished) == 1
    assert nnlab.last_history.interrupted and nnlab.last_history.steps == 4


def test_the_interrupt_is_documented_where_learners_look():
    assert "nnlab.last_history" in nnlab.train.__doc__
    assert "interrupt" in nnlab.train.__doc__.lower()
    lesson = (Path(__file__).parents[1] / "notebooks" / "00_backpropagation.ipynb").read_text()
    assert "Kernel > Interrupt" in lesson and "nnlab.last_history" in lesson


# --------------------------------------------------------------------------- memory


def test_short_runs_keep_every_step():
    history = run(net())
    np.testing.assert_array_equal(history.telemetry_steps, np.arange(history.steps))


def test_long_runs_keep_every_kth_step_under_the_budget(monkeypatch):
    full = run(net(), epochs=20, batch_size=8)                       # 300 steps
    monkeypatch.setattr(nnlab.telemetry, "TELEMETRY_BUDGET", 20_000)
    small = run(net(), epochs=20, batch_size=8)
    assert small.same_as(full) is False
    stride = small.telemetry_steps[1]
    assert stride > 1 and len(small.telemetry_steps) < full.steps
    np.testing.assert_array_equal(small.telemetry_steps, np.arange(0, full.steps, stride))
    for name in ("grad_norms", "bias_grad_norms", "update_ratios", "activation_mean",
                 "activation_std", "dead_fraction"):
        np.testing.assert_array_equal(getattr(small, name),
                                      getattr(full, name)[small.telemetry_steps], err_msg=name)
    np.testing.assert_array_equal(small.epoch_dead_fraction, full.epoch_dead_fraction)
    np.testing.assert_array_equal(small.step_loss, full.step_loss)     # every step's loss
    kept = sum(getattr(small, name).nbytes for name in ("grad_norms", "activation_std"))
    assert kept < 20_000


def test_a_wide_long_run_stays_under_the_budget():
    """2 x 2048 units, batch 8, 20 epochs of 10,000 examples: 25,000 steps. Every step
    would take 1.6 GB; the recorder allocates at most the 200 MB budget (and a float64
    scratch row for the parameters' values and gradients)."""
    model = nnlab.mlp([2, 2048, 2048, 2], seed=0)
    recorder = nnlab.Recorder(model, 25_000)
    allocated = sum(array.nbytes for array in vars(recorder).values()
                    if isinstance(array, np.ndarray))
    scratch = 2 * 8 * model.parameters().values.size
    assert allocated <= nnlab.telemetry.TELEMETRY_BUDGET + scratch
    assert recorder.stride > 1


def test_a_network_that_would_not_fit_is_refused_with_the_estimate():
    with pytest.raises(ValueError, match=r"mlp\(\[2, 30000, 30000, 2\]\).*estimated 20\.1 GB"):
        nnlab.mlp([2, 30000, 30000, 2])
    with pytest.raises(ValueError, match=r"epochs=1,000,000,000.*estimated .* GB"):
        nnlab.train(net(), X, Y, epochs=10 ** 9)


# --------------------------------------------------------------------------- bad inputs

CASES = [
    ("optimizer-text", lambda: run(net(), optimizer="sgd"), TypeError,
     ["optimizer", "'sgd'", "nnlab.SGD"]),
    ("lr-beside-optimizer", lambda: run(net(), lr=0.5, optimizer=SGD(0.1)), ValueError,
     ["lr=0.5", "optimizer=SGD(lr=0.1", "one or the other"]),
    ("evaluate-none", lambda: nnlab.evaluate(None, X, Y), TypeError,
     ["model", "None", "Sequential"]),
    ("no-dense-layer", lambda: run(nnlab.Sequential([ReLU()])), ValueError,
     ["model", "no Dense layer", "ReLU()"]),
    ("loss-label-minus-one",
     lambda: nnlab.SoftmaxCrossEntropy().forward(np.zeros((3, 2)), np.array([0, 1, -1])),
     ValueError, ["target", "[0, 1]", "from -1"]),
    ("loss-label-float",
     lambda: nnlab.SoftmaxCrossEntropy().forward(np.zeros((2, 2)), np.array([0.0, 1.0])),
     TypeError, ["target", "integer", "float64"]),
    ("loss-empty-batch",
     lambda: nnlab.SoftmaxCrossEntropy().forward(np.zeros((0, 2)), np.zeros(0, int)),
     ValueError, ["pred", "empty", "(0, 2)"]),
    ("mse-empty-batch", lambda: nnlab.MeanSquaredError().forward(np.zeros((0, 1)), np.zeros(0)),
     ValueError, ["pred", "empty"]),
    ("spirals-turns-nan", lambda: nnlab.datasets.spirals(turns=float("nan")), ValueError,
     ["turns", "nan", "finite"]),
    ("stretch-scale-nan", lambda: nnlab.datasets.stretch(X, scales=[float("nan"), 1]),
     ValueError, ["scales[0]", "nan", "finite"]),
    ("mlp-seed-negative", lambda: nnlab.mlp([2, 4, 2], seed=-1), ValueError,
     ["seed", "-1", ">= 0"]),
    ("size-astronomical", lambda: nnlab.mlp([2, 10 ** 400, 2]), ValueError,
     ["sizes[1]", "100000", "[1, 1000000]"]),
    ("dense-astronomical", lambda: Dense(10 ** 400, 2), ValueError,
     ["in_features", "[1, 1000000]"]),
    ("gradcheck-eps-tiny", lambda: nnlab.gradcheck(net(), X[:4], Y[:4], eps=1e-300), ValueError,
     ["eps", "1e-300", "[1e-10, 0.01]"]),
    ("mlp-too-big", lambda: nnlab.mlp([2, 30000, 30000, 2]), ValueError,
     ["mlp([2, 30000, 30000, 2])", "GB", "fewer or narrower"]),
    ("epochs-astronomical", lambda: run(net(), epochs=10 ** 9), ValueError,
     ["epochs=1,000,000,000", "GB", "fewer epochs"]),
    ("labels-column", lambda: run(net(), y=Y[:, None]), ValueError,
     ["y", "(120, 1)", "y.ravel()"]),
    ("labels-column-cross-entropy",
     lambda: run(net(), y=Y[:, None], loss=nnlab.SoftmaxCrossEntropy()), ValueError,
     ["y", "(120, 1)", "y.ravel()"]),
    ("labels-one-hot", lambda: run(net(), y=np.eye(2)[Y]), ValueError,
     ["y", "one-hot", "(120, 2)", "y.argmax(axis=1)", "MeanSquaredError"]),
    ("loss-text", lambda: run(net(), loss="mse"), TypeError, ["loss", "'mse'", "MeanSquaredError"]),
]


@pytest.mark.parametrize("call, expected, fragments", [case[1:] for case in CASES],
                         ids=[case[0] for case in CASES])
def test_bad_input_gets_a_clear_error(call, expected, fragments):
    assert_clear_error(call, expected, fragments)


def test_one_hot_targets_may_still_be_regressed_on_purpose():
    history = nnlab.train(net(), X, np.eye(2)[Y], epochs=1, loss=nnlab.MeanSquaredError())
    assert history.steps > 0 and not history.accuracy
