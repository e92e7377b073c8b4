"""The Jordan cell (Jordan 1986): the previous *output* is fed back into the hidden layer."""
from __future__ import annotations

import math

from torch import Tensor, nn

from .. import functional as F
from .._validation import check_choice
from .base import RecurrentCell, State


class JordanCell(RecurrentCell):
    r"""A Jordan cell: hidden layer driven by the input and the previous output.

    .. math::
        h = \phi(W_{ih} x + b_{ih} + W_{yh} y_{prev} + b_{yh}) \qquad
        y = \psi(W_{hy} h + b_{hy})

    Args:
        input_size: ``I``. hidden_size: ``H``. output_size: ``O``.
        bias: whether to use the three biases.
        nonlinearity: hidden activation ``phi``, ``"tanh"`` or ``"relu"``.
        output_nonlinearity: ``psi``, ``"identity"`` (default), ``"tanh"`` or ``"sigmoid"``.

    Inputs: ``input (B, I)`` or ``(I,)``, ``hx = y_prev (B, O)`` or ``(O,)`` (zeros if omitted).
    Output: ``y (B, O)``: the output, which is also the next state.

    Parameters: ``weight_ih (H, I)``, ``weight_yh (H, O)``, ``weight_hy (O, H)``, ``bias_ih (H,)``,
    ``bias_yh (H,)``, ``bias_hy (O,)``. torch has no Jordan network to compare with; the tests use a
    float64 oracle written from the equations.

    Example:
        >>> import torch
        >>> cell = JordanCell(3, 8, 2)
        >>> cell(torch.zeros(4, 3)).shape
        torch.Size([4, 2])
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", output_nonlinearity: str = "identity", *, device=None,
                 dtype=None) -> None:
        if not isinstance(output_size, int) or isinstance(output_size, bool) or output_size < 1:
            raise ValueError(f"expected output_size to be a positive int, got {output_size!r}")
        check_choice(nonlinearity, "nonlinearity", ("tanh", "relu"))
        check_choice(output_nonlinearity, "output_nonlinearity", ("identity", "tanh", "sigmoid"))
        self.output_size = output_size
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype, output_size=output_size,
                         nonlinearity=nonlinearity, output_nonlinearity=output_nonlinearity)

    @classmethod
    def parameter_shapes(cls, input_size, hidden_size, bias, output_size=1, **options):
        shapes = {
            "weight_ih": (hidden_size, input_size),
            "weight_yh": (hidden_size, output_size),
            "weight_hy": (output_size, hidden_size),
        }
        if bias:
            shapes.update(bias_ih=(hidden_size,), bias_yh=(hidden_size,), bias_hy=(output_size,))
        return shapes

    @classmethod
    def step(cls, x: Tensor, state: State, params: dict[str, Tensor], output_size: int = 1,
             nonlinearity: str = "tanh", output_nonlinearity: str = "identity") -> State:
        (y,) = state
        return (F.jordan_step(x, y, params["weight_ih"], params["weight_yh"], params["weight_hy"],
                              params.get("bias_ih"), params.get("bias_yh"), params.get("bias_hy"),
                              nonlinearity, output_nonlinearity),)

    @property
    def state_sizes(self) -> tuple[int, ...]:
        return (self.output_size,)

    def reset_parameters(self) -> None:
        """Each weight uniform in ``(-1/sqrt(fan_in), 1/sqrt(fan_in))``: the output layer's fan-in is ``H``."""
        for parameter in self.parameters(recurse=False):
            fan_in = parameter.shape[1] if parameter.dim() == 2 else self.hidden_size
            bound = 1.0 / math.sqrt(fan_in)
            nn.init.uniform_(parameter, -bound, bound)
