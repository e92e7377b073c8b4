r"""The convolutional LSTM (chapter 7): its cell, with maps drawn as stacks of planes, and Shi et al.'s
encoding-forecasting structure."""
from __future__ import annotations

from matplotlib.patches import Rectangle

from .primitives import (COLORS, STATE_LINE_WIDTH, Box, draw_arrow, draw_box, draw_cell_read, draw_line, draw_op,
                         draw_path_arrow, draw_peepholes, fit_view, gate_box, new_axes)

CONV_LSTM_FORMS = {
    "shi": "ConvLSTM of Shi et al. (2015): forget gate, Hadamard peepholes",
    "keras": "Keras' ConvLSTM2D: forget gate, no peepholes",
    "source": "the source's ConvLSTM: no forget gate, no peepholes",
}


def draw_planes(ax, x: float, y: float, text: str = "", *, planes: int = 3, width: float = 0.8,
                height: float = 0.8, step: float = 0.12, role: str = "hidden", kernel: bool = False,
                fontsize: float = 11) -> Box:
    r"""A feature map drawn as ``planes`` stacked squares (one per channel), the front one centred at
    ``(x, y)``, the ones behind it shifted up and right by ``step``. ``kernel`` marks a small
    ``k x k`` window on the front plane, where a convolution reads. Returns a :class:`Box` around
    the whole stack for arrows to attach to."""
    for k in reversed(range(planes)):
        left, bottom = x - width / 2 + k * step, y - height / 2 + k * step
        ax.add_patch(Rectangle((left, bottom), width, height, facecolor=COLORS[role], edgecolor=COLORS["edge"],
                               linewidth=1.0, zorder=2))
    if kernel:
        ax.add_patch(Rectangle((x - width / 2 + 0.06, y - height / 2 + 0.06), 0.22, 0.22, facecolor="none",
                               edgecolor=COLORS["weight"], linewidth=1.4, zorder=3))
    if text:
        ax.text(x + 0.05, y - 0.04, text, ha="center", va="center", fontsize=fontsize, zorder=4)
    extra = (planes - 1) * step
    return Box(x + extra / 2, y + extra / 2, width + extra, height + extra)


def draw_conv_lstm_cell(form: str = "shi", ax=None):
    r"""One ConvLSTM cell in one of its three forms (a key of :data:`CONV_LSTM_FORMS`).

    :math:`\mathcal X_t`, :math:`\mathcal H_{t-1}`, :math:`\mathcal C_{t-1}` and their successors are
    maps of ``C x H x W`` numbers, drawn as stacks of planes. Every gate adds the convolution of the
    input and the convolution of the hidden state (the circles marked :math:`\ast`, the square on the planes is the kernel's window);
    the gates act on the cell state through Hadamard products :math:`\odot`, position by position.
    ``"shi"`` adds the dashed peepholes, Hadamard products with full ``C x H x W`` weights
    :math:`W_{ci} \odot \mathcal C_{t-1}`, :math:`W_{cf} \odot \mathcal C_{t-1}` and :math:`W_{co} \odot \mathcal C_t`;
    ``"keras"`` has none; ``"source"`` has neither peepholes nor a forget gate,
    :math:`\mathcal C_t = \mathcal C_{t-1} + i_t \odot g_t`. These are the forms of
    :class:`rnncourse.cells.ConvLSTMCell`. Returns the axes.
    """
    if form not in CONV_LSTM_FORMS:
        raise ValueError(f"expected form to be one of {', '.join(map(repr, CONV_LSTM_FORMS))}, got {form!r}")
    ax = new_axes(ax, figsize=(8.0, 5.6))
    line_y, gate_y, conv_y, bus_y = 4.6, 2.5, 1.55, 0.7
    c_prev = draw_planes(ax, -0.2, line_y, r"$\mathcal{C}_{t-1}$")
    c_new = draw_planes(ax, 9.6, line_y, r"$\mathcal{C}_t$")
    h_prev = draw_planes(ax, -0.2, bus_y, r"$\mathcal{H}_{t-1}$", kernel=True)
    h_new = draw_planes(ax, 9.6, gate_y, r"$\mathcal{H}_t$")
    x = draw_planes(ax, 1.0, -0.75, r"$\mathcal{X}_t$", role="input", kernel=True)
    draw_line(ax, [(h_prev.right[0], bus_y), (6.4, bus_y)])
    draw_arrow(ax, x.top, (x.x, bus_y))

    learned = ("i", "g", "o") if form == "source" else ("i", "f", "g", "o")
    gates = {}
    for name, gx, function in (("f", 2.2, "sigma"), ("i", 3.6, "sigma"), ("g", 5.0, "tanh"), ("o", 6.4, "sigma")):
        if name in learned:
            gates[name] = gate_box(ax, gx, gate_y, function)
            conv = draw_op(ax, gx, conv_y, r"$\ast$", radius=0.2, fontsize=12)
            draw_arrow(ax, (gx, bus_y), conv.bottom)
            draw_arrow(ax, conv.top, gates[name].bottom)
    ax.text(7.05, conv_y, r"$W_{x\cdot} \ast \mathcal{X}_t + W_{h\cdot} \ast \mathcal{H}_{t-1}$", ha="left",
            va="center", fontsize=9, color=COLORS["weight"])

    # The write, i_t (.) g_t, added onto the state line.
    add = draw_op(ax, 4.3, line_y, "$+$")
    write = draw_op(ax, 4.3, 3.55, r"$\odot$")
    draw_path_arrow(ax, [gates["i"].top, (3.6, 3.55), write.left], r"$i_t$", text_at=0, text_offset=(-0.25, 0.0))
    draw_path_arrow(ax, [gates["g"].top, (5.0, 3.55), write.right], r"$g_t$", text_at=0, text_offset=(0.25, 0.0))
    draw_arrow(ax, write.top, add.bottom)
    if form == "source":
        draw_line(ax, [(c_prev.right[0], line_y), add.left], width=STATE_LINE_WIDTH)
        ax.text(2.0, 3.55, "no forget gate:\n" + r"$\mathcal{C}_t = \mathcal{C}_{t-1} + i_t \odot g_t$",
                ha="center", va="center", fontsize=9, color=COLORS["weight"])
    else:
        forget = draw_op(ax, 2.2, line_y, r"$\odot$")
        draw_line(ax, [(c_prev.right[0], line_y), forget.left], width=STATE_LINE_WIDTH)
        draw_line(ax, [forget.right, add.left], width=STATE_LINE_WIDTH)
        draw_arrow(ax, gates["f"].top, forget.bottom, r"$f_t$", text_offset=(-0.25, -0.35))
    draw_line(ax, [add.right, (c_new.left[0] - 0.3, line_y)], width=STATE_LINE_WIDTH)
    draw_arrow(ax, (c_new.left[0] - 0.3, line_y), (c_new.left[0], line_y))

    # The read, H_t = o_t (.) tanh(C_t).
    draw_cell_read(ax, 7.8, line_y, 3.55, gates["o"], (h_new.left[0], gate_y))

    if form == "shi":
        # Hadamard peepholes: a full C x H x W weight map each, C_{t-1} into i and f, C_t into o.
        draw_peepholes(ax, gates, line_y, 1.0, (2.9, 4.0), (r"$W_{cf} \odot$", r"$W_{ci} \odot$", r"$W_{co} \odot$"),
                       (((1.0, 3.2), (-0.42, 0.0)), ((1.55, 3.78), (0.0, 0.0))), (0.45, 0.25))
    ax.set_title(CONV_LSTM_FORMS[form], fontsize=11)
    fit_view(ax, [c_prev, c_new, h_prev, h_new, x], pad=0.35)
    ax.set_xlim(-0.95, 10.6)
    return ax


def _state_column(ax, x: float, rows: list[float], role: str, label: str, index: int) -> list[Box]:
    """One time step of a stack: a small plane stack per layer, labelled ``label_{l}`` below it."""
    boxes = []
    for layer, y in enumerate(rows, start=1):
        boxes.append(draw_planes(ax, x, y, planes=2, width=0.55, height=0.55, step=0.1, role=role))
        ax.text(x - 0.45, y, f"{label}{layer}" if index == 0 else "", ha="right", va="center", fontsize=9)
    return boxes


def draw_encoder_forecaster(ax=None, steps_in: int = 3, steps_out: int = 3):
    r"""Shi et al.'s encoding-forecasting structure with two layers (their Fig. 3).

    The encoding network (left) reads the frames :math:`X_1, \dots, X_J`, each reshaped into
    patches (``64 x 64 -> 16 x 16 x 16``); its last states :math:`(H, C)` of both layers are
    **copied** into the forecasting network (right, dashed), which has no input. At every future
    step the states of all forecaster layers are concatenated and a :math:`1 \times 1` convolution
    turns them into the prediction :math:`\hat X`. Returns the axes.
    """
    for value, name in ((steps_in, "steps_in"), (steps_out, "steps_out")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ValueError(f"expected {name} to be an int >= 2, got {value!r}")
    ax = new_axes(ax, figsize=(1.5 * (steps_in + steps_out) + 2.0, 5.2))
    rows, gap = [1.2, 2.5], 1.5
    drawn = []
    encoder = []
    for t in range(steps_in):
        column = _state_column(ax, gap * t, rows, "encoder", "layer ", t)
        name = r"$\mathcal{X}_{%d}$" % (t + 1) if t < steps_in - 1 else r"$\mathcal{X}_J$"
        frame = draw_planes(ax, gap * t, -0.3, name, planes=2, width=0.55, height=0.55, step=0.1, role="input",
                            fontsize=9)
        draw_arrow(ax, frame.top, column[0].bottom)
        draw_arrow(ax, column[0].top, column[1].bottom)
        if encoder:
            for before, now in zip(encoder[-1], column):
                draw_arrow(ax, before.right, now.left)
        encoder.append(column)
        drawn += column + [frame]
    start = gap * steps_in + 1.2
    forecaster = []
    for t in range(steps_out):
        x = start + gap * t
        column = _state_column(ax, x, rows, "decoder", "", 1)
        draw_arrow(ax, column[0].top, column[1].bottom)
        if forecaster:
            for before, now in zip(forecaster[-1], column):
                draw_arrow(ax, before.right, now.left)
        else:
            for before, now in zip(encoder[-1], column):
                draw_arrow(ax, before.right, now.left, "copy", text_offset=(0.0, 0.2), dashed=True, fontsize=9)
        # Both layers' H, concatenated, into a 1x1 convolution: lines up the right of the column.
        side = x + 0.5
        for box in column:
            draw_line(ax, [box.right, (side, box.y)])
        draw_line(ax, [(side, column[0].y), (side, 3.35)])
        readout = draw_box(ax, x + 0.12, 3.65, r"$1{\times}1$", width=0.85, height=0.45, role="gate", fontsize=9)
        draw_path_arrow(ax, [(side, 3.35), (side, readout.bottom[1])])
        out = draw_box(ax, x + 0.12, 4.55, r"$\hat{\mathcal{X}}_{J+%d}$" % (t + 1), width=0.95, height=0.5,
                       role="output", fontsize=10)
        draw_arrow(ax, readout.top, out.bottom)
        forecaster.append(column)
        drawn += column + [readout, out]
    middle_in, middle_out = gap * (steps_in - 1) / 2, start + gap * (steps_out - 1) / 2
    ax.text(middle_in, 3.4, "encoding network", ha="center", va="center", fontsize=10, style="italic")
    ax.text(middle_out + 0.12, 5.2, "forecasting network (no input)", ha="center", va="center", fontsize=10,
            style="italic")
    ax.text(middle_out + 0.12, 0.35, r"states of all layers concatenated $\rightarrow$ $1{\times}1$ convolution",
            ha="center", va="center", fontsize=9, color=COLORS["weight"])
    ax.text(middle_in, -0.95, r"frames as $4{\times}4$ patches: $64{\times}64 \rightarrow 16{\times}16{\times}16$",
            ha="center", va="center", fontsize=9, color=COLORS["weight"])
    fit_view(ax, drawn, pad=0.35)
    ax.set_xlim(-1.5, start + gap * (steps_out - 1) + 1.0)
    ax.set_ylim(-1.25, 5.5)
    return ax
