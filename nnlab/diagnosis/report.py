"""What ``diagnose`` returns: a :class:`Diagnosis` holding :class:`Finding` objects.

Text, HTML and (through :mod:`nnlab.diagnosis_plots`) a figure of the evidence.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from ..engine.training import History
from .captions import short  # noqa: F401  (its old home; the captions live in captions.py)


def confidence_word(confidence: float) -> str:
    """'high', 'medium' or 'low', for a confidence between 0 and 1."""
    if confidence >= 0.85:
        return "high"
    return "medium" if confidence >= 0.65 else "low"


@dataclass(frozen=True)
class Finding:
    """One thing :func:`~nnlab.diagnosis.diagnose` found.

    ``case`` is one of :data:`~nnlab.diagnosis.CASE_NAMES`; ``evidence`` says
    what the numbers show; ``numbers`` holds those numbers by name; ``layers``
    names the layers concerned and ``step`` the step from which the evidence
    holds (None when it is about the whole run); ``remedies`` are the lessons'
    fixes that fit this run (none already in place), most relevant first, and
    ``actions`` their keys (see ``rules.REMEDY_TEXT``); ``why`` explains the
    case in one line. A symptom of a root cause found in the same run carries
    no remedies of its own: its ``why`` names the cause to fix.

    ``confidence`` says how far past its threshold the evidence is: 0.5 just
    past it, 1 far past it (each judge says what "far" is). On the generated
    corpus of ``benchmarks/bench_diagnose.py`` (about 250 runs of known
    ground truth) a finding's confidence is a lower bound on how often a
    finding of that confidence band is right: the benchmark prints the
    reliability table, per case and band (low < 0.65 <= medium < 0.85 <= high).
    """

    case: str
    evidence: str
    confidence: float
    numbers: dict = field(default_factory=dict)
    layers: tuple = ()
    step: int | None = None
    remedies: tuple = ()
    why: str = ""
    actions: tuple = ()

    def __str__(self):
        word = confidence_word(self.confidence)
        lines = [f"{self.case} (confidence {self.confidence:.2f}, {word})",
                 f"  Evidence: {self.evidence}"]
        if self.why:
            lines.append(f"  Why: {self.why}")
        for remedy in self.remedies:
            lines.append(f"  Remedy: {remedy}")
        return "\n".join(lines)


@dataclass(eq=False)
class Diagnosis:
    """What :func:`~nnlab.diagnosis.diagnose` concluded about one run: ``findings`` and ``notes``.

    ``findings`` lists :class:`Finding` objects, root causes first; a run with
    no fault gets a single "healthy" finding, a run too short to judge an
    "inconclusive" one, and a run with nothing recorded none. ``notes`` are
    remarks that are not findings (which checks could not be made, warning
    signs below a threshold).
    """

    history: History
    findings: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def cases(self) -> list[str]:
        """The case of every finding, in order."""
        return [finding.case for finding in self.findings]

    @property
    def healthy(self) -> bool:
        return self.cases == ["healthy"]

    @property
    def remedies(self) -> list[str]:
        """Every remedy of every finding, in order, each once."""
        return list(dict.fromkeys(r for finding in self.findings for r in finding.remedies))

    def finding(self, case: str) -> Finding | None:
        """The finding for ``case``, or None if there is none."""
        for finding in self.findings:
            if finding.case == case:
                return finding
        return None

    def _headline(self) -> str:
        if not self.findings:
            return "Nothing to diagnose."
        if self.healthy:
            return "Healthy: no fault found."
        if self.cases == ["inconclusive"]:
            return "Inconclusive: too few steps to judge."
        return "Found: " + ", ".join(self.cases) + "."

    def __str__(self):
        lines = [f"Diagnosis of {self.history!r}", self._headline()]
        for number, finding in enumerate(self.findings, start=1):
            lines.append(f"{number}. {finding}")
        for note in self.notes:
            lines.append(f"Note: {note}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self):
        escape = html.escape
        rows = []
        for finding in self.findings:
            remedies = "".join(f"<li>{escape(remedy)}</li>" for remedy in finding.remedies)
            rows.append(
                "<tr>"
                f"<td style='text-align:left'><b>{escape(finding.case)}</b></td>"
                f"<td style='text-align:left'>{finding.confidence:.2f} "
                f"({confidence_word(finding.confidence)})</td>"
                f"<td style='text-align:left'>{escape(finding.evidence)}</td>"
                f"<td style='text-align:left'>{escape(finding.why)}</td>"
                f"<td style='text-align:left'><ul style='margin:0'>{remedies}</ul></td>"
                "</tr>")
        table = ""
        if rows:
            table = ("<table><tr><th>case</th><th>confidence</th><th>evidence</th><th>why</th>"
                     "<th>remedies</th></tr>" + "".join(rows) + "</table>")
        notes = "".join(f"<li>{escape(note)}</li>" for note in self.notes)
        return (f"<div><p><b>Diagnosis</b> of {escape(repr(self.history))}: "
                f"{escape(self._headline())}</p>{table}"
                + (f"<p>Notes:</p><ul>{notes}</ul>" if notes else "") + "</div>")

    def plot(self, ax=None):
        """Draw the evidence on the gradient-per-layer plot; return the Axes.

        See :func:`nnlab.diagnosis_plots.plot_diagnosis` (matplotlib is imported
        only when a plot is drawn).
        """
        from ..diagnosis_plots import plot_diagnosis
        return plot_diagnosis(self, ax=ax)
