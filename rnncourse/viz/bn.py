"""Batch normalisation in recurrent networks (chapter 8): the BN-LSTM cell of Cooijmans et al.,
and which entries of a batch of sequences frame-wise and sequence-wise statistics average over."""
from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
from matplotlib.patches import Rectangle

from .primitives import (COLORS, HIGHLIGHT, STATE_LINE_WIDTH, draw_arrow, draw_box, draw_line, draw_op,
                         draw_path_arrow, gate_box, new_axes, rise)

NORM_COLOR = "#d0e0f0"  # the fill of a normalisation box, apart from the roles of primitives.COLORS
BN_LSTM_NORMS = ("cooijmans", "laurent")


def _norm_box(ax, x: float, y: float, text: str, highlight: bool):
    """A normalisation box: the role colours are for values, so it gets a fill of its own."""
    box = draw_box(ax, x, y, text, width=1.2, height=0.5, role="gate", fontsize=10)
    ax.patches[-1].set(facecolor=NORM_COLOR)
    if highlight:
        ax.patches[-1].set(edgecolor=HIGHLIGHT, linewidth=2.8)
    return box


def draw_bn_lstm_cell(normalize: str = "cooijmans", ax=None, highlight: bool = False):
    r"""The batch-normalised LSTM cell, as :class:`rnncourse.cells.BNLSTMCell` computes it.

    ``normalize="cooijmans"`` (Cooijmans et al.): :math:`W_{ih} x_t` and :math:`W_{hh} h_{t-1}`
    are normalised *apart*, :math:`\mathrm{BN}_x` and :math:`\mathrm{BN}_h` (shift 0, the bias
    :math:`b` added after them), and the cell state is normalised, :math:`\mathrm{BN}_c` (with a
    shift), before the output ``tanh``; :math:`c_t` itself goes on unnormalised.
    ``normalize="laurent"``: only :math:`W_{ih} x_t` (Laurent et al.).

    Each normalisation keeps its own statistics for every step :math:`t`, which the boxes' label
    :math:`t` recalls. ``highlight=True`` outlines the normalisation boxes. Returns the axes.
    """
    if normalize not in BN_LSTM_NORMS:
        raise ValueError(f"expected normalize to be one of {', '.join(map(repr, BN_LSTM_NORMS))}, got {normalize!r}")
    both = normalize == "cooijmans"
    ax = new_axes(ax, figsize=(9.0, 4.8))
    line_y, gate_y, bus_y, h_y, x_y = 4.0, 1.9, 0.3, 1.0, -0.4

    # The two projections, normalised apart, then summed with the bias into the 4H pre-activation.
    h_prev = draw_box(ax, 0, h_y, r"$h_{t-1}$", role="hidden")
    x = draw_box(ax, 0, x_y, r"$x_t$", role="input")
    w_hh = draw_box(ax, 1.3, h_y, r"$W_{hh}$", width=0.8, height=0.5, role="initial", fontsize=10)
    w_ih = draw_box(ax, 1.3, x_y, r"$W_{ih}$", width=0.8, height=0.5, role="initial", fontsize=10)
    draw_arrow(ax, h_prev.right, w_hh.left)
    draw_arrow(ax, x.right, w_ih.left)
    norm_x = _norm_box(ax, 2.85, x_y, r"$\mathrm{BN}_x(\cdot\,;t)$", highlight)
    draw_arrow(ax, w_ih.right, norm_x.left)
    total = draw_op(ax, 4.3, bus_y, "$+$")
    if both:
        norm_h = _norm_box(ax, 2.85, h_y, r"$\mathrm{BN}_h(\cdot\,;t)$", highlight)
        draw_arrow(ax, w_hh.right, norm_h.left)
        draw_path_arrow(ax, [norm_h.right, (4.3, h_y), total.top])
    else:
        draw_path_arrow(ax, [w_hh.right, (4.3, h_y), total.top])
    draw_path_arrow(ax, [norm_x.right, (4.3, x_y), total.bottom])
    draw_arrow(ax, (total.left[0] - 0.5, bus_y), total.left, "$b$", text_offset=(0.0, 0.2), fontsize=11)
    draw_line(ax, [total.right, (9.0, bus_y)])
    ax.text(4.7, bus_y - 0.25, r"$4H$: $i, f, g, o$", ha="left", va="center", fontsize=9,
            color=COLORS["weight"])

    # The gates, fed by the pre-activation bus, and the state line with its forget and write.
    gates = {}
    for name, gx, function in (("f", 5.4, "sigma"), ("i", 6.6, "sigma"), ("g", 7.8, "tanh"), ("o", 9.0, "sigma")):
        gates[name] = gate_box(ax, gx, gate_y, function)
        rise(ax, bus_y, gates[name])
    c_prev = draw_box(ax, 4.1, line_y, r"$c_{t-1}$", role="hidden")
    c_new = draw_box(ax, 11.4, line_y, r"$c_t$", role="hidden")
    forget = draw_op(ax, 5.4, line_y, r"$\odot$")
    add = draw_op(ax, 7.2, line_y, "$+$")
    write = draw_op(ax, 7.2, 3.05, r"$\odot$")
    draw_arrow(ax, gates["f"].top, forget.bottom, r"$f_t$", text_offset=(-0.25, 0.0), fontsize=10)
    draw_path_arrow(ax, [gates["i"].top, (6.6, 3.05), write.left], r"$i_t$", text_at=0, text_offset=(-0.25, 0.0))
    draw_path_arrow(ax, [gates["g"].top, (7.8, 3.05), write.right], r"$g_t$", text_at=0, text_offset=(0.25, 0.0))
    draw_arrow(ax, write.top, add.bottom)
    draw_line(ax, [c_prev.right, forget.left], width=STATE_LINE_WIDTH)
    draw_line(ax, [forget.right, add.left], width=STATE_LINE_WIDTH)
    draw_line(ax, [add.right, (c_new.left[0] - 0.3, line_y)], width=STATE_LINE_WIDTH)
    draw_arrow(ax, (c_new.left[0] - 0.3, line_y), c_new.left)

    # The read: h_t = o_t * tanh(BN_c(c_t)); the state line itself is not normalised.
    read_x = 10.1
    squash = draw_op(ax, read_x, 2.6, "tanh", radius=0.26, fontsize=8)
    if both:
        norm_c = _norm_box(ax, read_x, 3.3, r"$\mathrm{BN}_c(\cdot\,;t)$", highlight)
        draw_arrow(ax, (read_x, line_y), norm_c.top)
        draw_arrow(ax, norm_c.bottom, squash.top)
    else:
        draw_arrow(ax, (read_x, line_y), squash.top)
    read = draw_op(ax, read_x, gate_y, r"$\odot$")
    draw_arrow(ax, squash.bottom, read.top)
    draw_arrow(ax, gates["o"].right, read.left)
    h_new = draw_box(ax, 11.4, gate_y, r"$h_t$", role="hidden")
    draw_arrow(ax, read.right, h_new.left)
    ax.text(9.6, 1.4, r"$o_t$", ha="center", va="center", fontsize=10, color=COLORS["weight"])

    title = ("BN-LSTM (Cooijmans et al.): BN of $W_{ih}x_t$ and $W_{hh}h_{t-1}$ apart, and of $c_t$"
             if both else "Laurent et al.'s BN-LSTM: BN of the input projection only")
    ax.set_title(title, fontsize=11)
    ax.set_xlim(-0.6, 12.0)
    ax.set_ylim(-0.9, 4.6)
    return ax


def _grid(ax, steps: int, lengths: Sequence[int], fill, title: str) -> None:
    """A batch of sequences as a grid of cells, step ``t`` across and sequence ``b`` down; ``fill(t, b)``
    gives the face colour of a real cell; padded cells are grey and hatched."""
    for b, length in enumerate(lengths):
        for t in range(steps):
            real = t < length
            ax.add_patch(Rectangle((t, -b - 1), 1, 1, facecolor=fill(t, b) if real else COLORS["initial"],
                                   edgecolor=COLORS["edge"], linewidth=0.8, hatch=None if real else "///"))
    ax.set_xlim(-1.3, steps + 0.3)
    ax.set_ylim(-len(lengths) - 1.6, 1.1)
    ax.set_aspect("equal")
    ax.axis("off")
    for t in range(steps):
        ax.text(t + 0.5, 0.35, f"{t + 1}", ha="center", va="center", fontsize=9)
    for b in range(len(lengths)):
        ax.text(-0.4, -b - 0.5, f"{b + 1}", ha="center", va="center", fontsize=9)
    ax.text(steps / 2, 0.85, "step $t$", ha="center", va="center", fontsize=10)
    ax.text(-1.0, -len(lengths) / 2, "sequence $b$", ha="center", va="center", rotation=90, fontsize=10)
    ax.set_title(title, fontsize=10)


def draw_bn_statistics(steps: int = 8, lengths: Sequence[int] = (8, 8, 6, 4), step: int = 3, axes=None):
    """Which entries one mean and variance (of one feature) are computed over.

    Left, **frame-wise** (Laurent et al.; every step of Cooijmans et al.): over the batch at one
    step; step ``step`` (1-based) is outlined, and each step has statistics of its own, drawn in
    colours of their own. Right, **sequence-wise** (Laurent et al.): over the batch *and* all
    steps, one mean and variance for the whole batch. Padded entries (beyond a sequence's
    ``lengths[b]``) are hatched: they enter neither.

    ``axes``: two axes to draw on, or ``None`` for a new figure. Returns the two axes.
    """
    if not 1 <= step <= steps or not lengths or any(not 1 <= length <= steps for length in lengths):
        raise ValueError(f"expected 1 <= step <= steps and lengths in [1, steps], got steps={steps}, step={step}, "
                         f"lengths={tuple(lengths)}")
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(10.0, 3.4))
    palette = plt.get_cmap("Pastel1")
    left, right = axes
    _grid(left, steps, lengths, lambda t, b: palette(t % 9),
          "frame-wise: one mean and variance per step,\nover the batch at that step")
    real = [b for b, length in enumerate(lengths) if length >= step]  # the sequences that have step `step`
    for b in real:
        left.add_patch(Rectangle((step - 1, -b - 1), 1, 1, fill=False, edgecolor=HIGHLIGHT, linewidth=2.6))
    left.text(step - 0.5, -len(lengths) - 0.9, rf"$\hat\mu_{step}, \hat\sigma^2_{step}$ over these {len(real)}",
              ha="center", va="center", fontsize=9, color=HIGHLIGHT)
    _grid(right, steps, lengths, lambda t, b: COLORS["input"],
          "sequence-wise: one mean and variance,\nover the batch and all steps")
    total = sum(lengths)
    for b, length in enumerate(lengths):
        right.add_patch(Rectangle((0, -b - 1), length, 1, fill=False, edgecolor=HIGHLIGHT, linewidth=2.2))
    right.text(steps / 2, -len(lengths) - 0.9, rf"$\hat\mu, \hat\sigma^2$ over all {total} real entries "
               "(hatched: padding, left out)", ha="center", va="center", fontsize=9, color=HIGHLIGHT)
    return axes
