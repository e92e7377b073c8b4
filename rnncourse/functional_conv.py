r"""Pure step functions of the convolutional LSTM (Shi et al. 2015): every product a convolution.

The convolutional counterpart of :mod:`rnncourse.functional`: ``(x_t, state, weights) -> state``,
no ``nn.Module``. Shape legend: ``B`` batch, ``C_in`` input channels, ``C_h`` hidden channels,
``H x W`` the input's spatial size, ``H' x W'`` the state's (equal to ``H x W`` unless the
input-to-state convolution has a stride), ``k`` kernel size.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ._validation import check_choice, shape_str
from .functional import lstm_gate_names


def pair(value, name: str) -> tuple[int, int]:
    """An int or a pair of ints (torch's convention for kernel sizes and strides) as a pair."""
    values = (value, value) if isinstance(value, int) else tuple(value)
    if len(values) != 2 or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise ValueError(f"expected {name} to be a positive int or a pair of them, got {value!r}")
    return values


def same_padding(size: int, kernel_size: int, stride: int = 1) -> tuple[int, int]:
    """The zeros to add before and after one spatial axis so that a convolution gives ``ceil(size / stride)``.

    TensorFlow's (and Keras') ``padding="same"``: ``(k - 1)`` zeros in all for stride 1, split
    ``(k - 1) // 2`` before and the rest after, so an even kernel is padded asymmetrically (one more
    zero at the bottom and on the right); torch's ``padding="same"`` splits the same way.
    """
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel_size - size, 0)
    return total // 2, total - total // 2


def conv2d_same(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1) -> Tensor:
    """``F.conv2d`` with 'same' zero padding (:func:`same_padding`) for odd and even kernels.

    Args:
        x: ``(B, C_in, H, W)``. weight: ``(C_out, C_in, kh, kw)``. bias: ``(C_out,)`` or ``None``.
        stride: an int or a pair.

    Returns:
        ``(B, C_out, ceil(H / stride), ceil(W / stride))``.
    """
    sh, sw = pair(stride, "stride")
    top, bottom = same_padding(x.shape[-2], weight.shape[-2], sh)
    left, right = same_padding(x.shape[-1], weight.shape[-1], sw)
    padded = F.pad(x, (left, right, top, bottom))  # (B, C_in, H + top + bottom, W + left + right)
    return F.conv2d(padded, weight, bias, stride=(sh, sw))


def conv_lstm_peephole_names(forget_gate: bool = True) -> tuple[str, ...]:
    """The Hadamard peephole weights: ``weight_ci``, ``weight_cf`` (with a forget gate), ``weight_co``."""
    return tuple(f"weight_c{gate}" for gate in lstm_gate_names(forget_gate) if gate != "g")


def _check_conv_lstm(x, h, c, weight_ih, weight_hh, bias, gates, stride, peepholes) -> None:
    if x.dim() != 4 or h.dim() != 4 or c.shape != h.shape:
        raise ValueError(f"expected input (B, C_in, H, W) and h, c of one shape (B, C_h, H', W'), got input "
                         f"{shape_str(x.shape)}, h {shape_str(h.shape)}, c {shape_str(c.shape)}")
    batch, channels, rows, cols = h.shape
    if x.shape[0] != batch:
        raise ValueError(f"expected input and state with the same batch size, got {x.shape[0]} and {batch}")
    count = len(gates) * channels
    for weight, name, width in ((weight_ih, "weight_ih", x.shape[1]), (weight_hh, "weight_hh", channels)):
        if weight.dim() != 4 or weight.shape[:2] != (count, width):
            raise ValueError(f"expected {name} of shape ({len(gates)}*C_h = {count}, {width}, kh, kw) "
                             f"(gate blocks {', '.join(gates)}), got {shape_str(weight.shape)}")
    if bias is not None and tuple(bias.shape) != (count,):
        raise ValueError(f"expected bias of shape ({count},), got {shape_str(bias.shape)}")
    sh, sw = pair(stride, "stride")
    expected = (math.ceil(x.shape[2] / sh), math.ceil(x.shape[3] / sw))
    if expected != (rows, cols):
        raise ValueError(f"expected a state of spatial size {expected} (input {tuple(x.shape[2:])} with stride "
                         f"{(sh, sw)}), got {(rows, cols)}")
    for name, weight in peepholes.items():
        if tuple(weight.shape) != (channels, rows, cols):
            raise ValueError(f"expected {name} of shape (C_h, H', W') = {(channels, rows, cols)}, one weight per "
                             f"channel and position, got {shape_str(weight.shape)}")


def conv_lstm_step(
    x: Tensor,
    state: tuple[Tensor, Tensor],
    weight_ih: Tensor,
    weight_hh: Tensor,
    bias: Tensor | None = None,
    *,
    forget_gate: bool = True,
    peephole: bool = False,
    weight_ci: Tensor | None = None,
    weight_cf: Tensor | None = None,
    weight_co: Tensor | None = None,
    stride=1,
) -> tuple[Tensor, Tensor]:
    r"""One step of a convolutional LSTM; ``*`` is a 2-D convolution, ``\circ`` the Hadamard product.

    Shi et al. (2015), with a forget gate and peepholes (``forget_gate=True, peephole=True``):

    .. math::
        \begin{aligned}
        i_t &= \sigma(W_{xi} * X_t + W_{hi} * H_{t-1} + W_{ci} \circ C_{t-1} + b_i) \\
        f_t &= \sigma(W_{xf} * X_t + W_{hf} * H_{t-1} + W_{cf} \circ C_{t-1} + b_f) \\
        C_t &= f_t \circ C_{t-1} + i_t \circ \tanh(W_{xc} * X_t + W_{hc} * H_{t-1} + b_c) \\
        o_t &= \sigma(W_{xo} * X_t + W_{ho} * H_{t-1} + W_{co} \circ C_t + b_o) \\
        H_t &= o_t \circ \tanh(C_t)
        \end{aligned}

    The three forms in use, by argument:

    - ``forget_gate=False, peephole=False``: the course source's "simplest LSTM, without forget
      gate and without peephole", :math:`C_t = C_{t-1} + i_t \circ g_t`;
    - ``forget_gate=True, peephole=True``: Shi et al.'s; the peephole weights are full
      ``(C_h, H', W')`` tensors, one weight per channel and position;
    - ``forget_gate=True, peephole=False`` (the default): Keras' ``ConvLSTM2D``.

    The state-to-state convolution always has stride 1 and 'same' zero padding, so ``H`` and ``C``
    keep their size from step to step. Only the input-to-state convolution may have a ``stride``
    (the state then has the input's size divided by it, rounded up).

    Args:
        x: input at step t, ``(B, C_in, H, W)``.
        state: ``(h_{t-1}, c_{t-1})``, each ``(B, C_h, H', W')``.
        weight_ih: ``(G*C_h, C_in, k, k)``, the gate blocks stacked in torch's LSTM order
            ``i, f, g, o`` (``G = 4``), or ``i, g, o`` (``G = 3``) without a forget gate.
        weight_hh: ``(G*C_h, C_h, k', k')``; its kernel may differ from ``weight_ih``'s.
        bias: ``(G*C_h,)`` or ``None``: one bias per gate and channel, as in Shi et al. and Keras.
        forget_gate, peephole: the form, as above.
        weight_ci, weight_cf, weight_co: the peepholes, ``(C_h, H', W')``, exactly those of
            :func:`conv_lstm_peephole_names` when ``peephole``, otherwise ``None``.
        stride: of the input-to-state convolution, an int or a pair.

    Returns:
        the new state ``(h_t, c_t)``, each ``(B, C_h, H', W')``.
    """
    gates = lstm_gate_names(forget_gate)
    check_choice(peephole, "peephole", (True, False))
    given = {"weight_ci": weight_ci, "weight_cf": weight_cf, "weight_co": weight_co}
    needed = conv_lstm_peephole_names(forget_gate) if peephole else ()
    for name, value in given.items():
        if (value is None) == (name in needed):
            wanted = f"peephole weights {', '.join(needed)}" if needed else "no peephole weights"
            raise ValueError(f"expected {wanted} for forget_gate={forget_gate}, peephole={peephole}; "
                             f"{name} was {'missing' if value is None else 'given'}")
    h, c = state
    _check_conv_lstm(x, h, c, weight_ih, weight_hh, bias, gates, stride,
                     {name: given[name] for name in needed})

    pre = conv2d_same(x, weight_ih, bias, stride) + conv2d_same(h, weight_hh)  # (B, G*C_h, H', W')
    blocks = dict(zip(gates, pre.chunk(len(gates), dim=1)))  # G x (B, C_h, H', W')
    if peephole:
        blocks["i"] = blocks["i"] + weight_ci * c  # (B, C_h, H', W')
        if forget_gate:
            blocks["f"] = blocks["f"] + weight_cf * c  # (B, C_h, H', W')
    input_gate = torch.sigmoid(blocks["i"])  # (B, C_h, H', W')
    candidate = torch.tanh(blocks["g"])  # (B, C_h, H', W')
    forget = torch.sigmoid(blocks["f"]) if forget_gate else 1.0  # (B, C_h, H', W')
    c_new = forget * c + input_gate * candidate  # (B, C_h, H', W')
    if peephole:
        blocks["o"] = blocks["o"] + weight_co * c_new  # (B, C_h, H', W'): o sees the new cell
    h_new = torch.sigmoid(blocks["o"]) * torch.tanh(c_new)  # (B, C_h, H', W')
    return h_new, c_new
