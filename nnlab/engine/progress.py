"""A progress bar that suits where it runs: a text line in a terminal, a widget in a notebook.

The widget bar lives in the course (``nnlab/notebook_progress.py``); the engine
only holds the slot ``NOTEBOOK_BAR`` that the course fills in.
"""

from __future__ import annotations

import os
import sys
import time

# train(progress=None), the default, shows a bar once a run has taken this many seconds,
# in a notebook only, unless the environment says NNLAB_PROGRESS=0 (tests, nbval, nbconvert).
PROGRESS_AFTER = 2.0


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


# The bar used inside a notebook. The engine knows no widgets: the course (nnlab/__init__)
# sets this to its widget bar; until then a notebook gets the text bar too.
NOTEBOOK_BAR = None


def progress_bar(total: int, description: str = "training"):
    if NOTEBOOK_BAR is not None and _in_notebook():
        return NOTEBOOK_BAR(total, description)
    return TextProgress(total, description)


def auto_progress_allowed() -> bool:
    """Whether ``train``'s default may show a bar: in a notebook, unless ``NNLAB_PROGRESS=0``."""
    return os.environ.get("NNLAB_PROGRESS", "1") != "0" and _in_notebook()


class AutoProgress:
    """A bar that appears only once the run has taken ``PROGRESS_AFTER`` seconds (a short run,
    such as every run of the lessons, shows nothing and leaves no output)."""

    def __init__(self, total: int, description: str):
        self.total, self.description = total, description
        self.started = time.perf_counter()
        self.bar = None

    def update(self, done: int, text: str = "") -> None:
        if self.bar is None:
            if done >= self.total or time.perf_counter() - self.started < PROGRESS_AFTER:
                return
            self.bar = progress_bar(self.total, self.description)
        self.bar.update(done, text)

    def close(self, text: str = "") -> None:
        if self.bar is not None:
            self.bar.close(text)
