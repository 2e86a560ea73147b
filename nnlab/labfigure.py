"""The figure every lab shows: the current run drawn over a faint reference run.

Three panels: gradient magnitude per layer at initialisation, loss, and a
case-specific third panel (accuracy, dead units, or how far each layer moved);
the playground adds a fourth, the decision boundary.

Every panel also shows one epoch of the run (the last, unless a lab's epoch
slider says otherwise): the panels with an epoch axis get a marker there, and
the series that change with the epoch (``Series.at``: the per-layer panels) and
the decision boundary show the network after that many epochs. A click sends
the figure as SVG (:meth:`LabFigure.render`); while the learner scrubs or plays
through the epochs, :meth:`LabFigure.frame` sends PNG frames made by blitting:
everything that does not move with the epoch is rasterized once per run and
kept as a background, and a frame is that background with the epoch's artists
drawn over it (at twice the resolution, shown at the SVG's CSS size).

A lab redraws this figure on every click, so it is built once and then only
updated: each run owns a fixed set of line artists whose data are replaced,
titles sit at fixed positions, log axes show major ticks only, and the PNG is
compressed lightly. That keeps a redraw near the floor of what matplotlib
needs to rasterize three small axes (see benchmarks/).
"""

from __future__ import annotations

import hashlib
import io
import re

import numpy as np
import matplotlib
from PIL import Image
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_mixed import MixedModeRenderer
from matplotlib.backends.backend_svg import RendererSVG
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

from . import panels
from .boundary import BoundaryGrids
from .experiments import frame_epochs, step_at_epoch
from .panels import THIRD_PANELS, decades, divergence_mark, epoch_span  # noqa: F401 (re-exported)
from .plots import BROKEN_COLOR, FIXED_COLOR, REFERENCE_ALPHA

# Lecture mode: 1200 x 440 CSS px with 19 px type, so that the page (nnlab.labs) can show it at
# its natural size or larger on a 1280 x 720 projector; thick lines, a reference run that
# stays visible from the back of the room (0.6 opacity instead of a faint one).
LECTURE = {"figsize": (16.67, 6.11), "reference_alpha": 0.6, "linewidth": 2.6, "markersize": 8,
           "fonts": {"font.size": 19, "legend.fontsize": 19, "axes.titlesize": 19},
           "margins": dict(left=0.075, right=0.985, bottom=0.2, top=0.74, wspace=0.38),
           "label_coords": (-0.2, -0.17)}
# Epoch frames (PNG) are rasterized at this many dots per CSS pixel: sharp on a 2x screen.
FRAME_SCALE = 2
# The boundary panel widens the figure by this factor (its panel is 0.8 of the others).
BOUNDARY_WIDTH = 1.25
_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def run_marker(color: str) -> str | None:
    """The marker shape of the run drawn in ``color`` (``panels.RUN_STYLES``; None: another
    colour), so that the two runs of a figure differ in shape as well as colour."""
    return next((style["marker"] for style in panels.RUN_STYLES.values()
                 if style["color"].lower() == str(color).lower()), None)


def _power_of_ten(value, _position=None) -> str:
    """'10⁻³' in plain text: it renders like mathtext's 10^{-3}, without its cost."""
    if value <= 0:
        return ""
    exponent = int(round(np.log10(value)))
    return "1" if exponent == 0 else "10" + str(exponent).translate(_SUPERSCRIPT)


class _MeasuringRenderer(RendererSVG):
    """An SVG renderer that remembers text sizes across figures (matplotlib measures every
    string again for each new renderer, which was most of the cost of a redraw)."""

    _sizes: dict = {}

    # Text as text, and ids that are the same on every run, whatever rcParams say at the
    # time (a lab may render in a background thread, see nnlab.speculate).
    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        clip_attrs = self._get_clip_attrs(gc)
        if clip_attrs:
            self.writer.start("g", **clip_attrs)
        self._draw_text_as_text(gc, x, y, s, prop, angle, ismath, mtext)
        if clip_attrs:
            self.writer.end("g")

    def _make_id(self, type, content):
        return f"{type}{hashlib.sha256(('nnlab' + str(content)).encode()).hexdigest()[:10]}"

    def get_text_width_height_descent(self, s, prop, ismath):
        key = (s, hash(prop), ismath)
        size = self._sizes.get(key)
        if size is None:
            if len(self._sizes) > 4096:
                self._sizes.clear()
            size = self._sizes[key] = super().get_text_width_height_descent(s, prop, ismath)
        return size


def _svg(figure) -> str:
    """``figure`` as SVG text, sized in CSS pixels (as ``FigureCanvasSVG.print_svg`` draws it)."""
    dpi = figure.dpi
    width, height = figure.get_size_inches()
    text = io.StringIO()       # str all the way: no encoding layer between the writer and the buffer
    figure.dpi = 72
    try:
        renderer = MixedModeRenderer(figure, width, height, dpi,
                                     _MeasuringRenderer(width * 72, height * 72, text,
                                                        image_dpi=dpi, metadata={"Date": None}))
        figure.draw(renderer)
        renderer.finalize()
    finally:
        figure.dpi = dpi
    svg = text.getvalue()
    # Sized in px, not pt (1 pt = 1.33 px): the figure shows at its nominal pixel size.
    head, body = svg[:1000], svg[1000:]
    return re.sub(r'(width|height)="([0-9.]+)pt"', r'\1="\2px"', head, count=2) + body


class _RunArtists:
    """The lines that show one run (current or reference): one per series of every panel."""

    def __init__(self, axes, specs, alpha: float, zorder: int, linewidth: float = 1.5,
                 markersize: float = 6):
        self.alpha, self.linewidth, self.markersize = alpha, linewidth, markersize
        self.marker = None
        style = dict(alpha=alpha, zorder=zorder)
        # Fixed styles are set now (the run legend copies the gradient line's marker).
        self.lines = [[ax.plot([], [], **style, **(series.style if isinstance(series.style, dict)
                                                   else {}))[0] for series in spec.series]
                      for ax, spec in zip(axes, specs)]
        self.marks = [(ax.axvline(np.nan, linestyle="--", linewidth=1.4, **style),
                       ax.text(0, 0.97, "", transform=ax.get_xaxis_transform(), va="top",
                               ha="left", fontsize=matplotlib.rcParams["legend.fontsize"],
                               zorder=zorder))     # opaque: words keep their contrast
                      if spec.marks_divergence else None for ax, spec in zip(axes, specs)]

    @property
    def gradient(self):
        """The per-layer gradient line (the first panel's only series)."""
        return self.lines[0][0]

    def color(self, color: str) -> None:
        """Draw the run in ``color``, with the marker that goes with it (``run_marker``)."""
        self.marker = run_marker(color)
        for row in self.lines:
            for line in row:
                line.set_color(color)
        for mark in filter(None, self.marks):
            mark[0].set_color(color)
            mark[1].set_color(color)

    def show(self, specs, result) -> None:
        """Put ``result``'s series into the lines, and mark where it blew up."""
        history = result.history
        for spec, row, mark in zip(specs, self.lines, self.marks):
            for series, line in zip(spec.series, row):
                x, y = series.data(result)
                line.set_data(x, y)
                style = {"marker": "None", "markersize": self.markersize, "linestyle": "-",
                         "linewidth": self.linewidth, "markevery": None,
                         **series.style_with_marker(history, self.marker, len(x))}
                style["alpha"] = self.alpha * style.get("alpha", 1.0)
                line.set(**style)
            if mark is not None:
                where = divergence_mark(history)
                mark[0].set_xdata([np.nan, np.nan] if where is None else [where[0]] * 2)
                mark[1].set_x(0 if where is None else where[0])
                mark[1].set_text("" if where is None else where[1])


class LabFigure:
    """A three-panel figure, created once and redrawn in place by :meth:`draw`.

    ``statistic`` picks the per-layer gradient statistic of the first panel
    (see ``panels.STATISTICS``); ``third`` picks the third panel, one of
    ``"accuracy"``, ``"dead"`` or ``"weight_change"``. ``gradient_at`` is
    ``"start"`` (the gradient at initialisation) or ``"end"`` (at the last step).
    ``lecture=True`` draws for a projector (``LECTURE``): 1200 x 440 px, 19 px type,
    thick lines and a reference run drawn at 0.6 opacity instead of a faint one.
    ``boundary=True`` adds the decision-boundary panel (2-D data sets only).
    What each panel shows is ``panels``' specification, as in ``plots.comparison_figure``.
    """

    def __init__(self, statistic: str = "grad_norms", third: str = "accuracy",
                 lecture: bool = False, gradient_at: str = "start", boundary: bool = False):
        self.arguments = dict(statistic=statistic, third=third, lecture=lecture,
                              gradient_at=gradient_at, boundary=boundary)
        if gradient_at not in ("start", "end"):
            raise ValueError(f"gradient_at must be 'start' or 'end', but got {gradient_at!r}.")
        self.gradient_row = 0 if gradient_at == "start" else -1
        if third not in THIRD_PANELS:
            raise ValueError(f"third must be one of {', '.join(map(repr, THIRD_PANELS))}, "
                             f"but got {third!r}.")
        self.statistic, self.third, self.lecture = statistic, third, lecture
        self.boundary = boundary
        when = "at start; dashed: now" if self.gradient_row == 0 else "at the epoch shown"
        self.specs = (panels.gradient_panel(statistic, self.gradient_row, when=when, moving=True),
                      panels.LOSS, panels.third_panel(third))
        # Sizes in CSS pixels as the browser shows the SVG (1 pt = 1 px): tick labels of 11 px
        # at least, a figure 960 px wide (1200 px in lecture mode).
        self.fonts = (LECTURE["fonts"] if lecture else
                      {"font.size": 11.5, "legend.fontsize": 11, "axes.titlesize": 12.5})
        if lecture and boundary:
            # The wider figure is shown as wide as the others (the window's width): its type is
            # larger by as much, so that it still reads at 19 px (WCAG 1.4.4 in lecture mode).
            self.fonts = {key: size * BOUNDARY_WIDTH for key, size in self.fonts.items()}
        with matplotlib.rc_context(self.fonts):
            width, height = LECTURE["figsize"] if lecture else (13.33, 4.1)
            margins = dict(LECTURE["margins"] if lecture else dict(
                left=0.065, right=0.985, bottom=0.165, top=0.84, wspace=0.3))
            if boundary:
                width *= BOUNDARY_WIDTH
                margins["left"] /= BOUNDARY_WIDTH
                if lecture:      # room for the larger type between four panels
                    margins.update(left=0.085, right=0.975, wspace=0.62)
            self.figure = Figure(figsize=(width, height), dpi=72)
            FigureCanvasAgg(self.figure)
            if boundary:
                *self.axes, self.boundary_ax = self.figure.subplots(
                    1, 4, gridspec_kw={"width_ratios": [1, 1, 1, 0.8]})
            else:
                self.axes = self.figure.subplots(1, 3)
            self.figure.subplots_adjust(**margins)
            self._decorate()
            lines = (dict(linewidth=LECTURE["linewidth"], markersize=LECTURE["markersize"])
                     if lecture else {})
            self.reference = _RunArtists(self.axes, self.specs,
                                         LECTURE["reference_alpha"] if lecture else REFERENCE_ALPHA,
                                         zorder=2, **lines)
            self.current = _RunArtists(self.axes, self.specs, 1.0, zorder=3, **lines)
            self._epoch_artists()
            self._legends()
        self.n_layers = None
        self.shown = None         # (current, reference) the figure shows
        self.epoch = None         # the epoch it shows
        self.background = None    # the blitting background of the runs shown (see frame)
        self._grids = {}          # id(outcome) -> BoundaryGrids of the runs drawn lately

    def twin(self) -> "LabFigure":
        """A new figure like this one (the background thread draws on its own)."""
        return type(self)(**self.arguments)

    # --- built once -------------------------------------------------------
    def _decorate(self):
        self.chance = None
        for ax, spec in zip(self.axes, self.specs):
            # An explicit title height spares matplotlib a layout pass on every draw.
            ax.set_title(self._words(spec.title, title=True), y=1.0)
            ax.set_xlabel(self._words(spec.xlabel))
            ax.set_ylabel(spec.ylabel)
            if spec.ylim is not None:
                ax.set_ylim(*spec.ylim)
            if spec.chance:
                self.chance = ax.axhline(0.5, color="gray", linestyle=":", linewidth=1)
            if spec.log:
                ax.set_yscale("log")
                ax.yaxis.set_major_locator(LogLocator(base=10, numticks=7))
                ax.yaxis.set_major_formatter(FuncFormatter(_power_of_ten))
                ax.yaxis.set_minor_locator(NullLocator())
            if spec.x == "epoch":
                ax.xaxis.set_major_locator(MaxNLocator(6, integer=True))
            ax.grid(True, alpha=0.3)
            # For speed: grid lines instead of tick marks, and axis labels at fixed places
            # (placing them by the tick labels' sizes costs a layout pass on every redraw).
            ax.tick_params(which="both", bottom=False, left=False,
                           labelsize=self.fonts["font.size"])
            y_label_x, x_label_y = self._label_coords()
            ax.xaxis.set_label_coords(0.5, x_label_y)
            ax.yaxis.set_label_coords(y_label_x, 0.5)

    def _label_coords(self) -> tuple[float, float]:
        """Where the axis labels sit (y label's x, x label's y, in axes fractions)."""
        if not self.lecture:
            return -0.155, -0.13
        return (-0.3, -0.19) if self.boundary else LECTURE["label_coords"]

    def _epoch_artists(self):
        """The artists that move with the epoch shown, collected in ``moving`` (drawing order)."""
        self.moving = []
        self.epoch_lines = []
        for ax, spec in zip(self.axes, self.specs):
            if spec.x == "epoch":
                line = ax.axvline(np.nan, color="0.25", linestyle=":", linewidth=1.2, zorder=5)
                self.epoch_lines.append(line)
                self.moving.append((ax, line))
            elif any(series.at for series in spec.series) and "(" not in spec.title:
                ax.title.set_text(self._words(f"{spec.title} (by now)", title=True))
        for index, (ax, spec) in enumerate(zip(self.axes, self.specs)):
            for number, series in enumerate(spec.series):
                if series.at is not None:
                    self.moving += [(ax, self.reference.lines[index][number]),
                                    (ax, self.current.lines[index][number])]
        if self.boundary:
            ax, spec = self.boundary_ax, panels.BOUNDARY
            self.boundary_image = ax.imshow(np.zeros((2, 2)), origin="lower", aspect="auto",
                                            cmap="coolwarm", vmin=0, vmax=1, alpha=0.35,
                                            interpolation="nearest", extent=(0, 1, 0, 1))
            self.boundary_points = ax.scatter(np.zeros(0), np.zeros(0), c=np.zeros(0),
                                              s=12 if self.lecture else 7, cmap="coolwarm",
                                              vmin=0, vmax=1, edgecolors="none")
            ax.set_title(self._words(spec.title, title=True), y=1.0)
            ax.set_xlabel(self._words(spec.xlabel))
            ax.set_ylabel(spec.ylabel)
            ax.set_xticks([])
            ax.set_yticks([])
            y_label_x, x_label_y = self._label_coords()
            ax.xaxis.set_label_coords(0.5, x_label_y)
            ax.yaxis.set_label_coords(0.5 * y_label_x, 0.5)
            if self.lecture:
                ax.xaxis.label.set_text("feature 1")     # the title says what the shade is
            self.moving += [(ax, self.boundary_image), (ax, self.boundary_points),
                            (ax, ax.title)]

    def _words(self, text: str, title: bool = False) -> str:
        """A panel's title or axis label; in lecture mode shorter, and long titles on two lines."""
        if not self.lecture:
            return text
        text = text.replace("Dense layer (", "layer (")
        return text.replace(" (", "\n(", 1) if title and len(text) > 30 else text

    def _legends(self):
        # Above the panels, where it can never cover a curve.
        self.run_legend = self.figure.legend([self.reference.lines[0][0], self.current.lines[0][0]],
                                             ["reference", "this run"], loc="upper center",
                                             ncol=2, frameon=False)
        self.legend_flags = None
        self.panel_legends = [None] * len(self.specs)
        # Said on the gradient panel when this run's line cannot be drawn (all exactly 0).
        self.zero_note = self.axes[0].text(0.5, 0.2, "", transform=self.axes[0].transAxes,
                                           ha="center", va="center", zorder=6,
                                           fontsize=self.fonts["legend.fontsize"])
        self.moving.append((self.axes[0], self.zero_note))

    def _legend_entries(self, results) -> None:
        """Line styles of the panels with several series (loss, accuracy), in gray: a series
        is listed only when some run has it (rebuilt only when that changes)."""
        present = tuple(tuple(any(len(series.data(r)[0]) for r in results) for series in spec.series)
                        for spec in self.specs)
        if present == self.legend_flags:
            return
        self.legend_flags = present
        corners = ("best", "lower left", "lower right")
        for index, (ax, spec, shown) in enumerate(zip(self.axes, self.specs, present)):
            if len(spec.series) < 2:
                continue
            entries = []
            for series, has in zip(spec.series, shown):
                style = series.style_for(results[0].history)
                if has and series.shared_legend:
                    entries.append((Line2D([], [], color="0.35", linestyle=style.get("linestyle", "-"),
                                           marker=style.get("marker", "None")), series.legend))
            if spec.chance:
                entries.append((self.chance, "chance"))
            if self.panel_legends[index] is not None:
                self.panel_legends[index].remove()
            self.panel_legends[index] = (ax.legend(*zip(*entries), loc=corners[index],
                                                   fontsize=self.fonts["legend.fontsize"])
                                         if entries else None)

    # --- on every click ---------------------------------------------------
    def draw(self, current, reference, current_label: str = "this run",
             reference_label: str = "reference", current_color: str = FIXED_COLOR,
             reference_color: str = BROKEN_COLOR, format: str = "png",
             epoch: int | None = None) -> bytes:
        """Show ``current`` over ``reference`` (``experiments.Outcome`` objects) after ``epoch``
        epochs (None: the last); return the figure as PNG bytes (``format="svg"``: SVG text
        as UTF-8 bytes, see :meth:`render`)."""
        self.show(current, reference, current_label, reference_label, current_color,
                  reference_color, epoch=epoch)
        return self.render(format)

    def show(self, current, reference, current_label: str = "this run",
             reference_label: str = "reference", current_color: str = FIXED_COLOR,
             reference_color: str = BROKEN_COLOR, epoch: int | None = None) -> None:
        """Put both runs into the figure's lines, legends and limits, at ``epoch`` (None: the
        last); nothing is rendered."""
        # Every size is set on the artists themselves (no rc_context): a twin of this figure
        # may be drawing in the background thread at the same time.
        for artists, result, color in ((self.reference, reference, reference_color),
                                       (self.current, current, current_color)):
            artists.color(color)
            artists.show(self.specs, result)
        texts = self.run_legend.get_texts()
        texts[0].set_text(reference_label)
        texts[1].set_text(current_label)
        for handle, color in zip(self.run_legend.legend_handles,
                                 (reference_color, current_color)):
            handle.set_color(color)
            handle.set_marker(run_marker(color) or "o")
        self._set_limits(current, reference)
        self._legend_entries((current, reference))
        if self.boundary:
            self._show_data(current)
        self.shown, self.background = (current, reference), None
        self.show_epoch(current, reference, epoch)

    def show_epoch(self, current, reference, epoch: int | None = None) -> int:
        """Move the figure that :meth:`show` filled to ``epoch`` (None: the last): only what
        depends on the epoch changes (the markers on the epoch axes, the series with ``at``,
        the decision boundary). Returns the epoch shown; nothing is rendered."""
        if self.shown is None:
            raise RuntimeError("show_epoch moves a figure filled by show(); call show first.")
        last = current.config.epochs
        epoch = last if epoch is None else int(min(max(epoch, 0), last))
        for line in self.epoch_lines:
            line.set_xdata([epoch, epoch])
        for artists, result in ((self.reference, reference), (self.current, current)):
            for spec, lines in zip(self.specs, artists.lines):
                for series, line in zip(spec.series, lines):
                    if series.at is not None:
                        line.set_data(*series.at(result, epoch))
        if self.gradient_row == 0:     # the dashed "now" line: nothing to add at the start
            for artists in (self.reference, self.current):
                artists.lines[0][-1].set_visible(epoch > 0 and artists is self.current)
        rows = getattr(current.history, self.statistic)
        row = (None if rows.shape[0] == 0 else 0 if self.gradient_row == 0
               else step_at_epoch(current.history, epoch))
        note = None if row is None else panels.zero_gradient_note(rows[row])
        self.zero_note.set_text(note or "")
        self.zero_note.set_color(self.current.gradient.get_color())
        if self.boundary:
            grid, kept = self._grid(current).at(epoch)
            self.boundary_image.set_data(grid)
            # In lecture mode on two lines: the panel is narrow for 19 px type.
            self.boundary_ax.title.set_text(f"{panels.BOUNDARY.title}"
                                            f"{chr(10) if self.lecture else ' '}(epoch {kept})")
        self.epoch = epoch
        return epoch

    def describe(self, current, reference, current_label: str = "this run",
                 reference_label: str = "reference", current_color: str = FIXED_COLOR,
                 reference_color: str = BROKEN_COLOR, epoch: int | None = None) -> str:
        """The figure in words, for its text alternative (a screen reader reads it instead of
        the picture): each run's look, then each panel's numbers after ``epoch`` epochs (None:
        the last), read from the same series the panels draw. Nothing is drawn."""
        last = current.config.epochs
        epoch = last if epoch is None else int(min(max(epoch, 0), last))
        reference_name = reference_label.removeprefix("reference: ")
        current_name = "" if current_label == "this run" else f"{current_label}, "
        sentences = [f"This run ({current_name}{panels.run_look(current_color)}) over the faint "
                     f"reference run ({reference_name}, {panels.run_look(reference_color)})."]
        for index, spec in enumerate(self.specs):
            words = []
            for is_current, name, result in ((True, "this run", current),
                                             (False, "reference", reference)):
                # The dashed "now" gradient line is drawn for this run only, after epoch 0.
                shown = [(series, *(series.at(result, epoch) if series.at else series.data(result)))
                         for number, series in enumerate(spec.series)
                         if not (index == 0 and number > 0 and (epoch == 0 or not is_current))]
                said = panels.panel_words(spec, shown, epoch, several=len(shown) > 1)
                mark = divergence_mark(result.history) if spec.marks_divergence else None
                if mark is not None:
                    said = mark[1].strip() if said is None else f"{said}, {mark[1].strip()}"
                words.append(f"{name} {said or 'nothing to show'}")
            title = self.axes[index].get_title().replace("\n", " ")
            sentences.append(f"{title}: {'; '.join(words)}.")
        if self.boundary:
            kept = self._grid(current).at(epoch)[1]
            sentences.append(f"Decision boundary of this run after epoch {kept}: "
                             "the plane shaded by the class it predicts, the data on top.")
        sentences.append(f"Epoch {epoch} of {last}" + (" (before training)." if epoch == 0 else "."))
        return " ".join(sentences)

    def frame(self, current, reference, epoch: int | None = None) -> bytes:
        """The figure :meth:`show` filled, moved to ``epoch``, as PNG bytes, fast: by blitting.

        The first frame of a run rasterizes everything that does not move with the epoch
        (at ``FRAME_SCALE`` times the CSS size) and keeps it; every frame is that background
        with the moving artists drawn over it. Show it at :meth:`css_size`.
        """
        self.show_epoch(current, reference, epoch)
        canvas, dpi = self.figure.canvas, self.figure.dpi
        self.figure.dpi = 72 * FRAME_SCALE
        try:
            if self.background is None:
                visible = [artist.get_visible() for _, artist in self.moving]
                for _, artist in self.moving:
                    artist.set_visible(False)
                try:
                    canvas.draw()
                finally:
                    for (_, artist), was in zip(self.moving, visible):
                        artist.set_visible(was)
                self.background = canvas.copy_from_bbox(self.figure.bbox)
            canvas.restore_region(self.background)
            for ax, artist in self.moving:
                if artist.get_visible():
                    ax.draw_artist(artist)
            buffer = io.BytesIO()
            Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw",
                             "RGBA", 0, 1).save(buffer, format="png", compress_level=1)
        finally:
            self.figure.dpi = dpi
        return buffer.getvalue()

    def css_size(self) -> tuple[int, int]:
        """The figure's size in CSS pixels, as the SVG shows it (width, height)."""
        width, height = self.figure.get_size_inches() * 72
        return int(round(width)), int(round(height))

    def _grid(self, result) -> BoundaryGrids:
        grids = self._grids.get(id(result))
        if grids is None or grids.history is not result.history:
            if len(self._grids) >= 8:
                self._grids.pop(next(iter(self._grids)))     # forget the oldest run
            grids = self._grids[id(result)] = BoundaryGrids(result)
        return grids

    def _show_data(self, current) -> None:
        grids = self._grid(current)
        classes = max(int(grids.y.max()), 1)
        self.boundary_image.set_extent(grids.extent)
        self.boundary_image.set_clim(0, classes)
        self.boundary_points.set_offsets(grids.X[:, :2])
        self.boundary_points.set_array(grids.y)
        self.boundary_points.set_clim(0, classes)
        self.boundary_ax.set_xlim(grids.extent[0], grids.extent[1])
        self.boundary_ax.set_ylim(grids.extent[2], grids.extent[3])

    def render(self, format: str = "png") -> bytes:
        """The figure as it stands: PNG bytes, or (``"svg"``) SVG as UTF-8 bytes.

        The SVG keeps its text as text and its lines as vectors: sharp at any screen
        resolution, and cheaper to make than a PNG (nothing is rasterized in Python).
        Its size is in CSS pixels (1 figure point = 1 px), so a browser shows the
        type at the sizes ``fonts`` gives.
        """
        if format not in ("png", "svg"):
            raise ValueError(f"format must be 'png' or 'svg', but got {format!r}.")
        if format == "svg":
            return _svg(self.figure).encode()
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
        return buffer.getvalue()

    def _set_limits(self, current, reference) -> None:
        histories = (current.history, reference.history)
        last_epoch = max(max(epoch_span(h) for h in histories), 1) * 1.02
        for ax, spec, lines in zip(self.axes, self.specs,
                                   zip(self.current.lines, self.reference.lines)):
            ax.xaxis.label.set_text(self._words(spec.xlabel_for(histories)))
            if spec.x == "layer":
                n_layers = max(len(line.get_xdata()) for line in lines[0] + lines[1])
                if n_layers != getattr(ax, "_nnlab_layers", None):
                    ax._nnlab_layers = n_layers
                    ax.set_xticks(np.arange(1, n_layers + 1))
                    ax.set_xlim(0.6, n_layers + 0.4)
            else:
                ax.set_xlim(0, last_epoch)
            if spec.log:
                # Moving series: limits that hold for every epoch a lab can show, so the
                # axes stay still while it plays.
                frames = [series.at(run, epoch) for series in spec.series if series.at
                          for run in (current, reference)
                          for epoch in frame_epochs(run.config.epochs)]
                ax.set_ylim(*decades(np.concatenate(
                    [np.asarray(line.get_ydata(), dtype=float) for line in lines[0] + lines[1]]
                    + [np.asarray(y, dtype=float) for _, y in frames])))
            if spec.chance:
                classes = max(h.n_classes for h in histories) or 2
                self.chance.set_ydata([1.0 / classes] * 2)
