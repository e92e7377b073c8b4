"""The minimal gated unit (Zhou, Wu, Zhang & Zhou 2016): a GRU with one gate instead of two."""
from __future__ import annotations

from torch import Tensor

from .. import functional as F
from .base import RecurrentCell, State


class MGUCell(RecurrentCell):
    r"""A minimal gated unit: one forget gate ``f`` does the work of the GRU's reset and update gates.

    .. math::
        \begin{aligned}
        f &= \sigma(W_{if} x + b_{if} + W_{hf} h + b_{hf}) \\
        \tilde h &= \tanh(W_{in} x + b_{in} + W_{hn} (f \odot h) + b_{hn}) \\
        h' &= (1 - f) \odot h + f \odot \tilde h
        \end{aligned}

    Args:
        input_size: ``I``, features of ``x``.
        hidden_size: ``H``, units of ``h``.
        bias: whether to use ``b_ih`` and ``b_hh``.
        device, dtype: where and in which precision to create the parameters.

    Inputs: ``input (B, I)`` or ``(I,)``, ``hx (B, H)`` or ``(H,)`` (zeros if omitted).
    Output: ``h' (B, H)`` or ``(H,)``.

    Parameters in torch's style, gate blocks in the order ``f, n``: ``weight_ih (2H, I)``,
    ``weight_hh (2H, H)``, ``bias_ih (2H,)``, ``bias_hh (2H,)``: two thirds of a GRU's at equal sizes.
    torch has no MGU; the tests compare it with a float64 oracle and with a GRU whose gates are tied.

    Note:
        Zhou et al. (2016) write one weight matrix on the concatenation ``[h, x]`` and one bias
        per block; we split it into torch's ``weight_ih`` and ``weight_hh`` with two biases, which
        add up to the paper's (``b_{if} + b_{hf}`` is its ``b_f``). The reset happens before the
        matrix product, as in the paper and in Cho et al.'s GRU. In GRU terms the MGU ties the
        gates as ``r = f`` and ``z = 1 - f`` (torch's update convention, see
        :class:`~rnncourse.cells.GRUCell`): ``f = 1`` takes the candidate, ``f = 0`` keeps ``h``.

    Example:
        >>> import torch
        >>> cell = MGUCell(3, 5)
        >>> cell(torch.zeros(2, 3)).shape
        torch.Size([2, 5])
        >>> cell.weight_ih.shape, cell.weight_hh.shape
        (torch.Size([10, 3]), torch.Size([10, 5]))
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *, device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)

    @classmethod
    def parameter_shapes(cls, input_size, hidden_size, bias):
        shapes = {"weight_ih": (2 * hidden_size, input_size), "weight_hh": (2 * hidden_size, hidden_size)}
        if bias:
            shapes.update(bias_ih=(2 * hidden_size,), bias_hh=(2 * hidden_size,))
        return shapes

    @classmethod
    def step(cls, x: Tensor, state: State, params: dict[str, Tensor]) -> State:
        (h,) = state
        return (F.mgu_step(x, h, params["weight_ih"], params["weight_hh"], params.get("bias_ih"),
                           params.get("bias_hh")),)
