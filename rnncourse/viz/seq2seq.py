r"""Diagrams of chapter 9: the encoder-decoder LSTMs of Srivastava et al. (2015), and the plots of frames.

:func:`draw_seq2seq` draws one model unrolled: the encoder reads :math:`x_1 \dots x_T` (from left
to right), its final state :math:`(h_T, c_T)` is *copied* into each decoder, and a decoder writes
its frames. A conditional decoder is fed its previous output: those links are dashed, as in the
paper's figures, because an unconditional decoder does not have them. The models:

- ``"autoencoder"``: one decoder, the input frames in reverse order :math:`\hat x_T \dots \hat x_1`;
- ``"predictor"``: one decoder, the frames that follow, :math:`\hat x_{T+1} \dots`;
- ``"composite"``: one encoder, both decoders from the same copied state;
- ``"repeat"``: the lecture notes' sequence autoencoder (Keras ``RepeatVector``), where the code
  :math:`z = h_T` is the decoder's *input* at every step and the decoder starts from zeros.

:func:`plot_frame_rows` shows rows of frames (the truth above the predictions), and
:func:`plot_weight_images` shows weight vectors of pixel size as images.
"""
from __future__ import annotations

import matplotlib.pyplot as plt

from .primitives import COLORS, draw_arrow, draw_box, draw_line, draw_path_arrow, new_axes

SEQ2SEQ_MODELS = ("autoencoder", "predictor", "composite", "repeat")

_SPACING = 1.25  # between the columns of one chain
_HANDOVER = 2.0  # between the last encoder column and the first decoder column: room for "copy"
_ROW = 1.25  # between a chain and its inputs or outputs
_BOX = dict(width=0.8, height=0.55)


def _check_steps(steps) -> None:
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"expected steps to be a positive int, got {steps!r}")


def _decoder_row(ax, x0: float, y: float, outputs: list[str], conditional: bool, caption: str) -> list:
    """A decoder chain from ``x0`` at height ``y`` with its outputs above; dashed conditional links."""
    cells, frames = [], []
    for k, label in enumerate(outputs):
        column = x0 + k * _SPACING
        cell = draw_box(ax, column, y, "LSTM", role="decoder", fontsize=9, **_BOX)
        frame = draw_box(ax, column, y + _ROW, label, role="output", fontsize=10, **_BOX)
        draw_arrow(ax, cell.top, frame.bottom)
        if cells:
            draw_arrow(ax, cells[-1].right, cell.left)
            if conditional:
                # The previous output, fed back: from under the last frame down to this cell's top.
                start = (frames[-1].x + 0.25, frames[-1].bottom[1])
                draw_arrow(ax, start, (cell.x - 0.25, cell.top[1]), dashed=True)
        cells.append(cell)
        frames.append(frame)
    ax.text(cells[-1].right[0] + 0.25, y, caption, ha="left", va="center", fontsize=10)
    return cells + frames


def _encoder_row(ax, steps: int) -> list:
    """The encoder chain at height 0 with its inputs below and its caption above."""
    cells, boxes = [], []
    for t in range(1, steps + 1):
        column = (t - 1) * _SPACING
        cell = draw_box(ax, column, 0, "LSTM", role="encoder", fontsize=9, **_BOX)
        x = draw_box(ax, column, -_ROW, rf"$x_{{{t}}}$", role="input", fontsize=10, **_BOX)
        draw_arrow(ax, x.top, cell.bottom)
        if cells:
            draw_arrow(ax, cells[-1].right, cell.left)
        cells.append(cell)
        boxes += [cell, x]
    ax.text(cells[-1].x, cells[-1].top[1] + 0.3, "encoder", ha="right", va="center", fontsize=10)
    return cells, boxes


def draw_seq2seq(model: str = "composite", steps: int = 3, future: int | None = None,
                 conditional: bool = True, ax=None):
    r"""One encoder-decoder model unrolled, ``model`` one of :data:`SEQ2SEQ_MODELS`.

    Args:
        model: ``"autoencoder"``, ``"predictor"``, ``"composite"`` or ``"repeat"``.
        steps: ``T``, the input frames.
        future: frames the future decoder writes (default ``steps``).
        conditional: draw the dashed links that feed a decoder its previous output (ignored for
            ``"repeat"``, whose decoder is fed the code).

    Returns the axes.
    """
    if model not in SEQ2SEQ_MODELS:
        raise ValueError(f"expected model to be one of {', '.join(map(repr, SEQ2SEQ_MODELS))}, got {model!r}")
    _check_steps(steps)
    future = steps if future is None else future
    _check_steps(future)
    decoders = max(steps, future) if model == "composite" else (future if model == "predictor" else steps)
    width = (steps - 1) * _SPACING + _HANDOVER + (decoders - 1) * _SPACING
    tall = model == "composite"
    ax = new_axes(ax, figsize=(0.95 * width + 3.2, 5.6 if tall else 3.4))
    cells, boxes = _encoder_row(ax, steps)
    last = cells[-1]
    x0 = last.x + _HANDOVER
    reversed_frames = [rf"$\hat x_{{{t}}}$" for t in range(steps, 0, -1)]
    future_frames = [rf"$\hat x_{{{steps + k}}}$" for k in range(1, future + 1)]
    copy = rf"copy$\,(h_{{{steps}}}, c_{{{steps}}})$"
    if model == "repeat":
        boxes += _repeat_decoder(ax, last, x0, steps)
    else:
        first_row = future_frames if model in ("predictor", "composite") else reversed_frames
        caption = "future decoder" if model != "autoencoder" else "reconstruction\ndecoder"
        row = _decoder_row(ax, x0, 0, first_row, conditional, caption)
        draw_arrow(ax, last.right, row[0].left)
        ax.text((last.right[0] + row[0].left[0]) / 2, -0.42, copy, ha="center", va="center", fontsize=9,
                color=COLORS["weight"])
        boxes += row
        if model == "composite":
            y = 2 * _ROW + 0.45
            upper = _decoder_row(ax, x0, y, reversed_frames, conditional, "reconstruction\ndecoder")
            # The same state goes up into the second decoder: the vertical run sits in the handover gap.
            run = last.right[0] + 0.45
            draw_path_arrow(ax, [(run, 0.0), (run, y), upper[0].left])
            ax.text(run - 0.1, y - 0.55, "copy", ha="right", va="center", fontsize=9, color=COLORS["weight"])
            boxes += upper
    titles = {"autoencoder": "LSTM autoencoder: the input, reversed",
              "predictor": "LSTM future predictor",
              "composite": "composite model: one encoder, two decoders",
              "repeat": "sequence autoencoder (RepeatVector): the code is every step's input"}
    ax.set_title(titles[model] + (" (dashed: conditional)" if conditional and model != "repeat" else ""),
                 fontsize=11)
    left = min(b.x - b.width / 2 for b in boxes) - 0.3
    right = max(b.x + b.width / 2 for b in boxes) + 1.9  # the captions stand right of the rows
    ax.set_xlim(left, right)
    ax.set_ylim(min(b.y - b.height / 2 for b in boxes) - 0.3, max(b.y + b.height / 2 for b in boxes) + 0.3)
    return ax


def _repeat_decoder(ax, last, x0: float, steps: int) -> list:
    """The Keras decoder: a zero initial state, the code z fed to every step, outputs in forward order."""
    bus_y, turn = -0.75, last.x + 0.7
    columns = [x0 + k * _SPACING for k in range(steps)]
    draw_line(ax, [last.right, (turn, 0.0), (turn, bus_y), (columns[-1], bus_y)])
    ax.text((columns[0] + columns[-1]) / 2, bus_y - 0.35, rf"$z = h_{{{steps}}}$, repeated: every step's input",
            ha="center", va="center", fontsize=9, color=COLORS["weight"])
    zero = draw_box(ax, x0 - 0.8, 0.85, "$0$", role="initial", dashed=True, fontsize=10, width=0.45, height=0.45)
    boxes = [zero]
    previous = None
    for k, column in enumerate(columns):
        cell = draw_box(ax, column, 0, "LSTM", role="decoder", fontsize=9, **_BOX)
        frame = draw_box(ax, column, _ROW, rf"$\hat x_{{{k + 1}}}$", role="output", fontsize=10, **_BOX)
        draw_arrow(ax, cell.top, frame.bottom)
        draw_arrow(ax, (column, bus_y), cell.bottom)
        if previous is None:
            draw_path_arrow(ax, [zero.bottom, (zero.x, 0.0), cell.left])
        else:
            draw_arrow(ax, previous.right, cell.left)
        previous = cell
        boxes += [cell, frame]
    ax.text(previous.right[0] + 0.25, 0, "decoder", ha="left", va="center", fontsize=10)
    return boxes


def plot_frame_rows(rows: dict, *, first: int = 1, marks: dict | None = None, cmap: str = "gray_r"):
    """Rows of frames side by side: ``rows`` maps a row's name to frames ``(K, Hf, Wf)`` (or
    ``(K, 1, Hf, Wf)``), values in ``[0, 1]``; columns are numbered from ``first``. ``marks`` maps
    a column index (from 0) to a title above it, e.g. where the trained horizon ends.
    Returns the figure."""
    if not rows:
        raise ValueError("expected at least one row of frames, got none")
    frames = {name: value.detach().cpu().float().reshape(value.shape[0], *value.shape[-2:]) for name, value in rows.items()}
    columns = max(value.shape[0] for value in frames.values())
    fig, axes = plt.subplots(len(frames), columns, figsize=(0.75 * columns + 1.4, 0.8 * len(frames) + 0.3),
                             squeeze=False)
    for r, (name, value) in enumerate(frames.items()):
        for k in range(columns):
            ax = axes[r, k]
            ax.set_xticks([])
            ax.set_yticks([])
            if k < value.shape[0]:
                ax.imshow(value[k].numpy(), cmap=cmap, vmin=0, vmax=1)
            else:
                ax.axis("off")
            if r == 0:
                title = (marks or {}).get(k, "")
                ax.set_title(f"{first + k}" + (f"\n{title}" if title else ""), fontsize=8)
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.subplots_adjust(wspace=0.05, hspace=0.08, left=0.2)
    return fig


def plot_weight_images(weights, shape: tuple[int, int], *, count: int = 8, title: str = ""):
    """The first ``count`` rows of ``weights (N, Hf*Wf)`` as ``shape`` images, each scaled to its own
    largest magnitude (red positive, blue negative). Returns the figure."""
    weights = weights.detach().cpu().float()
    if weights.ndim != 2 or weights.shape[1] != shape[0] * shape[1]:
        raise ValueError(f"expected weights of shape (N, {shape[0] * shape[1]}), got {tuple(weights.shape)}")
    count = min(count, weights.shape[0])
    fig, axes = plt.subplots(1, count, figsize=(0.9 * count, 1.2), squeeze=False)
    for k, ax in enumerate(axes[0]):
        image = weights[k].reshape(shape)
        scale = float(image.abs().max()) or 1.0
        ax.imshow(image.numpy(), cmap="RdBu_r", vmin=-scale, vmax=scale)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
