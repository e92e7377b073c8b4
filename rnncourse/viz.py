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
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path
from matplotlib.ticker import MaxNLocator

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


# ---------------------------------------------------------------------------------------------
# Gated cells: LSTM (chapter 2), GRU and MGU (chapter 4)
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


def _gate(ax, x: float, y: float, function: str) -> Box:
    """A gate layer: a box holding its nonlinearity, ``"sigma"`` or ``"tanh"``."""
    text = r"$\sigma$" if function == "sigma" else r"$\tanh$"
    return draw_box(ax, x, y, text, width=0.8, height=0.6, role="gate", fontsize=12)


def _bus(ax, source: Box, x_box: Box, y: float, end: float) -> None:
    """The input bus at height ``y``: ``source`` (the box of ``h_{t-1}``, above or beside the bus)
    and ``x_t`` join it, and it runs right to ``end``."""
    start_x = source.x
    draw_line(ax, [source.bottom, (start_x, y), (end, y)])
    draw_arrow(ax, x_box.top, (x_box.x, y))


def _rise(ax, bus_y: float, box: Box, text: str | None = None, text_offset=(0.0, 0.0)) -> None:
    """An arrow from the bus straight up into ``box``."""
    draw_arrow(ax, (box.x, bus_y), box.bottom, text, text_offset=text_offset, fontsize=10)


LSTM_VARIANTS = {
    "forget": "LSTM with forget gate (PyTorch's)",
    "original": "original LSTM (1997): no forget gate",
    "peephole": "LSTM with peephole connections",
    "coupled": "coupled input and forget gates",
}


HIGHLIGHT = "#c00000"  # the edge colour of the part of a diagram that the text is talking about


def draw_lstm_cell(variant: str = "forget", ax=None, highlight: str | None = None):
    r"""One LSTM cell in one of its variants (a key of :data:`LSTM_VARIANTS`):

    - ``"forget"``: the cell with a forget gate, PyTorch's ``nn.LSTMCell`` (Gers et al. 2000);
    - ``"original"``: Hochreiter & Schmidhuber (1997), no forget gate, ``c_t = c_{t-1} + i_t g_t``;
    - ``"peephole"``: the forget-gate cell plus diagonal peephole weights (Gers & Schmidhuber
      2000), dashed: :math:`c_{t-1}` into the input and forget gates, :math:`c_t` into the output
      gate;
    - ``"coupled"``: the forget gate computed as :math:`1 - i_t` instead of learned.

    The cell state runs along the top as a thick line, from :math:`c_{t-1}` to :math:`c_t`; the
    gates sit below it and act on it through pointwise operations. These are the variants of
    :class:`rnncourse.cells.LSTMCell`.

    ``highlight`` names one gate layer of the variant (``"i"``, ``"f"``, ``"g"`` or ``"o"``) to
    outline in :data:`HIGHLIGHT`, so that a page can walk through the gates one at a time.
    Returns the axes.
    """
    if variant not in LSTM_VARIANTS:
        raise ValueError(f"expected variant to be one of {', '.join(map(repr, LSTM_VARIANTS))}, got {variant!r}")
    learned = ("i", "g", "o") if variant in ("original", "coupled") else ("i", "f", "g", "o")
    if highlight is not None and highlight not in learned:
        raise ValueError(f"expected highlight to be None or one of the {variant} cell's gates "
                         f"{', '.join(map(repr, learned))}, got {highlight!r}")
    ax = new_axes(ax, figsize=(7.0, 4.6))
    line_y, gate_y, bus_y = 4.2, 2.2, 0.9
    c_prev = draw_box(ax, 0, line_y, r"$c_{t-1}$", role="hidden")
    c_new = draw_box(ax, 9.4, line_y, r"$c_t$", role="hidden")
    h_prev = draw_box(ax, 0, bus_y, r"$h_{t-1}$", role="hidden")
    h_new = draw_box(ax, 9.4, gate_y, r"$h_t$", role="hidden")
    x = draw_box(ax, 1.2, -0.5, r"$x_t$", role="input")
    draw_line(ax, [h_prev.right, (6.4, bus_y)])
    draw_arrow(ax, x.top, (x.x, bus_y))

    # The gate layers, each fed by the bus: sigma for the gates, tanh for the candidate g_t.
    gates = {}
    for name, gx, function in (("f", 2.2, "sigma"), ("i", 3.6, "sigma"), ("g", 5.0, "tanh"), ("o", 6.4, "sigma")):
        if name in learned:
            gates[name] = _gate(ax, gx, gate_y, function)
            if name == highlight:
                ax.patches[-1].set(edgecolor=HIGHLIGHT, linewidth=2.8)  # the box _gate just drew
            _rise(ax, bus_y, gates[name])

    # The write: i_t * g_t, added onto the state line.
    add = draw_op(ax, 4.3, line_y, "$+$")
    write = draw_op(ax, 4.3, 3.2, r"$\odot$")
    draw_path_arrow(ax, [gates["i"].top, (3.6, 3.2), write.left], r"$i_t$", text_at=0, text_offset=(-0.25, 0.1))
    draw_path_arrow(ax, [gates["g"].top, (5.0, 3.2), write.right], r"$g_t$", text_at=0, text_offset=(0.25, 0.1))
    draw_arrow(ax, write.top, add.bottom)

    # The state line, c_{t-1} -> (forget) -> + -> c_t: thick, the "conveyor belt".
    if variant == "original":
        draw_line(ax, [c_prev.right, add.left], width=STATE_LINE_WIDTH)
        ax.text(1.8, 3.05, "no forget gate:\n" + r"$c_t = c_{t-1} + i_t \odot g_t$", ha="center", va="center",
                fontsize=9, color=COLORS["weight"])
    else:
        forget = draw_op(ax, 2.2, line_y, r"$\odot$")
        draw_line(ax, [c_prev.right, forget.left], width=STATE_LINE_WIDTH)
        draw_line(ax, [forget.right, add.left], width=STATE_LINE_WIDTH)
        if variant == "coupled":
            # f_t is not learned: it is 1 - i_t, taken from the input gate's output.
            complement = draw_op(ax, 2.2, 3.2, "$1-$", fontsize=9)
            draw_path_arrow(ax, [gates["i"].top, (3.6, 2.75), (2.2, 2.75), complement.bottom])
            draw_arrow(ax, complement.top, forget.bottom, r"$f_t = 1 - i_t$", text_offset=(-0.75, 0.0),
                       fontsize=10)
        else:
            draw_arrow(ax, gates["f"].top, forget.bottom, r"$f_t$", text_offset=(-0.25, -0.1), fontsize=11)
    # Thick up to the arrow head, so that the whole belt reads as one line.
    draw_line(ax, [add.right, (c_new.left[0] - 0.3, line_y)], width=STATE_LINE_WIDTH)
    draw_arrow(ax, (c_new.left[0] - 0.3, line_y), c_new.left)

    # The read: h_t = o_t * tanh(c_t), taken off the state line after the write.
    squash = draw_op(ax, 7.6, 3.3, "tanh", radius=0.28, fontsize=8)
    draw_line(ax, [(7.6, line_y), (7.6, line_y - 0.01)])
    draw_arrow(ax, (7.6, line_y), squash.top)
    read = draw_op(ax, 7.6, gate_y, r"$\odot$")
    draw_arrow(ax, squash.bottom, read.top)
    draw_arrow(ax, gates["o"].right, read.left, r"$o_t$", text_offset=(0.0, 0.22))
    draw_arrow(ax, read.right, h_new.left)

    if variant == "peephole":
        # Diagonal weights, one per unit. The input and forget gates see the cell before it
        # changes (c_{t-1}, left of the forget multiplication); the output gate sees c_t.
        # Both leave c_{t-1} at one point and enter their gates from the left.
        draw_line(ax, [(1.2, line_y), (1.2, gate_y)], dashed=True)
        draw_arrow(ax, (1.2, gate_y), gates["f"].left, dashed=True)
        _label(ax, (1.2, 3.1), r"$w_{cf}$", (-0.3, 0.0), 10)
        draw_line(ax, [(1.2, 3.65), (2.9, 3.65), (2.9, gate_y)], dashed=True)
        draw_arrow(ax, (2.9, gate_y), gates["i"].left, dashed=True)
        _label(ax, (1.7, 3.65), r"$w_{ci}$", (0.0, 0.2), 10)
        draw_arrow(ax, (6.4, line_y), gates["o"].top, r"$w_{co}$", text_offset=(0.35, 0.2), dashed=True,
                   fontsize=10)
    ax.set_title(LSTM_VARIANTS[variant], fontsize=11)
    ax.set_xlim(-0.7, 10.1)
    ax.set_ylim(-1.0, 4.8)
    return ax


def _draw_single_state_cell(ax, unit: str, reset_after: bool):
    """The GRU (``unit="gru"``) or the MGU (``unit="mgu"``): one state line at the top,
    ``h_t = keep * h_{t-1} + new * candidate``, and the reset acting on the candidate's hidden
    input before or after its matrix product ``W_{hn}``. Returns the axes."""
    line_y, gate_y, bus_y, low_y = 4.4, 2.3, 0.7, 1.45
    h_prev = draw_box(ax, 0, line_y, r"$h_{t-1}$", role="hidden")
    h_new = draw_box(ax, 10.2, line_y, r"$h_t$", role="hidden")
    x = draw_box(ax, 1.2, -0.6, r"$x_t$", role="input")
    _bus(ax, h_prev, x, bus_y, 8.4)

    # The gates: the GRU has an update gate z and a reset gate r; the MGU one gate f doing both jobs.
    reset_name = r"$r_t$" if unit == "gru" else r"$f_t$"
    reset_gate = _gate(ax, 3.9, gate_y, "sigma")
    _rise(ax, bus_y, reset_gate)
    candidate = _gate(ax, 8.4, gate_y, "tanh")
    _rise(ax, bus_y, candidate, r"$x_t$", text_offset=(0.3, 0.0))

    # The reset column at x = 5.5: a multiplication and the product W_hn, in one order or the other.
    if reset_after:
        product = draw_box(ax, 5.5, low_y, r"$W_{hn}$", width=0.8, height=0.5, role="initial", fontsize=11)
        reset = draw_op(ax, 5.5, gate_y, r"$\odot$")
        _rise(ax, bus_y, product, r"$h_{t-1}$", text_offset=(-0.45, 0.0))
        draw_arrow(ax, product.top, reset.bottom)
        draw_arrow(ax, reset_gate.right, reset.left, reset_name, text_offset=(0.0, 0.22))
        draw_arrow(ax, reset.right, candidate.left)
    else:
        reset = draw_op(ax, 5.5, low_y, r"$\odot$")
        product = draw_box(ax, 5.5, gate_y, r"$W_{hn}$", width=0.8, height=0.5, role="initial", fontsize=11)
        draw_arrow(ax, (5.5, bus_y), reset.bottom, r"$h_{t-1}$", text_offset=(-0.45, 0.0), fontsize=10)
        draw_path_arrow(ax, [reset_gate.right, (4.8, gate_y), (4.8, low_y), reset.left], reset_name,
                        text_at=0, text_offset=(0.0, 0.22), fontsize=11)
        draw_arrow(ax, reset.top, product.bottom)
        draw_arrow(ax, product.right, candidate.left)

    # The update: keep part of h_{t-1} on the state line, add the complementary part of the candidate.
    keep = draw_op(ax, 2.4, line_y, r"$\odot$")
    add = draw_op(ax, 8.4, line_y, "$+$")
    new = draw_op(ax, 8.4, 3.3, r"$\odot$")
    complement = draw_op(ax, 2.4 if unit == "mgu" else 7.3, 3.3, "$1-$", fontsize=9)
    draw_arrow(ax, candidate.top, new.bottom, r"$n_t$" if unit == "gru" else r"$\tilde h_t$",
               text_offset=(0.42, 0.0), fontsize=11)
    draw_arrow(ax, new.top, add.bottom)
    if unit == "gru":
        # z_t keeps the old state (PyTorch's and Cho et al.'s convention); 1 - z_t weights the candidate.
        update = _gate(ax, 2.4, gate_y, "sigma")
        _rise(ax, bus_y, update)
        draw_arrow(ax, update.top, keep.bottom, r"$z_t$", text_offset=(-0.25, -0.35), fontsize=11)
        draw_line(ax, [(2.4, 3.3), complement.left])
        draw_arrow(ax, complement.right, new.left)
    else:
        # f_t weights the candidate; 1 - f_t keeps the old state (Zhou et al.'s convention).
        draw_line(ax, [reset_gate.top, (3.9, 3.3)])
        draw_arrow(ax, (3.9, 3.3), new.left, r"$f_t$", text_offset=(0.6, 0.2), fontsize=11)
        draw_arrow(ax, (3.9, 3.3), complement.right)
        draw_arrow(ax, complement.top, keep.bottom)
    draw_line(ax, [h_prev.right, keep.left], width=STATE_LINE_WIDTH)
    draw_line(ax, [keep.right, add.left], width=STATE_LINE_WIDTH)
    draw_line(ax, [add.right, (h_new.left[0] - 0.3, line_y)], width=STATE_LINE_WIDTH)
    draw_arrow(ax, (h_new.left[0] - 0.3, line_y), h_new.left)
    ax.set_xlim(-0.7, 10.9)
    ax.set_ylim(-1.1, 5.0)
    return ax


GRU_CONVENTIONS = {
    True: "GRU, reset after the product (PyTorch, cuDNN)",
    False: "GRU, reset before the product (Cho et al. 2014)",
}


def draw_gru_cell(reset_after: bool = True, ax=None):
    r"""One GRU cell, with the reset gate where :class:`rnncourse.cells.GRUCell` puts it:

    - ``reset_after=True`` (PyTorch, cuDNN): the reset gate scales the product,
      :math:`r_t \odot (W_{hn} h_{t-1} + b_{hn})`;
    - ``reset_after=False`` (Cho et al. 2014): it scales the state before the product,
      :math:`W_{hn} (r_t \odot h_{t-1})`.

    The update gate :math:`z_t` keeps that share of :math:`h_{t-1}` on the state line and
    :math:`1 - z_t` weights the candidate :math:`n_t`. Returns the axes.
    """
    if reset_after not in GRU_CONVENTIONS or not isinstance(reset_after, bool):
        raise ValueError(f"expected reset_after to be True or False, got {reset_after!r}")
    ax = new_axes(ax, figsize=(7.0, 4.6))
    _draw_single_state_cell(ax, "gru", reset_after)
    ax.set_title(GRU_CONVENTIONS[reset_after], fontsize=11)
    return ax


def draw_mgu_cell(ax=None):
    r"""One minimal gated unit (Zhou et al. 2016), :class:`rnncourse.cells.MGUCell`: a single gate
    :math:`f_t` resets the state before the candidate's product, as in Cho et al.'s GRU, and
    weights the candidate :math:`\tilde h_t` against the old state, :math:`h_t = (1 - f_t) \odot
    h_{t-1} + f_t \odot \tilde h_t`. Returns the axes."""
    ax = new_axes(ax, figsize=(7.0, 4.6))
    _draw_single_state_cell(ax, "mgu", reset_after=False)
    ax.set_title("minimal gated unit (MGU)", fontsize=11)
    return ax


# ---------------------------------------------------------------------------------------------
# Plots for comparing cells: gradient norms over time, learning curves against a baseline
# ---------------------------------------------------------------------------------------------


def plot_gradient_norms(norms: Mapping[str, Sequence[float]], ax=None, title: str | None = None,
                        xlabel: str = "input step t", ylabel: str = r"$\Vert \partial \ell_T / \partial x_t \Vert$"):
    """Gradient norms against the time step on a logarithmic axis, one line per ``name: values``
    entry (``values[t - 1]`` belongs to step ``t``; lists, arrays or 1-D tensors). Zeros are not
    drawn, since a log axis cannot show them. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.6))
    for name, values in norms.items():
        values = values.detach().cpu().tolist() if hasattr(values, "detach") else list(values)
        ax.plot(range(1, len(values) + 1), [v if v > 0 else float("nan") for v in values], label=name)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def plot_learning_curves(histories: Mapping, baseline: float | None = None, ax=None, *,
                         baseline_label: str = "baseline", log: bool = False):
    """One loss curve per model from ``name: History`` entries: the validation loss when the
    history has one, the training loss otherwise; ``baseline`` (a loss that needs no learning)
    is drawn as a dashed grey line. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    for name, history in histories.items():
        losses = history.val_loss if len(history.val_loss) else history.train_loss
        ax.plot(range(1, len(losses) + 1), losses, marker=".", label=name)
    if baseline is not None:
        ax.axhline(baseline, color="gray", linestyle="--", label=baseline_label)
    if log:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    return ax
