"""Diagrams of chapter 1: the Elman and Jordan cells, the unrolled network, the backward flow of
BPTT on it, the sequence configurations (one-to-one, one-to-many, many-to-one, many-to-many,
encoder-decoder), and the legend of the diagrams' symbols."""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib.pyplot as plt

from matplotlib.patches import FancyArrowPatch

from .primitives import (COLORS, HIGHLIGHT, STATE_LINE_WIDTH, draw_arrow, draw_box, draw_feedback, draw_line,
                         draw_op, fit_view, new_axes)

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
    "one-to-one": Configuration("one-to-one (no recurrence)", (_ON,), (_ON,), ("hidden",)),
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
    """The configurations side by side: one-to-one (a feedforward network, for reference),
    many-to-one, one-to-many, many-to-many aligned and encoder-decoder. Returns the figure."""
    widths = [max(len(c.reads), 4) for c in CONFIGURATIONS.values()]  # room for the one-to-one title
    fig, axes = plt.subplots(1, len(CONFIGURATIONS), figsize=(15, 3.0), gridspec_kw={"width_ratios": widths})
    for ax, name in zip(axes, CONFIGURATIONS):
        draw_configuration(name, ax=ax)
    fig.tight_layout()
    return fig


def draw_bptt_backward(steps: int = 4, ax=None):
    r"""The backward pass of BPTT on the unrolled Elman network: the forward edges in grey, and in
    red the two routes by which gradient reaches each state :math:`h_t`: the direct gradient
    :math:`e_t = \partial \ell_t / \partial h_t` coming down from the output :math:`y_t`, and the
    gradient :math:`J_{t+1}^\top \delta_{t+1}` coming back from the next state. Their sum is
    :math:`\delta_t = \partial \mathcal L / \partial h_t`. Returns the axes.
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"expected steps to be a positive int, got {steps!r}")
    spacing = 2.3
    ax = new_axes(ax, figsize=(1.9 * steps + 1.6, 4.4))
    boxes = [draw_box(ax, 0, 1.5, r"$h_0$", role="initial", dashed=True)]
    for t in range(1, steps + 1):
        column = t * spacing
        x = draw_box(ax, column, 0, rf"$x_{{{t}}}$", role="input")
        h = draw_box(ax, column, 1.5, rf"$h_{{{t}}}$", role="hidden")
        y = draw_box(ax, column, 3.0, rf"$\ell_{{{t}}}(y_{{{t}}})$", role="output", width=1.2, fontsize=11)
        ax.add_artist(FancyArrowPatch(x.top, h.bottom, arrowstyle="-|>", mutation_scale=12, color="#aaaaaa"))
        # Backward routes, in the highlight colour: from the loss down to h_t, and from h_{t} back to h_{t-1}.
        ax.add_artist(FancyArrowPatch((h.x + 0.15, y.bottom[1]), (h.x + 0.15, h.top[1]), arrowstyle="-|>",
                                      mutation_scale=14, color=HIGHLIGHT, linewidth=1.6))
        ax.text(h.x + 0.5, 2.25, rf"$e_{{{t}}}$", color=HIGHLIGHT, fontsize=11, ha="center", va="center")
        previous = boxes[-3] if t > 1 else boxes[0]
        ax.add_artist(FancyArrowPatch(h.left, previous.right, arrowstyle="-|>", mutation_scale=14,
                                      color=HIGHLIGHT, linewidth=1.6))
        ax.text(column - spacing / 2, 1.85, rf"$J_{{{t}}}^\top \delta_{{{t}}}$", color=HIGHLIGHT, fontsize=10,
                ha="center", va="center")
        ax.text(h.x + 0.62, 1.12, rf"$\delta_{{{t}}}$", color=HIGHLIGHT, fontsize=10, ha="center", va="center")
        boxes += [h, x, y]
    ax.text(spacing * (steps + 1) / 2, -0.75, r"$\delta_t = e_t + J_{t+1}^\top \delta_{t+1}$, swept from $t = T$ down to 1",
            ha="center", va="center", fontsize=10, color=HIGHLIGHT)
    ax.set_title("BPTT: the gradient flows back along the unrolled graph", fontsize=11)
    fit_view(ax, boxes, pad=0.55)
    ax.set_ylim(-1.05, ax.get_ylim()[1])
    return ax


LEGEND = (
    ("input", "an input $x_t$"),
    ("hidden", "a state ($h_t$, $c_t$)"),
    ("output", "an output $y_t$"),
    ("initial", "an initial state or a weight product"),
    ("gate", r"a layer with its nonlinearity ($\sigma$, $\tanh$)"),
)


def draw_diagram_legend(ax=None):
    """The symbols of the book's diagrams: box colours by role, pointwise operations, the thick
    state line, the dashed peephole, the delayed feedback loop and the highlight. Returns the axes."""
    ax = new_axes(ax, figsize=(12.0, 2.8))
    for row, (role, text) in enumerate(LEGEND):
        draw_box(ax, 0, -0.8 * row, "", width=0.7, height=0.45, role=role)
        ax.text(0.6, -0.8 * row, text, va="center", fontsize=10)
    ops = ((r"$\odot$", "elementwise product"), ("$+$", "elementwise sum"), ("$1-$", "one minus"),
           ("tanh", "tanh, elementwise"))
    for row, (symbol, text) in enumerate(ops):
        draw_op(ax, 8.6, -0.8 * row, symbol, radius=0.3, fontsize=8 if len(symbol) > 3 else 11)
        ax.text(9.1, -0.8 * row, text, va="center", fontsize=10)
    lines = ((dict(width=STATE_LINE_WIDTH), "the state line (an LSTM's cell state)"),
             (dict(dashed=True), "a peephole (a diagonal weight)"),
             (dict(), "a connection (its weight in brown)"))
    for row, (style, text) in enumerate(lines):
        draw_line(ax, [(14.2, -0.8 * row), (15.0, -0.8 * row)], **style)
        ax.text(15.2, -0.8 * row, text, va="center", fontsize=10)
    ax.add_artist(FancyArrowPatch((14.2, -2.4), (15.0, -2.4), arrowstyle="-|>", mutation_scale=12,
                                  color=HIGHLIGHT, linewidth=1.6))
    ax.text(15.2, -2.4, "highlighted: what the text discusses", va="center", fontsize=10)
    ax.text(14.2, -3.2, "a loop out of a box and back: a one-step delay", va="center", fontsize=10)
    ax.set_xlim(-0.5, 22.5)
    ax.set_ylim(-3.6, 0.5)
    return ax
