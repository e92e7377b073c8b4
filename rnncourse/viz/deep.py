"""Diagrams of chapter 5: the bidirectional network as two chains, and stacked layers unfolded in
time (optionally bidirectional).

Both diagrams share one geometry. In a bidirectional layer the forward chain runs left to right
from its initial state at the left, the backward chain right to left from its own initial state at
the right; the forward boxes stand a little to the left of their column and the backward boxes a
little to the right, so that every vertical connection runs clear of the other chain's boxes. At
each step a small circle, ``[;]``, concatenates the two states (forward half first), which is what
the next layer or the read-out receives.
"""
from __future__ import annotations

from .primitives import COLORS, Box, draw_arrow, draw_box, draw_op, draw_path_arrow, fit_view, new_axes

NAMES = ("book", "source")

_SPACING = 2.3  # distance between the columns of two time steps
_SHIFT = 0.38  # how far a forward (backward) box stands left (right) of its column
_BOX = dict(width=0.82, height=0.52, fontsize=10)


def _check_positive(value, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"expected {name} to be a positive int, got {value!r}")


def _state_names(names: str, layer: int | None):
    """Formatters ``(forward(t), backward(t), input(t), output(t))`` for labels in LaTeX."""
    if names == "source":
        return (lambda t: rf"$H^{{({t})}}$", lambda t: rf"$Z^{{({t})}}$", lambda t: rf"$X^{{({t})}}$",
                lambda t: rf"$Y^{{({t})}}$")
    sup = "" if layer is None else rf"^{{({layer})}}"
    return (lambda t: rf"$\overrightarrow{{h}}{sup}_{{{t}}}$", lambda t: rf"$\overleftarrow{{h}}{sup}_{{{t}}}$",
            lambda t: rf"$x_{{{t}}}$", lambda t: rf"$y_{{{t}}}$")


def _feed_up(ax, source: Box, target: Box, x: float) -> None:
    """An arrow from the top of ``source`` to the bottom of ``target``, rising at ``x``: straight
    when ``source`` is centred there, with a short sideways step otherwise."""
    start = source.top
    if abs(start[0] - x) < 1e-9:
        draw_arrow(ax, start, (x, target.bottom[1]))
    else:
        step = start[1] + 0.14
        draw_path_arrow(ax, [start, (start[0], step), (x, step), (x, target.bottom[1])])


def _bidirectional_layer(ax, sources: list[Box], base: float, steps: int, names: str, layer: int | None,
                         initial_text: tuple[str, str]) -> tuple[list[Box], list[Box]]:
    """One bidirectional layer above ``sources`` (one box per step): the backward row at ``base``,
    the forward row above it, and a concatenation circle per step above both. Returns the
    concatenation circles and every box drawn."""
    forward_name, backward_name, _, _ = _state_names(names, layer)
    backward_y, forward_y, join_y = base, base + 1.05, base + 1.95
    boxes: list[Box] = []
    previous = draw_box(ax, 0, forward_y, initial_text[0], role="initial", dashed=True, **_BOX)
    following = draw_box(ax, (steps + 1) * _SPACING, backward_y, initial_text[1], role="initial", dashed=True,
                         **_BOX)
    boxes += [previous, following]
    forwards, backwards = [], []
    for t in range(1, steps + 1):
        column = t * _SPACING
        forward = draw_box(ax, column - _SHIFT, forward_y, forward_name(t), role="hidden", **_BOX)
        backward = draw_box(ax, column + _SHIFT, backward_y, backward_name(t), role="decoder", **_BOX)
        _feed_up(ax, sources[t - 1], backward, backward.x - 0.1)
        _feed_up(ax, sources[t - 1], forward, forward.x - 0.1)
        draw_arrow(ax, previous.right, forward.left)
        previous = forward
        forwards.append(forward)
        backwards.append(backward)
        boxes += [forward, backward]
    for backward, before in zip(backwards[::-1], [following] + backwards[::-1][:-1]):
        draw_arrow(ax, before.left, backward.right)
    joins = []
    for t, (forward, backward) in enumerate(zip(forwards, backwards), start=1):
        join = draw_op(ax, t * _SPACING, join_y, "[;]", radius=0.24, fontsize=8)
        draw_path_arrow(ax, [forward.top, (forward.x, join_y), join.left])
        draw_path_arrow(ax, [backward.top, (backward.x, join_y), join.right])
        joins.append(join)
    return joins, boxes


def _input_row(ax, steps: int, names: str) -> list[Box]:
    _, _, input_name, _ = _state_names(names, None)
    return [draw_box(ax, t * _SPACING, 0, input_name(t), role="input", **_BOX) for t in range(1, steps + 1)]


def _row_label(ax, y: float, text: str) -> None:
    ax.text(-0.65, y, text, ha="right", va="center", fontsize=9, color=COLORS["edge"])


def draw_bidirectional(steps: int = 4, names: str = "book", ax=None):
    r"""A bidirectional recurrent layer unrolled over ``steps`` steps: the forward chain
    :math:`\overrightarrow h_t` (left to right, from :math:`\overrightarrow h_0`), the backward chain
    :math:`\overleftarrow h_t` (right to left, from its own :math:`\overleftarrow h_{T+1}`), both
    reading the same :math:`x_t`, and at every step the concatenation
    :math:`[\overrightarrow h_t; \overleftarrow h_t]` that the read-out turns into :math:`y_t`.

    ``names="source"`` labels the chains with the course source's letters :math:`H^{(t)}`,
    :math:`Z^{(t)}`, :math:`X^{(t)}`, :math:`Y^{(t)}` instead. Returns the axes.
    """
    _check_positive(steps, "steps")
    if names not in NAMES:
        raise ValueError(f"expected names to be one of {', '.join(map(repr, NAMES))}, got {names!r}")
    ax = new_axes(ax, figsize=(1.75 * steps + 2.6, 4.6))
    inputs = _input_row(ax, steps, names)
    initial = ((r"$H^{(0)}$", rf"$Z^{{({steps + 1})}}$") if names == "source"
               else (r"$\overrightarrow{h}_0$", r"$\overleftarrow{h}_{T+1}$"))
    joins, boxes = _bidirectional_layer(ax, inputs, 1.2, steps, names, None, initial)
    _, _, _, output_name = _state_names(names, None)
    for t, join in enumerate(joins, start=1):
        y = draw_box(ax, join.x, 4.0, output_name(t), role="output", **_BOX)
        draw_arrow(ax, join.top, y.bottom)
        boxes.append(y)
    for y, text in ((0, "input"), (1.2, "backward"), (2.25, "forward"), (4.0, "output")):
        _row_label(ax, y, text)
    ax.set_title("Bidirectional layer: two chains, one concatenated output per step", fontsize=11)
    fit_view(ax, boxes + inputs, pad=0.35)
    ax.set_xlim(-1.75, ax.get_xlim()[1])
    return ax


def draw_stacked(steps: int = 3, num_layers: int = 3, bidirectional: bool = False, dropout: bool = True,
                 ax=None):
    r"""A stack of ``num_layers`` recurrent layers unrolled over ``steps`` steps: layer
    :math:`\ell`'s :math:`h^{(\ell)}_t` is layer :math:`\ell+1`'s input at the same step, and each
    layer has its own initial state :math:`h^{(\ell)}_0` and its own weights.

    With ``bidirectional=True`` every layer is drawn as the two chains of
    :func:`draw_bidirectional`, and the layer above reads the concatenation (``D*H`` features).
    With ``dropout=True`` the connections between layers are marked as the place where dropout
    acts (never on the recurrent connections, never after the last layer). Returns the axes.
    """
    _check_positive(steps, "steps")
    _check_positive(num_layers, "num_layers")
    ax = new_axes(ax, figsize=(1.75 * steps + 3.4, (2.3 if bidirectional else 1.3) * num_layers + 2.2))
    sources = _input_row(ax, steps, "book")
    boxes = list(sources)
    _row_label(ax, 0, "input")
    base = 1.2
    for layer in range(1, num_layers + 1):
        if bidirectional:
            initial = (r"$\overrightarrow{h}_0$", r"$\overleftarrow{h}_{T+1}$")
            # No layer superscript inside the boxes: it would collide with the direction arrow; the row says it.
            joins, drawn = _bidirectional_layer(ax, sources, base, steps, "book", None, initial)
            boxes += drawn
            _row_label(ax, base + 0.5, f"layer {layer}")
            top, sources, base = base + 1.95, joins, base + 2.9
        else:
            initial_box = draw_box(ax, 0, base, rf"$h^{{({layer})}}_0$", role="initial", dashed=True, **_BOX)
            previous, row = initial_box, []
            for t in range(1, steps + 1):
                h = draw_box(ax, t * _SPACING, base, rf"$h^{{({layer})}}_{{{t}}}$", role="hidden", **_BOX)
                draw_arrow(ax, sources[t - 1].top, h.bottom)
                draw_arrow(ax, previous.right, h.left)
                previous = h
                row.append(h)
            boxes += [initial_box, *row]
            _row_label(ax, base, f"layer {layer}")
            top, sources, base = base, row, base + 1.3
        if dropout and layer < num_layers:
            gap = (top + base) / 2
            ax.text(-0.65, gap, "dropout", ha="right", va="center", fontsize=9,
                    color=COLORS["weight"], style="italic")
    _, _, _, output_name = _state_names("book", None)
    for t, source in enumerate(sources, start=1):
        y = draw_box(ax, source.x, base + 0.1, output_name(t), role="output", **_BOX)
        draw_arrow(ax, source.top, y.bottom)
        boxes.append(y)
    _row_label(ax, base + 0.1, "output")
    kind = "bidirectional layers" if bidirectional else "layers"
    ax.set_title(f"{num_layers} stacked {kind}, unfolded over {steps} steps", fontsize=11)
    fit_view(ax, boxes, pad=0.35)
    ax.set_xlim(-1.75, (steps + 1) * _SPACING + 0.6 if bidirectional else steps * _SPACING + 0.8)
    return ax
