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
``NNLAB_SPECULATE=0`` turns it off, as does grading (``nnlab.classroom``: no
background thread starts while a grader runs the notebook). :func:`allowed` is the one
place that decides. Where threads do not exist (Pyodide and JupyterLite,
``sys.platform`` "emscripten" or "wasi") it stays off by itself, and a thread that cannot
start turns it off for the session: the lab then trains each click's runs when clicked.

It never touches what the learner sees: its runs are trained ``quietly`` (they never
become ``nnlab.last_history``), with explicit seeds (no global random state), on its own
figure (never matplotlib's current one). And it yields to the learner: while one of the
learner's cells runs (IPython's ``pre_run_cell``/``post_run_cell`` events) it starts no
task and holds the one it is doing between epochs, so the learner's own code runs at
full speed (:meth:`Speculator.pause`, :meth:`Speculator.resume`).
"""

from __future__ import annotations

import os
import sys
import threading
import time

from . import classroom, experiments
from .engine import training

IDLE = 0.15          # seconds without a click before the next background task starts


def threads_available() -> bool:
    """False where Python has no threads to start (Pyodide / JupyterLite: WebAssembly)."""
    return sys.platform not in ("emscripten", "wasi")


ENABLED = os.environ.get("NNLAB_SPECULATE", "1") != "0" and threads_available()


def allowed() -> bool:
    """Whether background preparation may start at all (``NNLAB_SPECULATE=0`` or grading say no)."""
    return ENABLED and not classroom.settings().grading


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
        self.started = 0                  # tasks started
        self.paused = 0                   # > 0 while the learner's own code runs
        self.shell = None                 # the IPython shell whose cells pause the thread
        self.waiters = 0                  # clicks (or cells) waiting for the thread's task
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
                self._follow_cells()
            self.lock.notify_all()

    # --- the learner's side: their cells come first ------------------------
    def pause(self, *_) -> None:
        """The learner's code runs: start nothing, and hold the run in progress between epochs."""
        with self.lock:
            self.paused += 1

    def resume(self, *_) -> None:
        """The learner's code is done: the thread may go on (after ``IDLE`` seconds)."""
        with self.lock:
            self.paused = max(self.paused - 1, 0)
            self.last_activity = time.monotonic()
            self.lock.notify_all()

    def _follow_cells(self) -> None:
        """Pause while each of the learner's cells runs (IPython's cell events), if in IPython."""
        try:
            from IPython import get_ipython
        except ImportError:
            return
        shell = get_ipython()
        if shell is None or self.shell is shell:
            return
        shell.events.register("pre_run_cell", self.pause)
        shell.events.register("post_run_cell", self.resume)
        self.shell = shell

    def _hold_while_paused(self) -> None:
        """Called by a background run between its epochs (it goes on if a click waits for it)."""
        with self.lock:
            while self.paused and not self.waiters:
                self.lock.wait()

    def outcome(self, config):
        """``experiments.outcome(config)``, waiting for the thread if it is training it."""
        with self.lock:
            self.waiters += 1
            self.lock.notify_all()       # a paused run someone waits for goes on
            while self.training == config:
                self.lock.wait()
            self.waiters -= 1
        return experiments.outcome(config)

    def wait_for(self, key) -> None:
        """If the thread is doing the task ``key`` now, wait until it is done (a click that
        needs it would otherwise do the same work beside it, and both would be slower)."""
        with self.lock:
            self.waiters += 1
            self.lock.notify_all()       # a paused task someone waits for goes on
            while self.task == key:
                self.lock.wait()
            self.waiters -= 1

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
                    if self.queue and not self.busy and not self.paused and quiet >= IDLE:
                        break
                    self.lock.wait(timeout=max(IDLE - quiet, 0.02) if self.queue else None)
                self.task, task = self.queue.pop(0)
                self.started += 1
            try:
                with training.quietly(between_epochs=self._hold_while_paused):
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
    if allowed():
        SPECULATOR.ahead(tasks)
