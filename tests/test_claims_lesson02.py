"""Lesson 02 (exploding gradients): every number the lesson states, over several seeds, the
classic result it reproduces, one meaning of "diverged", and its exercise checks fed
wrong-but-plausible answers (rejected, pointing at the idea) and right answers in every form."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from nnlab import exercises, experiments, metrics
from nnlab.engine.training import BLOWUP_FACTOR
from nnlab.exercises import RIGHT, WRONG
from nnlab.exercises import lesson02
from nnlab.experiments import CASES

from test_claims import OTHER_SEEDS, holds_across_seeds

CASE = CASES["exploding"]
SEEDS = (0, *OTHER_SEEDS)
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02_exploding_gradients.ipynb"


def printed() -> str:
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    return "".join("".join(o["text"]) for c in cells for o in c.get("outputs", [])
                   if o["output_type"] == "stream")


# --- what you saw ------------------------------------------------------------------------

def test_the_forward_pass_explodes_before_any_step():
    for seed in SEEDS:
        config = CASE.broken.replace(seed=seed)
        (X, y), _ = config.data()
        assert metrics.score_scale(config.build(2, 2), X) >= 100
        assert metrics.first_loss(experiments.outcome(config)) >= 100 * math.log(2)


def test_the_error_grows_per_layer_near_the_variance_propagation_factor():
    predicted = lesson02.predicted_factor(CASE.broken.init, CASE.broken.hidden[0])
    assert predicted == pytest.approx(3.2)
    holds_across_seeds(lambda broken: 0.75 * predicted <= metrics.error_factor_per_layer(broken)
                       <= 1.05 * predicted, CASE.broken)


def test_diverged_means_one_thing_and_the_lesson_says_it():
    assert f"above {BLOWUP_FACTOR:g} times its first value" in metrics.DIVERGED_MEANING
    assert metrics.DIVERGED_MEANING in printed()
    broken = experiments.outcome(CASE.broken).history
    assert broken.diverged and broken.diverged_loss > BLOWUP_FACTOR * broken.step_loss[0]


def test_the_first_step_moves_every_layer_by_about_its_own_size():
    holds_across_seeds(lambda broken: broken.history.update_ratios[0].min() >= 0.5, CASE.broken)


# --- fixes, and where they stop ------------------------------------------------------------

def test_he_init_removes_the_growth_and_trains():
    holds_across_seeds(lambda he: metrics.error_growth(he) <= 1.5
                       and metrics.training_accuracy_after(he) >= 0.95,
                       CASE.broken.replace(init="he"))


def test_batch_norm_keeps_the_growth_small_at_step_0_and_over_training():
    holds_across_seeds(lambda bn: metrics.error_growth(bn) <= 5
                       and metrics.error_growth_over_training(bn) <= 3, CASE.fixed)


@pytest.mark.parametrize("remedy", ["lower_lr", "clipping"])
def test_step_0_growth_is_the_broken_nets_by_construction(remedy):
    for seed in SEEDS:
        broken = experiments.outcome(CASE.broken.replace(seed=seed))
        remedied = experiments.outcome(CASE.configs[remedy].replace(seed=seed))
        assert metrics.error_growth(remedied) == metrics.error_growth(broken)


def test_over_training_a_lower_rate_lowers_the_growth_and_clipping_hardly_does():
    holds_across_seeds(lambda lower, clipped: (
        metrics.error_growth_over_training(lower) <= 0.85 * metrics.error_growth(lower)
        and metrics.error_growth_over_training(clipped) <= metrics.error_growth(clipped)
        and metrics.error_growth_over_training(clipped) > metrics.error_growth_over_training(lower)),
        CASE.configs["lower_lr"], CASE.configs["clipping"])


def test_with_clipping_the_first_layer_still_takes_the_largest_steps():
    def claim(clipped):
        ratios = metrics.update_ratio_first_epoch(clipped)
        return ratios[0] > ratios[1:-1].max() and ratios[1:-1].max() < 3e-3
    holds_across_seeds(claim, CASE.configs["clipping"])


# --- the classic result --------------------------------------------------------------------

def test_pascanu_2013_clipping_trains_where_the_plain_run_diverges():
    holds_across_seeds(lambda broken, clipped: broken.history.diverged
                       and not clipped.history.diverged
                       and clipped.history.loss[-1] < 0.01 * clipped.history.loss[0],
                       CASE.broken, CASE.configs["clipping"])


def test_the_first_update_ratio_is_proportional_to_the_learning_rate():
    assert lesson02.first_update_ratio(0.01) == pytest.approx(0.1 * lesson02.first_update_ratio(0.1),
                                                              rel=0.05)


# --- the exercises, adversarially ------------------------------------------------------------

@pytest.mark.parametrize("answer,words", [(10.24, "variance"), (25.6, "sqrt(n)"), (0.8, "sqrt(n)"),
                                          (4.53, "ReLU"), (1.0, "smaller"), (20, "larger")])
def test_02_1_wrong_factors_point_at_the_idea_without_the_answer(answer, words):
    result = exercises.verdict("02.1", answer)
    assert result.status == WRONG and words in result.reason, str(result)
    assert "3.2" not in result.reason and "2.81" not in result.reason


@pytest.mark.parametrize("answer", [3.2, (32 * 0.64 / 2) ** 0.5, 2.81, 3, np.float64(3.0), 2.5])
def test_02_1_right_factors_are_accepted(answer):
    assert exercises.verdict("02.1", answer).status == RIGHT


def _norm(grads):
    return math.sqrt(sum(float(np.sum(np.asarray(g) ** 2)) for g in grads))


CLIP_WRONG = {
    "[] when small": (lambda grads, m: [] if _norm(grads) <= m
                      else [g * (m / _norm(grads)) for g in grads], "come back unchanged"),
    "only the first when small": (lambda grads, m: grads[:1] if _norm(grads) <= m
                                  else [g * (m / _norm(grads)) for g in grads], "come back unchanged"),
    "None when small": (lambda grads, m: None if _norm(grads) <= m
                        else [g * (m / _norm(grads)) for g in grads], "come back unchanged"),
    "each on its own": (lambda grads, m: [g * min(1.0, m / np.linalg.norm(g)) for g in grads],
                        "each array on its own"),
    "always rescaled": (lambda grads, m: [g * (m / _norm(grads)) for g in grads], "unchanged"),
    "clipped entries": (lambda grads, m: [np.clip(g, -m, m) for g in grads], "global norm"),
    "sum instead of root": (lambda grads, m: [g * min(1.0, m / sum(float(np.sum(x * x)) for x in grads))
                                              for g in grads], "global norm"),
}


@pytest.mark.parametrize("name", list(CLIP_WRONG))
def test_02_2_wrong_clippings_are_rejected_with_the_reason(name):
    answer, words = CLIP_WRONG[name]
    result = exercises.verdict("02.2", answer)
    assert result.status == WRONG and words in result.reason, str(result)


def _clip_tuple(grads, max_norm):
    scale = min(1.0, max_norm / _norm(grads))
    return tuple(g * scale for g in grads)


def _clip_in_place(grads, max_norm):
    norm = _norm(grads)
    if norm > max_norm:
        for g in grads:
            g *= max_norm / norm
    return grads


@pytest.mark.parametrize("answer", [_clip_tuple, _clip_in_place,
                                    lambda grads, m: [g * min(1.0, m / (_norm(grads) + 1e-12)) for g in grads]])
def test_02_2_right_clippings_in_any_form_are_accepted(answer):
    assert exercises.verdict("02.2", answer).status == RIGHT


@pytest.mark.parametrize("answer", [0.1, 1e-3 * 0.1, 1e-4, 0.01, 1.0])
def test_02_3_wrong_learning_rates_are_rejected_without_the_answer(answer):
    result = exercises.verdict("02.3", answer)
    assert result.status == WRONG and "learning rate" in result.reason, str(result)
    assert "0.0011" not in result.reason and "1.1e-03" not in result.reason


@pytest.mark.parametrize("answer", [0.0011, 1.09e-3, np.float64(0.001), 0.0015])
def test_02_3_right_learning_rates_are_accepted(answer):
    assert exercises.verdict("02.3", answer).status == RIGHT


def test_other_seeds_read_a_factor_per_layer_between_2_5_and_3_2():
    factors = [metrics.error_factor_per_layer(experiments.outcome(CASE.broken.replace(seed=seed)))
               for seed in SEEDS]
    assert all(2.45 <= f <= 3.25 for f in factors), factors
