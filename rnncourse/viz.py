"""Diagrams of recurrent networks drawn with matplotlib, and the standard plots of the book.

The module reads top to bottom: drawing primitives first (:class:`Box`, :func:`draw_box`,
:func:`draw_arrow`, :func:`draw_feedback`), then the diagrams built from them (a cell, an unrolled
network, the sequence configurations), then plots of training results. Later chapters draw gate
diagrams (LSTM, GRU) from the same primitives.

Diagrams live in data coordinates with an equal aspect ratio, so one unit is the same length in
``x`` and ``y``; a box is about one unit wide. Every function draws on ``ax`` when one is given,
creates a figure otherwise, and returns what it drew on. Nothing here calls ``plt.show()``:
a notebook shows the figure by itself, a script calls ``plt.show()`` or ``fig.savefig(...)``.

Importing this module draws nothing and creates no figure.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path

# One colour per role, so that a reader recognises inputs, states and outputs across chapters.
COLORS = {
    "input": "#cfe2f3",
    "hidden": "#fce5cd",
    "output": "#d9ead3",
    "initial": "#eeeeee",
    "encoder": "#fce5cd",
    "decoder": "#ead1dc",
    "gate": "#fff2cc",
    "edge": "#333333",
    "weight": "#7f3f00",
}

# ---------------------------------------------------------------------------------------------
# Primitives
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """A rectangle on a diagram: centre ``(x, y)``, size ``width`` by ``height``.

    Its ``top``, ``bottom``, ``left`` and ``right`` are the midpoints of its sides, where arrows
    attach.
    """

    x: float
    y: float
    width: float
    height: float

    @property
    def top(self) -> tuple[float, float]:
        return (self.x, self.y + self.height / 2)

    @property
    def bottom(self) -> tuple[float, float]:
        return (self.x, self.y - self.height / 2)

    @property
    def left(self) -> tuple[float, float]:
        return (self.x - self.width / 2, self.y)

    @property
    def right(self) -> tuple[float, float]:
        return (self.x + self.width / 2, self.y)

    def side(self, name: str, shift: float = 0.0) -> tuple[float, float]:
        """The point on side ``name`` (``"left"`` or ``"right"``), moved ``shift`` units up."""
        x, y = getattr(self, name)
        return (x, y + shift)


def new_axes(ax=None, figsize: tuple[float, float] = (4.0, 4.0)):
    """``ax`` prepared for a diagram (equal aspect, no frame), or a new figure's axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def draw_box(ax, x: float, y: float, text: str = "", *, width: float = 0.9, height: float = 0.6,
             role: str = "hidden", dashed: bool = False, fontsize: float = 12) -> Box:
    """A rounded box centred at ``(x, y)`` with ``text`` inside, coloured by its ``role``
    (a key of :data:`COLORS`). Returns its :class:`Box` for arrows to attach to."""
    box = Box(x, y, width, height)
    patch = FancyBboxPatch(
        (x - width / 2, y - height / 2), width, height,
        boxstyle="round,pad=0,rounding_size=0.12",
        facecolor=COLORS[role], edgecolor=COLORS["edge"], linewidth=1.2,
        linestyle="--" if dashed else "-",
    )
    ax.add_patch(patch)
    if text:
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)
    return box


def _label(ax, point: tuple[float, float], text: str, offset: tuple[float, float], fontsize: float):
    """A weight's name next to the edge it labels, in the weight colour."""
    ax.text(point[0] + offset[0], point[1] + offset[1], text, ha="center", va="center",
            fontsize=fontsize, color=COLORS["weight"])


def draw_arrow(ax, start: tuple[float, float], end: tuple[float, float], text: str | None = None, *,
               text_offset: tuple[float, float] = (0.0, 0.0), dashed: bool = False,
               fontsize: float = 11) -> FancyArrowPatch:
    """A straight arrow from ``start`` to ``end``, labelled ``text`` near its middle (moved by
    ``text_offset``). Returns the arrow patch."""
    arrow = FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, shrinkA=0, shrinkB=0,
                            color=COLORS["edge"], linewidth=1.3, linestyle="--" if dashed else "-")
    # add_artist, not add_patch: arrows should not stretch the view limits, the boxes set them.
    ax.add_artist(arrow)
    if text:
        middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
        _label(ax, middle, text, text_offset, fontsize)
    return arrow


def draw_path_arrow(ax, points: Sequence[tuple[float, float]], text: str | None = None, *,
                    text_at: int = 1, text_offset: tuple[float, float] = (0.0, 0.0),
                    fontsize: float = 11) -> FancyArrowPatch:
    """An arrow along the polyline ``points``, with its head at the last point.

    ``text`` is placed at the middle of segment ``text_at`` (segment ``i`` joins ``points[i]``
    and ``points[i + 1]``), moved by ``text_offset``. Returns the arrow patch.
    """
    if len(points) < 2:
        raise ValueError(f"expected at least 2 points for a path, got {len(points)}")
    path = Path(points, [Path.MOVETO] + [Path.LINETO] * (len(points) - 1))
    arrow = FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=14, color=COLORS["edge"],
                            linewidth=1.3, joinstyle="round")
    ax.add_artist(arrow)
    if text:
        (x0, y0), (x1, y1) = points[text_at], points[text_at + 1]
        _label(ax, ((x0 + x1) / 2, (y0 + y1) / 2), text, text_offset, fontsize)
    return arrow


def draw_feedback(ax, source: Box, target: Box, text: str | None = None, *, side: str = "right",
                  reach: float = 0.6, fontsize: float = 11) -> FancyArrowPatch:
    """A feedback connection: out of ``source``'s ``side``, along the outside, into ``target``'s
    same side. With ``source is target`` it is a self-loop (the Elman hidden layer); with two
    boxes it carries one box's value back to another (the Jordan output to the hidden layer).

    The drawn connection stands for a one-step delay: what leaves at step ``t`` arrives at ``t+1``.
    """
    if side not in ("left", "right"):
        raise ValueError(f"expected side to be 'left' or 'right', got {side!r}")
    sign = 1.0 if side == "right" else -1.0
    # A self-loop leaves from the upper half and re-enters through the lower half of the same side.
    lift = source.height * 0.3 if source == target else 0.0
    start = source.side(side, lift)
    end = target.side(side, -lift)
    outer = max(start[0] * sign, end[0] * sign) * sign + sign * reach  # the vertical run's x
    points = [start, (outer, start[1]), (outer, end[1]), end]
    return draw_path_arrow(ax, points, text, text_at=1, text_offset=(sign * 0.42, 0.0), fontsize=fontsize)


def fit_view(ax, boxes: Sequence[Box], pad: float = 0.6):
    """Set ``ax``'s limits to enclose ``boxes`` with ``pad`` units to spare (room for labels and
    feedback loops). Returns ``ax``."""
    ax.set_xlim(min(b.x - b.width / 2 for b in boxes) - pad, max(b.x + b.width / 2 for b in boxes) + pad)
    ax.set_ylim(min(b.y - b.height / 2 for b in boxes) - pad, max(b.y + b.height / 2 for b in boxes) + pad)
    return ax


# ---------------------------------------------------------------------------------------------
# Diagrams: one recurrent cell, the unrolled network, the sequence configurations
# ---------------------------------------------------------------------------------------------

KINDS = ("elman", "jordan")


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"expected kind to be one of {', '.join(map(repr, KINDS))}, got {kind!r}")


def draw_cell(kind: str = "elman", ax=None):
    r"""The folded network of one kind: input :math:`x_t`, hidden layer :math:`h_t`, output
    :math:`y_t`, and its feedback loop.

    For ``"elman"`` the loop takes :math:`h_{t-1}` back into the hidden layer through
    :math:`W_{hh}`; for ``"jordan"`` it takes the previous output :math:`y_{t-1}` back into the
    hidden layer through :math:`W_{yh}`. Returns the axes.
    """
    _check_kind(kind)
    ax = new_axes(ax, figsize=(3.0, 4.2))
    x = draw_box(ax, 0, 0, r"$x_t$", role="input")
    h = draw_box(ax, 0, 1.6, r"$h_t$", role="hidden")
    y = draw_box(ax, 0, 3.2, r"$y_t$", role="output")
    draw_arrow(ax, x.top, h.bottom, r"$W_{ih}$", text_offset=(-0.42, 0))
    draw_arrow(ax, h.top, y.bottom, r"$W_{hy}$", text_offset=(-0.42, 0))
    if kind == "elman":
        draw_feedback(ax, h, h, r"$W_{hh}$")
    else:
        draw_feedback(ax, y, h, r"$W_{yh}$")
    ax.set_title("Elman network" if kind == "elman" else "Jordan network")
    fit_view(ax, [x, h, y], pad=0.3)
    ax.set_xlim(-1.1, 1.6)  # the feedback loop and its label stand to the right of the column
    return ax


def draw_unrolled(steps: int = 4, kind: str = "elman", ax=None):
    r"""The network unrolled over ``steps`` time steps: one column per step ``t = 1 … T`` with
    :math:`x_t` below, :math:`h_t` in the middle and :math:`y_t` above, plus the initial state
    (:math:`h_0` for Elman, :math:`y_0` for Jordan) in a dashed box.

    Every edge is labelled with its weight matrix; the same labels in every column show that the
    weights are shared across time. Returns the axes.
    """
    _check_kind(kind)
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"expected steps to be a positive int, got {steps!r}")
    spacing = 1.9
    ax = new_axes(ax, figsize=(1.6 * steps + 1.6, 4.0))
    state_row = 1.5 if kind == "elman" else 3.0
    previous = draw_box(ax, 0, state_row, r"$h_0$" if kind == "elman" else r"$y_0$", role="initial", dashed=True)
    boxes = [previous]
    for t in range(1, steps + 1):
        column = t * spacing
        x = draw_box(ax, column, 0, rf"$x_{{{t}}}$", role="input")
        h = draw_box(ax, column, 1.5, rf"$h_{{{t}}}$", role="hidden")
        y = draw_box(ax, column, 3.0, rf"$y_{{{t}}}$", role="output")
        draw_arrow(ax, x.top, h.bottom, r"$W_{ih}$", text_offset=(-0.38, 0), fontsize=10)
        draw_arrow(ax, h.top, y.bottom, r"$W_{hy}$", text_offset=(-0.38, 0), fontsize=10)
        if kind == "elman":
            draw_arrow(ax, previous.right, h.left, r"$W_{hh}$", text_offset=(0, 0.2), fontsize=10)
            previous = h
        else:
            # The previous output enters the hidden layer: a diagonal edge down one row.
            draw_arrow(ax, previous.right, h.left, r"$W_{yh}$", text_offset=(-0.3, -0.25), fontsize=10)
            previous = y
        boxes += [x, h, y]
    shared = r"$W_{ih}, W_{hh}, W_{hy}$" if kind == "elman" else r"$W_{ih}, W_{yh}, W_{hy}$"
    ax.text(spacing * (steps + 1) / 2, -0.75, f"the same weights {shared} at every step",
            ha="center", va="center", fontsize=10, color=COLORS["weight"])
    fit_view(ax, boxes, pad=0.55)
    ax.set_ylim(-1.05, ax.get_ylim()[1])  # room for the shared-weights caption
    return ax


@dataclass(frozen=True)
class Configuration:
    """Which steps of a chain read an input and which write an output.

    ``reads[t]`` / ``writes[t]``: step ``t`` has an input / an output; ``roles[t]`` colours its
    hidden box (``"hidden"``, or ``"encoder"`` / ``"decoder"``).
    """

    title: str
    reads: tuple[bool, ...]
    writes: tuple[bool, ...]
    roles: tuple[str, ...]


_ON, _OFF = True, False
CONFIGURATIONS = {
    "many-to-one": Configuration("many-to-one", (_ON,) * 4, (_OFF,) * 3 + (_ON,), ("hidden",) * 4),
    "one-to-many": Configuration("one-to-many", (_ON,) + (_OFF,) * 3, (_ON,) * 4, ("hidden",) * 4),
    "many-to-many": Configuration("many-to-many, aligned", (_ON,) * 4, (_ON,) * 4, ("hidden",) * 4),
    "encoder-decoder": Configuration(
        "encoder-decoder", (_ON,) * 3 + (_OFF,) * 3, (_OFF,) * 3 + (_ON,) * 3,
        ("encoder",) * 3 + ("decoder",) * 3,
    ),
}


def draw_configuration(name: str, ax=None):
    """One sequence configuration (a key of :data:`CONFIGURATIONS`) as a chain of hidden states,
    with inputs below the steps that read and outputs above the steps that write.

    Inputs are numbered from 1 in reading order and outputs from 1 in writing order, so the
    encoder-decoder shows ``x_1 … x_3`` and then ``y_1 … y_3``. Returns the axes.
    """
    if name not in CONFIGURATIONS:
        raise ValueError(f"expected name to be one of {', '.join(map(repr, CONFIGURATIONS))}, got {name!r}")
    configuration = CONFIGURATIONS[name]
    ax = new_axes(ax, figsize=(1.1 * len(configuration.reads) + 1, 3.0))
    boxes, previous, inputs, outputs = [], None, 0, 0
    for t, (reads, writes, role) in enumerate(zip(configuration.reads, configuration.writes, configuration.roles)):
        column = t * 1.2
        h = draw_box(ax, column, 1.2, "", width=0.7, height=0.5, role=role)
        boxes.append(h)
        if reads:
            inputs += 1
            x = draw_box(ax, column, 0, rf"$x_{{{inputs}}}$", width=0.7, height=0.5, role="input", fontsize=10)
            draw_arrow(ax, x.top, h.bottom)
            boxes.append(x)
        if writes:
            outputs += 1
            y = draw_box(ax, column, 2.4, rf"$y_{{{outputs}}}$", width=0.7, height=0.5, role="output", fontsize=10)
            draw_arrow(ax, h.top, y.bottom)
            boxes.append(y)
        if previous is not None:
            # The edge from the last encoder step to the first decoder step carries the context.
            handover = configuration.roles[t - 1] == "encoder" and role == "decoder"
            draw_arrow(ax, previous.right, h.left, "context" if handover else None,
                       text_offset=(0, 0.38), fontsize=9)
        previous = h
    ax.set_title(configuration.title, fontsize=11)
    fit_view(ax, boxes, pad=0.3)
    return ax


def draw_sequence_configurations():
    """The four configurations side by side: many-to-one, one-to-many, many-to-many aligned and
    encoder-decoder. Returns the figure."""
    widths = [len(c.reads) for c in CONFIGURATIONS.values()]
    fig, axes = plt.subplots(1, len(CONFIGURATIONS), figsize=(14, 3.0), gridspec_kw={"width_ratios": widths})
    for ax, name in zip(axes, CONFIGURATIONS):
        draw_configuration(name, ax=ax)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Plots of results
# ---------------------------------------------------------------------------------------------


def plot_history(history, ax=None, log: bool = False, label: str | None = None):
    """Loss per epoch from a :class:`rnncourse.train.History` (or any object with ``train_loss``
    and ``val_loss`` lists): the training curve, and the validation curve when there is one.

    ``log=True`` uses a logarithmic loss axis. ``label`` prefixes the legend entries, so that
    several histories can share one axes (``plot_history(h1, ax, label="Elman")``). Returns the axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5))
    prefix = f"{label} " if label else ""
    epochs = range(1, len(history.train_loss) + 1)
    (line,) = ax.plot(epochs, history.train_loss, label=f"{prefix}training")
    if len(history.val_loss):
        # Same colour, dashed: the two curves of one model read as a pair.
        ax.plot(range(1, len(history.val_loss) + 1), history.val_loss, "--", color=line.get_color(),
                label=f"{prefix}validation")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    return ax


def plot_sequences(series: Mapping[str, Sequence[float]], ax=None, title: str | None = None,
                   xlabel: str = "time step t"):
    """Several 1-D series of the same length against time, one line per ``name: values`` entry
    (a list, a NumPy array or a 1-D tensor of ``T`` values; tensors are detached and moved to the CPU). Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3))
    for name, values in series.items():
        values = values.detach().cpu() if hasattr(values, "detach") else values
        ax.plot(range(1, len(values) + 1), values, label=name)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax
