"""Work done in the background while a learner reads is the work a click would do."""

from __future__ import annotations

import time

from nnlab import experiments, labs, speculate


def wait_until_idle(speculator, seconds=180):
    deadline = time.monotonic() + seconds      # not a timing assertion: a bound on waiting
    while not speculator.idle() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert speculator.idle()


def test_background_runs_equal_direct_runs():
    lab = labs.dead_relu()
    wanted = lab.neighbours()[:3]
    speculator = speculate.Speculator()
    speculator.ahead([(config, lambda config=config: speculator.train(config)) for config in wanted])
    wait_until_idle(speculator)
    assert speculator.tasks == len(set(wanted)) and not speculator.errors
    for config in wanted:
        fresh = experiments.trained(config)      # trained again, bypassing the cache
        assert speculator.outcome(config).history.same_as(fresh.history)


def test_a_lab_shown_in_a_browser_draws_the_next_figures_ahead(monkeypatch):
    speculator = speculate.Speculator()
    monkeypatch.setattr(speculate, "SPECULATOR", speculator)
    lab = labs.dropout()
    lab.output._view_count = 1                # what the browser reports when it shows the lab
    wait_until_idle(speculator)
    assert not speculator.errors
    before = lab.figure.render("svg")
    lab.controls["rate"].value = 0.1          # the slider's next value: drawn ahead
    assert lab.timings["draw"] == 0 and lab.timings["train"] < 1.0
    # The figure drawn in the background is the figure the click would have drawn.
    direct = labs.dropout()
    direct.controls["rate"].value = 0.1
    assert lab.output.outputs[0]["data"]["image/svg+xml"] == \
        direct.output.outputs[0]["data"]["image/svg+xml"]
    assert lab.figure.render("svg") == before, "the click drew nothing on its own figure"


def test_a_lab_not_shown_in_a_browser_does_nothing_in_the_background(monkeypatch):
    speculator = speculate.Speculator()
    monkeypatch.setattr(speculate, "SPECULATOR", speculator)
    lab = labs.vanishing()
    lab.controls["depth"].value = 2
    assert lab.output._view_count == 0 and speculator.thread is None
