"""The gated recurrent unit (Cho et al. 2014), with torch's and the paper's placement of the reset gate."""
from __future__ import annotations

from torch import Tensor

from .. import functional as F
from .._validation import check_bool
from .base import RecurrentCell, State


class GRUCell(RecurrentCell):
    r"""A gated recurrent unit; with its defaults, torch's ``nn.GRUCell``.

    .. math::
        \begin{aligned}
        r &= \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}) \\
        z &= \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}) \\
        n &= \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn}))
             \quad\text{(reset\_after=True, torch)} \\
        n &= \tanh(W_{in} x + b_{in} + W_{hn} (r \odot h) + b_{hn})
             \quad\text{(reset\_after=False, Cho et al. 2014)} \\
        h' &= (1 - z) \odot n + z \odot h
        \end{aligned}

    Args:
        input_size: ``I``, features of ``x``.
        hidden_size: ``H``, units of ``h``.
        bias: whether to use ``b_ih`` and ``b_hh``.
        reset_after: apply the reset gate after the hidden matrix product, as torch and cuDNN do
            (default), or before it, as Cho et al. (2014) do.
        device, dtype: where and in which precision to create the parameters.

    Inputs: ``input (B, I)`` or ``(I,)``, ``hx (B, H)`` or ``(H,)`` (zeros if omitted).
    Output: ``h' (B, H)`` or ``(H,)``.

    Parameters are torch's for both settings, gate blocks in the order ``r, z, n``:
    ``weight_ih (3H, I)``, ``weight_hh (3H, H)``, ``bias_ih (3H,)``, ``bias_hh (3H,)``. With
    ``reset_after=True``, ``load_state_dict`` works both ways with ``nn.GRUCell``.

    Note:
        Reset placement. Cho et al. (2014) reset the state before it enters the candidate's matrix
        product, ``W_{hn} (r * h)``; torch, like cuDNN, resets the product, ``r * (W_{hn} h + b_{hn})``,
        so one matrix product of ``h`` serves all three blocks. The two agree when ``r = 1`` and
        differ otherwise, even with the same weights; ``reset_after=False`` gives the paper's form
        with torch's parameter layout (the bias ``b_{hn}`` is then outside the reset).

    Note:
        Update convention. We follow torch, ``h' = (1 - z) n + z h``: ``z`` is the share of the old
        state that is kept, and ``z = 1`` copies ``h`` through unchanged. Cho et al. (2014) write
        the same. Chung et al. (2014), Olah's 2015 blog post and many texts write
        ``h' = (1 - z) h + z n`` instead, where ``z`` is the share of the new candidate. The two
        are the same model with ``z`` replaced by ``1 - z``: negate the ``z`` block of both
        weights and both biases to convert one into the other.

    Example:
        >>> import torch
        >>> cell = GRUCell(3, 5)
        >>> cell(torch.zeros(2, 3)).shape
        torch.Size([2, 5])
        >>> reference = torch.nn.GRUCell(3, 5)
        >>> cell.load_state_dict(reference.state_dict())
        <All keys matched successfully>
        >>> x, h = torch.randn(2, 3), torch.randn(2, 5)
        >>> torch.allclose(cell(x, h), reference(x, h), atol=1e-6)
        True
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, reset_after: bool = True, *,
                 device=None, dtype=None) -> None:
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype, reset_after=reset_after)

    @classmethod
    def parameter_shapes(cls, input_size, hidden_size, bias, reset_after=True):
        check_bool(reset_after, "reset_after")
        shapes = {"weight_ih": (3 * hidden_size, input_size), "weight_hh": (3 * hidden_size, hidden_size)}
        if bias:
            shapes.update(bias_ih=(3 * hidden_size,), bias_hh=(3 * hidden_size,))
        return shapes

    @classmethod
    def step(cls, x: Tensor, state: State, params: dict[str, Tensor], reset_after: bool = True) -> State:
        (h,) = state
        return (F.gru_step(x, h, params["weight_ih"], params["weight_hh"], params.get("bias_ih"),
                           params.get("bias_hh"), reset_after),)
