"""A progress bar that suits where it runs: a widget in a notebook, a text line in a terminal.

ipywidgets is imported only when a bar is actually shown in a notebook.
"""

from __future__ import annotations

import sys


def _in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    if shell is None:
        return False
    try:
        ip = shell.get_ipython()
    except AttributeError:
        return False
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


class TextProgress:
    """``[#####.....] 5/10 epochs  loss 0.42`` rewritten in place on stderr."""

    def __init__(self, total: int, description: str, stream=None):
        self.total, self.description = total, description
        self.stream = stream if stream is not None else sys.stderr

    def update(self, done: int, text: str = "") -> None:
        width = 20
        filled = int(width * done / max(self.total, 1))
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(f"\r{self.description} [{bar}] {done}/{self.total} {text}   ")
        self.stream.flush()

    def close(self, text: str = "") -> None:
        if text:
            self.stream.write(f"\r{self.description}: {text}" + " " * 30)
        self.stream.write("\n")
        self.stream.flush()


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


def progress_bar(total: int, description: str = "training"):
    return WidgetProgress(total, description) if _in_notebook() else TextProgress(total, description)
