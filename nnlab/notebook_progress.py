"""The progress bar a notebook shows while ``train(..., progress=True)`` runs.

ipywidgets is imported only when a bar is actually shown in a notebook.
"""

from __future__ import annotations


class WidgetProgress:
    """An ``IntProgress`` bar and a label, displayed in the notebook."""

    def __init__(self, total: int, description: str):
        import ipywidgets
        from IPython.display import display
        self.bar = ipywidgets.IntProgress(min=0, max=total, value=0, description=description)
        self.label = ipywidgets.Label("")
        display(ipywidgets.HBox([self.bar, self.label]))

    def update(self, done: int, text: str = "") -> None:
        self.bar.value = done
        self.label.value = text

    def close(self, text: str = "") -> None:
        if text:
            self.label.value = text
        self.bar.bar_style = "danger" if "diverged" in text else "success"
