"""The LSTM cell in its variants (chapter 2): forget gate, original 1997 cell, peepholes,
coupled gates."""
from __future__ import annotations

from .primitives import (COLORS, HIGHLIGHT, STATE_LINE_WIDTH, draw_arrow, draw_box, draw_cell_read, draw_line,
                         draw_op, draw_path_arrow, draw_peepholes, gate_box, new_axes, rise)

LSTM_VARIANTS = {
    "forget": "LSTM with forget gate (PyTorch's)",
    "original": "original LSTM (1997): no forget gate",
    "peephole": "LSTM with peephole connections",
    "coupled": "coupled input and forget gates",
}


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
            gates[name] = gate_box(ax, gx, gate_y, function)
            if name == highlight:
                ax.patches[-1].set(edgecolor=HIGHLIGHT, linewidth=2.8)  # the box _gate just drew
            rise(ax, bus_y, gates[name])

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
    draw_line(ax, [(7.6, line_y), (7.6, line_y - 0.01)])
    draw_cell_read(ax, 7.6, line_y, 3.3, gates["o"], h_new.left)

    if variant == "peephole":
        # Diagonal weights, one per unit. The input and forget gates see the cell before it
        # changes (c_{t-1}, left of the forget multiplication); the output gate sees c_t.
        # Both leave c_{t-1} at one point and enter their gates from the left.
        draw_peepholes(ax, gates, line_y, 1.2, (2.9, 3.65), (r"$w_{cf}$", r"$w_{ci}$", r"$w_{co}$"),
                       (((1.2, 3.1), (-0.3, 0.0)), ((1.7, 3.65), (0.0, 0.2))), (0.35, 0.2))
    ax.set_title(LSTM_VARIANTS[variant], fontsize=11)
    ax.set_xlim(-0.7, 10.1)
    ax.set_ylim(-1.0, 4.8)
    return ax
