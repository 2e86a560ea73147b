"""The catalogue ``diagnose`` works from, as data: the cases, their thresholds, why, and remedies.

Every threshold is a rule of thumb, named and explained, so a learner can
check the reasoning against the plots. The judges that apply them are in
:mod:`nnlab.diagnosis.checks`; which remedies fit a run is decided in
:mod:`nnlab.diagnosis.remedies`.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------
# Thresholds: each a rule of thumb, with where it comes from
# ---------------------------------------------------------------------------

# Vanishing: the error signal reaching the first hidden layer (||dL/db||) is less
# than 1/100 of the one at the last hidden layer. Nielsen's deep sigmoid net
# shows about this drop over four hidden layers (0.003 vs 0.285); healthy
# ReLU/He or batch-normalized nets in the lessons stay within a factor of 3.
VANISHING_RATIO = 1e-2

# Exploding: the error signal grows at least tenfold (one order of magnitude)
# on its way from the last hidden layer back to the first one ...
EXPLODING_RATIO = 10.0

# ... and the updates it causes are too large: in the first epoch, one step moves
# a layer's weights by a quarter of their size or more (||dW|| / ||W|| >= 0.25).
# Karpathy's rule of thumb (CS231n) for a healthy update ratio is about 1e-3.
# In the lessons, exploding runs reach 0.7 to 1.0; the same net with a learning
# rate of 1e-3 (the remedy) peaks near 0.08 and trains well.
LARGE_UPDATE_RATIO = 0.25

# ... or gradient clipping has to cut the gradients down at least tenfold at almost every
# step of the first epoch (median) while the loss stays at NOT_LEARNING_LOSS of chance or
# above: the updates look tame only because clipping hides the explosion. (Where the loss
# falls well below chance, clipping was the remedy.)
CLIPPED_FACTOR = 10.0

# Too-small updates (a run that is not learning because its steps are tiny):
# a hundred times below the same 1e-3 rule of thumb.
TINY_UPDATE_RATIO = 1e-5

# Dead ReLU: at least half of a layer's units output 0 for every example seen in
# the last epoch. CS231n warns that "as much as 40% of your network can be dead"
# after too large a step; healthy He-initialised ReLU nets keep every layer below 30%.
from ..metrics import DEAD_FRACTION_THRESHOLD as DEAD_FRACTION  # noqa: E402 (one threshold)

# Without the per-epoch reading, a unit counted as dead on one batch may simply have
# been off for those few examples: the per-batch reading is used only for batches
# at least this large (the chance that a unit active on 10% of examples is off for
# all 8 of a batch is 0.9^8 = 43%, but for half a layer at once, vanishingly small).
MIN_BATCH_FOR_DEAD = 8

# Not learning: the training loss (mean over the end of the run) is still above 80%
# of chance, the loss of a network that ignores its inputs and predicts the class
# frequencies of the training labels (their entropy; ln 2 = 0.69 for two balanced
# classes, 0.20 for 5% positives) or, for a regression, the targets' mean (the
# targets' variance): an R^2 of 0.2 or less.
NOT_LEARNING_LOSS = 0.8

# ... and the training accuracy has not got halfway from the majority class's
# share to perfect (below 0.75 for two balanced classes, below 0.975 for 5%
# positives). The accuracy check keeps a run that classifies well, but whose loss
# is inflated by a few very confident mistakes, from counting as not learning.
NOT_LEARNING_ACCURACY = 0.5

# Overfitting: training accuracy above validation accuracy by 0.1 or more.
# The sampling noise of an accuracy measured on 100 examples is about
# sqrt(0.25 / 100) = 0.05, so a gap twice that is not chance ...
ACCURACY_GAP = 0.1

# ... and the validation loss has risen 25% above its best epoch while the
# training loss kept falling: the point where early stopping would have stopped.
VAL_LOSS_RISE = 1.25

# ... or, with a smaller gap (at least half of ACCURACY_GAP), the validation loss has
# doubled from its best while the training loss kept falling: validation accuracy may
# still look close, but the network is ever more confidently wrong on unseen examples
# (a run at training accuracy 1.00, validation 0.91, validation loss 3.6x its best).
VAL_LOSS_STRONG_RISE = 2.0

# A run shorter than this many gradient steps is too short to judge whether it
# learns: it gets an "inconclusive" finding instead of a verdict ...
MIN_STEPS = 50

# ... unless its training loss has already fallen below this fraction of chance (half
# the not-learning threshold): a short full-batch run that got there has learned.
LEARNED_LOSS = 0.4

# A deep tanh or sigmoid net that does not learn, with its error signal in the warning band
# (below VANISHING_RATIO times this), is called vanishing: the network is the likelier
# cause than the data (a 4-hidden-layer sigmoid net with He init reads 0.015 and stays at
# chance; with ReLU the same net reaches 1.00).
STUCK_VANISHING_FACTOR = 3.0

# Fewer epochs than this are too few to say a run is overfitting.
MIN_EPOCHS = 3

# Vanishing and exploding are about depth: they need at least this many Dense layers.
MIN_DENSE_LAYERS = 3

# The first activation layer is saturated (its inputs are far too large) when a
# tanh's outputs have a standard deviation above 0.8 (unit-variance inputs give
# about 0.63; 0.8 means most outputs are pinned near -1 or +1), a sigmoid's
# above 0.4 (pinned near 0 or 1), or a ReLU's above 10.
SATURATED_STD = {"tanh": 0.8, "sigmoid": 0.4, "relu": 10.0, "leaky_relu": 10.0}

# Unscaled inputs: the input features' scales (max(|mean|, std) of each feature, constant
# columns left out: standardize() makes them all 0, and a column of ones carries no scale)
# lie a factor of 100 or more apart, or the largest is 100 or more. Lesson 05's raw inputs
# (scales 100 and 0.01) are 1e4 apart; moons with one feature in millimetres, 1768 apart.
# Standardized data has every scale in [0.5, 2]; raw toy data in natural units within 10.
UNSCALED_RATIO = 100.0
UNSCALED_LARGEST = 100.0

# Notes that start with this are signs of a fault below its threshold.
WARNING_SIGN = "Warning sign: "

# ---------------------------------------------------------------------------
# The cases
# ---------------------------------------------------------------------------

# Every case a finding can name (the lessons' experiments are experiments.CASES).
CASE_NAMES = ("unscaled_inputs", "vanishing_gradients", "exploding_gradients", "dead_relu",
              "saturated_activations", "overfitting", "not_learning", "diverged",
              "inconclusive", "healthy")

# Causes, in the order findings are listed; the symptoms they produce come after.
ROOT_CAUSES = ("unscaled_inputs", "exploding_gradients", "vanishing_gradients", "dead_relu", "saturated_activations")
SYMPTOMS = ("diverged", "not_learning")

WHY = {
    "unscaled_inputs": ("Features on scales far apart give the first layer's weights gradients "
                        "on scales just as far apart: a learning rate small enough for the "
                        "large feature barely moves the weights of the small ones, and one "
                        "large enough for them throws the large feature's weights far off "
                        "(the loss blows up, ReLUs die, tanh and sigmoid units saturate). "
                        "No learning rate suits every feature until the inputs are "
                        "standardized."),
    "vanishing_gradients": ("Each sigmoid or tanh layer (or a layer with far too small weights) "
                            "multiplies the backpropagated error by less than 1, so the layers "
                            "near the input get almost no gradient and barely learn."),
    "exploding_gradients": ("Weights that are too large multiply the error at every layer, so the "
                            "gradient grows on its way back to the input and one step throws the "
                            "weights far from where they were."),
    "dead_relu": ("A ReLU whose input is negative for every example outputs 0 and passes back no "
                  "gradient, so gradient descent can never revive it: the layer has lost those "
                  "units."),
    "saturated_activations_relu": ("Inputs (or weights) on far too large a scale make the first "
                                   "ReLU layer's outputs enormous for some examples and 0 for "
                                   "others: its units act as on/off switches driven by the "
                                   "largest feature, and the steps that suit them are far from "
                                   "the steps the rest of the network needs."),
    "saturated_activations": ("Inputs (or weights) on far too large a scale push every tanh or "
                              "sigmoid unit of the first layer to its flat ends, where its slope "
                              "is 0: the units answer -1 or +1 whatever the example, so the "
                              "network cannot tell the examples apart, and no gradient flows."),
    "overfitting": ("The network is memorising the training examples, noise included: training "
                    "accuracy keeps improving while performance on unseen data gets worse."),
    "not_learning": ("The training loss stays near chance (what a network that ignores its "
                     "inputs gets), so the updates are not moving the network toward a solution."),
    "diverged": ("An update overshot so far that the loss became infinite or blew up; training "
                 "cannot recover from there."),
    "inconclusive": ("Too few gradient steps were taken to tell a network that is still "
                     "warming up from one that will never learn."),
    "healthy": ("No check found a fault: the loss fell well below chance, the error signal "
                "reaches every layer, the units stay alive and (where measured) validation "
                "keeps up with training."),
}

# Remedies by key: the text a learner reads. Which ones a run gets, and in what
# order, is decided by remedies.py from the run record (never one already in place).
REMEDY_TEXT = {
    "use_relu": "Use ReLU (with He initialization) instead of {saturating}.",
    "he_init": "Use He initialization (init='he'; now init={init}).",
    "add_batchnorm": "Add batch normalization.",
    "lower_lr": "Lower the learning rate (now {lr:g}), for example tenfold.",
    "raise_lr": "Raise the learning rate (now {lr:g}): the steps are far too small.",
    "clip": "Clip the gradients (SGD(clip_norm=1.0)).",
    "tighter_clip": "Clip harder (clip_norm is now {clip:g}).",
    "leaky_relu": "Use LeakyReLU, which never goes fully silent.",
    "check_bias": ("Check the initial bias and anything that zeroes the layer's input "
                   "(a dropout rate near 1)."),
    "add_dropout": "Add dropout (rate 0.5 is a good start).",
    "more_dropout": "Raise the dropout rate (now {dropout:g}).",
    "more_data": "Get more training data, or use a smaller network.",
    "normalize_inputs": "Normalize the inputs (standardize each feature to mean 0, std 1).",
    "smaller_init": "Use a smaller initialization (init='xavier' for tanh or sigmoid; now init={init}).",
    "unblock": "Find what blocks every gradient (a dropout rate of 1, every unit dead).",
    "check_data": ("Check that the inputs carry information about the targets: the loss is what "
                   "predicting the {what} gives."),
    "train_longer": "Train for more steps (at least {min_steps}) before judging.",
    "fewer_layers": "Use fewer layers.",
}

# Symptom remedies that a root cause's remedy supersedes: with unscaled inputs found,
# standardizing them comes first, and a lower learning rate or clipping only hides the cause.
SUPERSEDED_BY = {"unscaled_inputs": ("lower_lr", "raise_lr", "clip", "tighter_clip",
                                     "normalize_inputs")}

# Pairs of remedies that contradict each other: a diagnosis never proposes both.
CONFLICTS = (("raise_lr", "lower_lr"),)
