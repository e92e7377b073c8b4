"""The Elman cell (Elman 1990): the hidden state is fed back into itself."""
from __future__ import annotations

from torch import Tensor

from .. import functional as F
from .._validation import check_choice
from .base import RecurrentCell, State


class ElmanCell(RecurrentCell):
    r"""An Elman (simple recurrent) cell, torch's ``nn.RNNCell``.

    .. math:: h' = \phi(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})

    Args:
        input_size: ``I``, features of ``x``.
        hidden_size: ``H``, units of ``h``.
        bias: whether to use ``b_ih`` and ``b_hh``.
        nonlinearity: ``"tanh"`` (default) or ``"relu"``.

    Inputs: ``input (B, I)`` or ``(I,)``, ``hx (B, H)`` or ``(H,)`` (zeros if omitted).
    Output: ``h' (B, H)`` or ``(H,)``.

    Parameters are named and shaped as torch's: ``weight_ih (H, I)``, ``weight_hh (H, H)``,
    ``bias_ih (H,)``, ``bias_hh (H,)``, so ``load_state_dict`` works both ways with ``nn.RNNCell``.

    Example:
        >>> import torch
        >>> cell = ElmanCell(3, 5)
        >>> cell(torch.zeros(2, 3)).shape
        torch.Size([2, 5])
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 *, device=None, dtype=None) -> None:
        check_choice(nonlinearity, "nonlinearity", ("tanh", "relu"))
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype, nonlinearity=nonlinearity)

    @classmethod
    def parameter_shapes(cls, input_size, hidden_size, bias, **options):
        shapes = {"weight_ih": (hidden_size, input_size), "weight_hh": (hidden_size, hidden_size)}
        if bias:
            shapes.update(bias_ih=(hidden_size,), bias_hh=(hidden_size,))
        return shapes

    @classmethod
    def step(cls, x: Tensor, state: State, params: dict[str, Tensor], nonlinearity: str = "tanh") -> State:
        (h,) = state
        return (F.elman_step(x, h, params["weight_ih"], params["weight_hh"], params.get("bias_ih"),
                             params.get("bias_hh"), nonlinearity),)
