"""Drawing primitives every diagram of the book is built from.

Diagrams live in data coordinates with an equal aspect ratio, so one unit is the same length in
``x`` and ``y``; a box is about one unit wide. Every function draws on ``ax`` when one is given,
creates a figure otherwise, and returns what it drew on.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
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


def draw_label(ax, point: tuple[float, float], text: str, offset: tuple[float, float], fontsize: float):
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
        draw_label(ax, middle, text, text_offset, fontsize)
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
        draw_label(ax, ((x0 + x1) / 2, (y0 + y1) / 2), text, text_offset, fontsize)
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
# Pieces of gate diagrams (LSTM, GRU, MGU and the later cells)
# ---------------------------------------------------------------------------------------------
#
# A gate diagram reads from bottom to top: the inputs x_t and h_{t-1} run along a bus at the
# bottom, rise into the gate layers (boxes, labelled with their nonlinearity), and the gates act
# on the state line at the top through pointwise operations (circles). The state line is drawn
# thicker than the other connections: it is the path along which memory, and gradient, travel.

STATE_LINE_WIDTH = 3.0


def draw_line(ax, points: Sequence[tuple[float, float]], *, width: float = 1.3, dashed: bool = False):
    """A plain polyline through ``points`` (no arrow head): a bus or a state line that branches.
    Returns the line."""
    xs, ys = zip(*points)
    (line,) = ax.plot(xs, ys, color=COLORS["edge"], linewidth=width, linestyle="--" if dashed else "-",
                      solid_capstyle="butt", zorder=1)
    return line


def draw_op(ax, x: float, y: float, symbol: str, *, radius: float = 0.22, fontsize: float = 11) -> Box:
    r"""A pointwise operation: a small circle centred at ``(x, y)`` with ``symbol`` inside
    (``r"$\odot$"``, ``"$+$"``, ``"$1-$"``, ``"tanh"``). Returns a :class:`Box` around the circle,
    whose side midpoints lie on the circle, for arrows to attach to."""
    circle = Circle((x, y), radius, facecolor="white", edgecolor=COLORS["edge"], linewidth=1.2, zorder=3)
    ax.add_patch(circle)
    ax.text(x, y, symbol, ha="center", va="center", fontsize=fontsize, zorder=4)
    return Box(x, y, 2 * radius, 2 * radius)



HIGHLIGHT = "#c00000"  # the edge colour of the part of a diagram that the text is talking about


def gate_box(ax, x: float, y: float, function: str) -> Box:
    """A gate layer: a box holding its nonlinearity, ``"sigma"`` or ``"tanh"``."""
    text = r"$\sigma$" if function == "sigma" else r"$\tanh$"
    width = 0.8 if function == "sigma" else 1.0  # "tanh" is wider than the box of a sigma
    return draw_box(ax, x, y, text, width=width, height=0.6, role="gate", fontsize=12)


def input_bus(ax, source: Box, x_box: Box, y: float, end: float) -> None:
    """The input bus at height ``y``: ``source`` (the box of ``h_{t-1}``, above or beside the bus)
    and ``x_t`` join it, and it runs right to ``end``."""
    start_x = source.x
    draw_line(ax, [source.bottom, (start_x, y), (end, y)])
    draw_arrow(ax, x_box.top, (x_box.x, y))


def rise(ax, bus_y: float, box: Box, text: str | None = None, text_offset=(0.0, 0.0)) -> None:
    """An arrow from the bus straight up into ``box``."""
    draw_arrow(ax, (box.x, bus_y), box.bottom, text, text_offset=text_offset, fontsize=10)



def draw_cell_read(ax, x: float, line_y: float, squash_y: float, output_gate: Box, target: tuple[float, float]) -> None:
    r"""The read of an LSTM-type cell, :math:`h_t = o_t \odot \tanh(c_t)`: from the state line at
    ``(x, line_y)`` down into a ``tanh`` operation at height ``squash_y``, on into a :math:`\odot` level
    with ``output_gate``, which enters it from the left, and an arrow from there to ``target``."""
    squash = draw_op(ax, x, squash_y, "tanh", radius=0.28, fontsize=8)
    draw_arrow(ax, (x, line_y), squash.top)
    read = draw_op(ax, x, output_gate.y, r"$\odot$")
    draw_arrow(ax, squash.bottom, read.top)
    draw_arrow(ax, output_gate.right, read.left, r"$o_t$", text_offset=(0.0, 0.22))
    draw_arrow(ax, read.right, target)


def draw_peepholes(ax, gates: dict[str, Box], line_y: float, drop_x: float, branch: tuple[float, float],
                   names: Sequence[str], places: Sequence[tuple[tuple[float, float], tuple[float, float]]],
                   output_offset: tuple[float, float]) -> None:
    """The dashed peephole connections of an LSTM-type cell. The input and forget gates see the old
    state: a line leaves the state line at ``drop_x``, goes down to the gates' height and into the
    forget gate from the left, and a branch at ``branch = (x, y)`` runs over to ``x`` and down into
    the input gate from the left. The output gate sees the new state, straight down from the state
    line into its top. ``names`` are the three weights' names (forget, input, output); ``places``
    the ``(point, offset)`` of the first two names (see :func:`draw_label`), ``output_offset`` the
    third's offset from the middle of its arrow."""
    gate_y = gates["f"].y
    branch_x, branch_y = branch
    draw_line(ax, [(drop_x, line_y), (drop_x, gate_y)], dashed=True)
    draw_arrow(ax, (drop_x, gate_y), gates["f"].left, dashed=True)
    draw_line(ax, [(drop_x, branch_y), (branch_x, branch_y), (branch_x, gate_y)], dashed=True)
    draw_arrow(ax, (branch_x, gate_y), gates["i"].left, dashed=True)
    for name, (point, offset) in zip(names[:2], places):
        draw_label(ax, point, name, offset, 10)
    draw_arrow(ax, (gates["o"].x, line_y), gates["o"].top, names[2], text_offset=output_offset, dashed=True,
               fontsize=10)
