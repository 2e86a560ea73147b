"""The one number that carries each finding, for a plot's caption (``diagnosis_plots``).

Kept apart from ``report`` so that the plots can read it without importing the report,
which imports the plots when a figure is asked for.
"""

from __future__ import annotations


def short(finding) -> str:
    """The one number that carries a finding, for a plot's caption."""
    numbers = finding.numbers
    if finding.case == "unscaled_inputs":
        return (f"feature scales {numbers['smallest_scale']:.2g} to "
                f"{numbers['largest_scale']:.2g}")
    if finding.case == "vanishing_gradients":
        return f"first/last hidden-layer error {numbers['error_ratio']:.1e}"
    if finding.case == "exploding_gradients":
        return f"error grows x{numbers['error_growth']:.3g} toward the input"
    if finding.case == "dead_relu":
        worst = max(numbers["dead_fractions"], key=numbers["dead_fractions"].get)
        return f"{numbers['worst_dead_fraction']:.0%} dead in {worst}"
    if finding.case == "diverged":
        return f"at step {finding.step}"
    if finding.case == "not_learning":
        return f"loss {numbers['final_loss']:.3g} vs chance {numbers['chance_loss']:.3g}"
    if finding.case == "overfitting":
        if "accuracy_gap" in numbers:
            return f"accuracy gap {numbers['accuracy_gap']:.2f}"
        return f"validation loss x{numbers.get('val_loss_rise', float('nan')):.2f} its best"
    if finding.case == "saturated_activations":
        return f"{finding.layers[0]} output std {numbers['activation_std']:.2f}"
    if finding.case == "inconclusive":
        return f"{numbers.get('steps', 0)} steps"
    return f"loss {numbers.get('final_loss', float('nan')):.3g}"

