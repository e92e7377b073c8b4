"""The convolutional LSTM (Shi et al. 2015): a cell and a stacked layer over time.

Shape legend: ``T`` time steps, ``B`` batch, ``C`` channels, ``H x W`` spatial size, ``N_L`` layers.
The step equations are :func:`rnncourse.functional_conv.conv_lstm_step`.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .._validation import check_like, check_tensor, shape_str
from ..functional import lstm_gate_names
from ..functional_conv import conv_lstm_peephole_names, conv_lstm_step, pair

ConvState = tuple[Tensor, Tensor]


class ConvLSTMCell(nn.Module):
    r"""A convolutional LSTM cell: an LSTM whose every matrix product is a convolution.

    ========================================  ===============================================
    arguments                                 form
    ========================================  ===============================================
    defaults                                  Keras' ``ConvLSTM2D``: forget gate, no peepholes
    ``peephole=True, spatial_size=(H', W')``  Shi et al. (2015): forget gate and Hadamard
                                              peepholes, full ``(C_h, H', W')`` weights
    ``forget_gate=False``                     the course source's simplest ConvLSTM: neither
    ========================================  ===============================================

    Args:
        in_channels: ``C_in``, channels of the input frames.
        hidden_channels: ``C_h``, channels of ``h`` and ``c``.
        kernel_size: of the input-to-state convolution, an int or a pair (odd or even: 'same'
            padding is asymmetric for even kernels).
        bias: one bias per gate and channel.
        forget_gate, peephole: the form, as in the table.
        spatial_size: ``(H', W')`` of the state; needed for peepholes, whose weights are one per
            channel and position.
        hidden_kernel_size: of the state-to-state convolution (default ``kernel_size``). It bounds
            how far a pattern can move in one step: about ``(k' - 1) / 2`` pixels.
        stride: of the input-to-state convolution only; the state-to-state one always has stride 1,
            or the state would shrink at every step.

    Inputs: ``input, (h, c)``: ``input (B, C_in, H, W)``; ``h, c`` each ``(B, C_h, H', W')`` with
    ``H' = ceil(H / stride)``, zeros when omitted (Shi's "total ignorance" of the future).

    Outputs: ``(h', c')``, each ``(B, C_h, H', W')``.

    Parameters: ``weight_ih (G*C_h, C_in, k, k)``, ``weight_hh (G*C_h, C_h, k', k')``,
    ``bias (G*C_h,)`` in torch's gate order ``i, f, g, o`` (``G = 4``, or ``i, g, o`` without a
    forget gate); with peepholes ``weight_ci``, ``weight_cf``, ``weight_co``, each ``(C_h, H', W')``.

    Note:
        One bias per gate, as in Shi et al. and Keras, rather than torch's ``bias_ih`` plus
        ``bias_hh`` (whose sum is the one bias): the parameter count is then Shi's
        :math:`4(k^2 C_{in} C_h + k'^2 C_h^2 + C_h)`, plus the peepholes.

    Example:
        >>> import torch
        >>> cell = ConvLSTMCell(1, 8, 3)
        >>> h, c = cell(torch.zeros(2, 1, 16, 16))
        >>> h.shape
        torch.Size([2, 8, 16, 16])
        >>> ConvLSTMCell(1, 8, 3, stride=2)(torch.zeros(2, 1, 16, 16))[0].shape
        torch.Size([2, 8, 8, 8])
    """

    def __init__(self, in_channels: int, hidden_channels: int, kernel_size=3, bias: bool = True,
                 forget_gate: bool = True, peephole: bool = False, spatial_size=None, hidden_kernel_size=None,
                 stride=1, *, device=None, dtype=None) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("hidden_channels", hidden_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"expected {name} to be a positive int, got {value!r}")
        self.in_channels, self.hidden_channels = in_channels, hidden_channels
        self.kernel_size = pair(kernel_size, "kernel_size")
        self.hidden_kernel_size = pair(kernel_size if hidden_kernel_size is None else hidden_kernel_size,
                                       "hidden_kernel_size")
        self.stride = pair(stride, "stride")
        self.forget_gate, self.peephole = forget_gate, peephole
        gates = lstm_gate_names(forget_gate)
        if peephole and spatial_size is None:
            raise ValueError("peephole=True needs spatial_size=(H', W'): Shi's peephole weights are one per "
                             "channel and position of the state")
        self.spatial_size = None if spatial_size is None else pair(spatial_size, "spatial_size")
        rows = len(gates) * hidden_channels
        factory = dict(device=device, dtype=dtype)
        self.weight_ih = nn.Parameter(torch.empty(rows, in_channels, *self.kernel_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_channels, *self.hidden_kernel_size, **factory))
        self.bias = nn.Parameter(torch.empty(rows, **factory)) if bias else None
        for name in conv_lstm_peephole_names(forget_gate) if peephole else ():
            self.register_parameter(name, nn.Parameter(torch.empty(hidden_channels, *self.spatial_size,
                                                                   **factory)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's LSTM initialisation, uniform in ``(-1/sqrt(C_h), 1/sqrt(C_h))``, for every parameter."""
        bound = 1.0 / math.sqrt(self.hidden_channels)
        for parameter in self.parameters():
            nn.init.uniform_(parameter, -bound, bound)

    def state_shape(self, input_shape) -> tuple[int, int, int]:
        """``(C_h, H', W')`` of the state for an input of spatial size ``input_shape[-2:]``."""
        rows, cols = input_shape[-2:]
        return (self.hidden_channels, math.ceil(rows / self.stride[0]), math.ceil(cols / self.stride[1]))

    def initial_state(self, input: Tensor) -> ConvState:
        """Zero ``(h, c)``, each ``(B, C_h, H', W')``, on ``input``'s device and dtype."""
        zeros = input.new_zeros(input.shape[0], *self.state_shape(input.shape))  # (B, C_h, H', W')
        return zeros, zeros

    def forward(self, input: Tensor, hx: ConvState | None = None) -> ConvState:
        check_tensor(input, "input")
        if input.dim() != 4 or input.shape[1] != self.in_channels:
            raise ValueError(f"expected input of shape (B, {self.in_channels}, H, W), got {shape_str(input.shape)}")
        check_like(input, self.weight_ih, "input")
        state = self.initial_state(input) if hx is None else tuple(hx)
        if len(state) != 2:
            raise ValueError(f"expected hx to be a pair (h, c), got {len(state)} tensors")
        for part, name in zip(state, ("h", "c")):
            check_like(check_tensor(part, name), self.weight_ih, name)
        peepholes = {name: getattr(self, name) for name in conv_lstm_peephole_names(self.forget_gate)
                     if self.peephole}
        return conv_lstm_step(input, state, self.weight_ih, self.weight_hh, self.bias,
                              forget_gate=self.forget_gate, peephole=self.peephole, stride=self.stride,
                              **peepholes)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.hidden_channels}, kernel_size={self.kernel_size}, "
                f"hidden_kernel_size={self.hidden_kernel_size}, stride={self.stride}, bias={self.bias is not None}, "
                f"forget_gate={self.forget_gate}, peephole={self.peephole}")


def _per_layer(value, num_layers: int, name: str) -> list:
    values = list(value) if isinstance(value, list) else [value] * num_layers
    if len(values) != num_layers:
        raise ValueError(f"expected {name} to be one value or {num_layers} (one per layer), got {value!r}")
    return values


class ConvLSTM(nn.Module):
    """Stacked ConvLSTM layers run over a sequence of frames; layer ``l``'s ``h_t`` is layer ``l+1``'s input.

    Args:
        in_channels: ``C_in`` of the frames.
        hidden_channels: ``C_h`` of every layer, one int or a list with one per layer.
        kernel_size, hidden_kernel_size, stride: as in :class:`ConvLSTMCell`, one value (an int or
            a pair) for every layer or a list with one per layer (a ``stride`` shrinks the maps
            between layers, never inside a layer's recurrence).
        num_layers: ``N_L``.
        batch_first: frames as ``(B, T, C, H, W)`` instead of ``(T, B, C, H, W)``.
        bias, forget_gate, peephole: for every layer. With peepholes, ``spatial_size`` is the
            input's ``(H, W)``; each layer's state size follows from the strides.

    Inputs: ``input, hx``: ``input (T, B, C_in, H, W)``; ``hx = (h_0, c_0)``, each a sequence of
    ``L`` tensors ``(B, C_h^l, H_l, W_l)`` (a stacked ``(L, B, C_h, H, W)`` tensor works too), zeros
    when omitted.

    Outputs: ``output, (h_n, c_n)``: ``output (T, B, C_h^L, H_L, W_L)``, the last layer's ``h_t`` for
    every ``t``; ``h_n`` and ``c_n`` tuples of ``L`` tensors ``(B, C_h^l, H_l, W_l)``, the last step's
    state of each layer, indexed like torch's ``h_n`` (``h_n[-1]`` is the top layer). They are tuples,
    not one stacked tensor, because layers may differ in channels and size.
    """

    def __init__(self, in_channels: int, hidden_channels, kernel_size=3, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, forget_gate: bool = True, peephole: bool = False, spatial_size=None,
                 hidden_kernel_size=None, stride=1, *, device=None, dtype=None) -> None:
        super().__init__()
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"expected num_layers to be a positive int, got {num_layers!r}")
        self.num_layers, self.batch_first = num_layers, batch_first
        channels = _per_layer(hidden_channels, num_layers, "hidden_channels")
        kernels = _per_layer(kernel_size, num_layers, "kernel_size")
        hidden_kernels = _per_layer(hidden_kernel_size, num_layers, "hidden_kernel_size")
        strides = _per_layer(stride, num_layers, "stride")
        size = None if spatial_size is None else pair(spatial_size, "spatial_size")
        cells = []
        for layer in range(num_layers):
            step = pair(strides[layer], "stride")
            if size is not None:
                size = (math.ceil(size[0] / step[0]), math.ceil(size[1] / step[1]))
            cells.append(ConvLSTMCell(in_channels if layer == 0 else channels[layer - 1], channels[layer],
                                      kernels[layer], bias, forget_gate, peephole, size, hidden_kernels[layer],
                                      step, device=device, dtype=dtype))
        self.cells = nn.ModuleList(cells)

    def forward(self, input: Tensor, hx=None) -> tuple[Tensor, tuple[tuple[Tensor, ...], tuple[Tensor, ...]]]:
        check_tensor(input, "input")
        layout = "(B, T, C, H, W)" if self.batch_first else "(T, B, C, H, W)"
        if input.dim() != 5:
            raise ValueError(f"expected input of shape {layout}, got {input.dim()}D {shape_str(input.shape)}")
        frames = input.transpose(0, 1) if self.batch_first else input  # (T, B, C_in, H, W)
        if frames.shape[0] == 0:
            raise ValueError(f"expected at least one time step, got {shape_str(input.shape)}")
        if hx is not None and (len(hx) != 2 or len(hx[0]) != self.num_layers or len(hx[1]) != self.num_layers):
            raise ValueError(f"expected hx = (h_0, c_0), each with {self.num_layers} layer states")
        finals_h, finals_c = [], []
        for layer, cell in enumerate(self.cells):
            state = None if hx is None else (hx[0][layer], hx[1][layer])
            outputs = []
            for x in frames:
                state = cell(x, state)
                outputs.append(state[0])
            frames = torch.stack(outputs)  # (T, B, C_h^l, H_l, W_l)
            finals_h.append(state[0])
            finals_c.append(state[1])
        output = frames.transpose(0, 1) if self.batch_first else frames
        return output, (tuple(finals_h), tuple(finals_c))
