"""The single-state gated cells of chapter 4: the GRU in both reset conventions, and the MGU."""
from __future__ import annotations

from .primitives import (HIGHLIGHT, STATE_LINE_WIDTH, draw_arrow, draw_box, draw_line, draw_op, draw_path_arrow,
                         gate_box, input_bus, new_axes, rise)


GATES = {"gru": ("r", "z", "n"), "mgu": ("f", "n")}


def _outline(ax, highlight: str | None, name: str) -> None:
    """Outline the box just drawn when it is the highlighted gate."""
    if highlight == name:
        ax.patches[-1].set(edgecolor=HIGHLIGHT, linewidth=2.8)


def _check_highlight(unit: str, highlight: str | None) -> None:
    if highlight is not None and highlight not in GATES[unit]:
        raise ValueError(f"expected highlight to be None or one of the {unit.upper()}'s gates "
                         f"{', '.join(map(repr, GATES[unit]))}, got {highlight!r}")


def _draw_single_state_cell(ax, unit: str, reset_after: bool, highlight: str | None = None):
    """The GRU (``unit="gru"``) or the MGU (``unit="mgu"``): one state line at the top,
    ``h_t = keep * h_{t-1} + new * candidate``, and the reset acting on the candidate's hidden
    input before or after its matrix product ``W_{hn}``. Returns the axes."""
    line_y, gate_y, bus_y, low_y = 4.4, 2.3, 0.7, 1.45
    h_prev = draw_box(ax, 0, line_y, r"$h_{t-1}$", role="hidden")
    h_new = draw_box(ax, 10.2, line_y, r"$h_t$", role="hidden")
    x = draw_box(ax, 1.2, -0.6, r"$x_t$", role="input")
    input_bus(ax, h_prev, x, bus_y, 8.4)

    # The gates: the GRU has an update gate z and a reset gate r; the MGU one gate f doing both jobs.
    reset_name = r"$r_t$" if unit == "gru" else r"$f_t$"
    reset_gate = gate_box(ax, 3.9, gate_y, "sigma")
    _outline(ax, highlight, "r" if unit == "gru" else "f")
    rise(ax, bus_y, reset_gate)
    candidate = gate_box(ax, 8.4, gate_y, "tanh")
    _outline(ax, highlight, "n")
    rise(ax, bus_y, candidate, r"$x_t$", text_offset=(0.3, 0.0))

    # The reset column at x = 5.5: a multiplication and the product W_hn, in one order or the other.
    if reset_after:
        product = draw_box(ax, 5.5, low_y, r"$W_{hn}$", width=0.8, height=0.5, role="initial", fontsize=11)
        reset = draw_op(ax, 5.5, gate_y, r"$\odot$")
        rise(ax, bus_y, product, r"$h_{t-1}$", text_offset=(-0.45, 0.0))
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
    complement = draw_op(ax, 2.4 if unit == "mgu" else 7.3, 3.3, "$1-$", radius=0.26, fontsize=7.5)
    draw_arrow(ax, candidate.top, new.bottom, r"$n_t$",
               text_offset=(0.42, 0.0), fontsize=11)
    draw_arrow(ax, new.top, add.bottom)
    if unit == "gru":
        # z_t keeps the old state (PyTorch's and Cho et al.'s convention); 1 - z_t weights the candidate.
        update = gate_box(ax, 2.4, gate_y, "sigma")
        _outline(ax, highlight, "z")
        rise(ax, bus_y, update)
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


def draw_gru_cell(reset_after: bool = True, ax=None, highlight: str | None = None):
    r"""One GRU cell, with the reset gate where :class:`rnncourse.cells.GRUCell` puts it:

    - ``reset_after=True`` (PyTorch, cuDNN): the reset gate scales the product,
      :math:`r_t \odot (W_{hn} h_{t-1} + b_{hn})`;
    - ``reset_after=False`` (Cho et al. 2014): it scales the state before the product,
      :math:`W_{hn} (r_t \odot h_{t-1})`.

    The update gate :math:`z_t` keeps that share of :math:`h_{t-1}` on the state line and
    :math:`1 - z_t` weights the candidate :math:`n_t`.

    ``highlight`` names one gate layer (``"r"``, ``"z"`` or ``"n"``) to outline in
    :data:`HIGHLIGHT`, as in :func:`draw_lstm_cell`. Returns the axes.
    """
    _check_highlight("gru", highlight)
    if reset_after not in GRU_CONVENTIONS or not isinstance(reset_after, bool):
        raise ValueError(f"expected reset_after to be True or False, got {reset_after!r}")
    ax = new_axes(ax, figsize=(7.0, 4.6))
    _draw_single_state_cell(ax, "gru", reset_after, highlight)
    ax.set_title(GRU_CONVENTIONS[reset_after], fontsize=11)
    return ax


def draw_mgu_cell(ax=None, highlight: str | None = None):
    r"""One minimal gated unit (Zhou et al. 2016), :class:`rnncourse.cells.MGUCell`: a single gate
    :math:`f_t` resets the state before the candidate's product, as in Cho et al.'s GRU, and
    weights the candidate :math:`n_t` (Zhou et al.'s :math:`\tilde h_t`) against the old state,
    :math:`h_t = (1 - f_t) \odot h_{t-1} + f_t \odot n_t`. ``highlight`` (``"f"`` or ``"n"``)
    outlines one gate layer. Returns the axes."""
    _check_highlight("mgu", highlight)
    ax = new_axes(ax, figsize=(7.0, 4.6))
    _draw_single_state_cell(ax, "mgu", reset_after=False, highlight=highlight)
    ax.set_title("minimal gated unit (MGU)", fontsize=11)
    return ax
