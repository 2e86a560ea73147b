"""Work a learner is likely to ask for next, done in the background while they read.

A lab in a browser hands :func:`ahead` the settings one click away from the
current one (the neighbouring value of each slider, the other presets, ...),
each as a small task: train its runs (through ``experiments.outcome``, whose
cache then answers the click) and draw its figure. One daemon thread does the
tasks, one at a time, most likely first. It only starts a task when no lab has
been busy for ``IDLE`` seconds, so it never competes with a redraw for long; a
click whose run is being trained waits for it instead of training it twice.
Results are the same numbers a direct call gives (same seed, same run).

Speculation is for a learner at a screen: a lab turns it on when its figure is
first shown in a browser (never under nbval, nbconvert or a test), and
``NNLAB_SPECULATE=0`` turns it off. Where threads do not exist (Pyodide and JupyterLite,
``sys.platform`` "emscripten" or "wasi") it stays off by itself, and a thread that cannot
start turns it off for the session: the lab then trains each click's runs when clicked.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from . import experiments

IDLE = 0.15          # seconds without a click before the next background task starts


def threads_available() -> bool:
    """False where Python has no threads to start (Pyodide / JupyterLite: WebAssembly)."""
    return sys.platform not in ("emscripten", "wasi")


ENABLED = os.environ.get("NNLAB_SPECULATE", "1") != "0" and threads_available()


class Speculator:
    """One background thread and its waiting list of ``(key, task)`` pairs."""

    def __init__(self):
        self.lock = threading.Condition()
        self.queue: list = []             # (key, task), most likely first
        self.training = None              # the configuration the thread is training now
        self.task = None                  # the key of the task the thread is doing now
        self.last_activity = 0.0
        self.busy = 0
        self.thread = None
        self.runs = 0                     # runs trained in the background (for the benchmarks)
        self.tasks = 0                    # tasks finished
        self.errors: list = []            # the last few tasks that raised (for a developer)
        self.available = True             # False once a thread could not start

    # --- the lab's side ---------------------------------------------------
    def ahead(self, tasks) -> None:
        """Replace the waiting list by ``tasks`` (``(key, callable)``, most likely first)."""
        with self.lock:
            if not self.available:
                return
            unique: dict = {}
            for key, task in tasks:
                unique.setdefault(key, task)
            self.queue = list(unique.items())
            if self.thread is None:
                thread = threading.Thread(target=self._work, name="nnlab-speculate", daemon=True)
                try:
                    thread.start()
                except RuntimeError:       # no threads here: each click trains its own runs
                    self.available, self.queue = False, []
                    return
                self.thread = thread
            self.lock.notify_all()

    def outcome(self, config):
        """``experiments.outcome(config)``, waiting for the thread if it is training it."""
        with self.lock:
            while self.training == config:
                self.lock.wait()
        return experiments.outcome(config)

    def wait_for(self, key) -> None:
        """If the thread is doing the task ``key`` now, wait until it is done (a click that
        needs it would otherwise do the same work beside it, and both would be slower)."""
        with self.lock:
            while self.task == key:
                self.lock.wait()

    def train(self, config):
        """``experiments.outcome(config)`` from a task, marked so that a click can wait for it."""
        with self.lock:
            self.training = config
        try:
            result = experiments.outcome(config)
        finally:
            with self.lock:
                self.training = None
                self.runs += 1
                self.lock.notify_all()
        return result

    def __enter__(self):
        """A lab is busy (a click): no new background task starts until it is done."""
        with self.lock:
            self.busy += 1
        return self

    def __exit__(self, *exc):
        with self.lock:
            self.busy -= 1
            self.last_activity = time.monotonic()
            self.lock.notify_all()

    # --- the background thread --------------------------------------------
    def _work(self):
        while True:
            with self.lock:
                while True:
                    quiet = time.monotonic() - self.last_activity
                    if self.queue and not self.busy and quiet >= IDLE:
                        break
                    self.lock.wait(timeout=max(IDLE - quiet, 0.02) if self.queue else None)
                self.task, task = self.queue.pop(0)
            try:
                task()
            except Exception as error:     # a setting that cannot run: its click will say why
                self.errors = [*self.errors[-4:], repr(error)]
            with self.lock:
                self.task = None
                self.tasks += 1
                self.lock.notify_all()

    def idle(self) -> bool:
        """True when nothing waits and nothing runs."""
        with self.lock:
            return not self.queue and self.task is None


SPECULATOR = Speculator()


def outcome(config):
    """The run of ``config``: cached, or being trained in the background (waited for), or trained now."""
    return SPECULATOR.outcome(config)


def ahead(tasks) -> None:
    """Do ``tasks`` (``(key, callable)`` pairs) in the background, most likely first."""
    if ENABLED:
        SPECULATOR.ahead(tasks)
