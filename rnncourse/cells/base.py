"""What every recurrent cell shares: torch-named parameters, initialisation, state handling.

A cell class declares three things and inherits the rest:

- ``parameter_shapes(input_size, hidden_size, bias, **options)``: the parameters, by torch's names;
- ``step(x, state, params, **options)``: one time step, a call into :mod:`rnncourse.functional`;
- ``state_count``: how many tensors make the state (1 for ``h``, 2 for LSTM's ``(h, c)``);

and may override ``init_parameters(params, hidden_size, **options)`` (torch's uniform by default).

The same three are what :class:`rnncourse.recurrent.RecurrentLayers` uses to build a whole
torch-compatible layer (``weight_ih_l0`` and so on), so a cell and a layer can never disagree.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from .._validation import check_like, check_state, check_step_input, check_tensor

State = tuple[Tensor, ...]


class RecurrentCell(nn.Module):
    """Base class of the cells; see the module docstring for what a subclass provides."""

    state_count: int = 1
    # A cell that sets this to True is called as cell(x_t, state, t=t, mask=m) by the layers:
    # the contract is in rnncourse.recurrent.unroll.
    takes_time_index: bool = False

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, *, device=None, dtype=None,
                 **options) -> None:
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"expected {name} to be a positive int, got {value!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.options = options
        for name, shape in self.parameter_shapes(input_size, hidden_size, bias, **options).items():
            self.register_parameter(name, nn.Parameter(torch.empty(shape, device=device, dtype=dtype)))
        self.reset_parameters()

    @classmethod
    def parameter_shapes(cls, input_size: int, hidden_size: int, bias: bool, **options) -> dict[str, tuple]:
        raise NotImplementedError

    @classmethod
    def step(cls, x: Tensor, state: State, params: dict[str, Tensor], **options) -> State:
        raise NotImplementedError

    @classmethod
    def init_parameters(cls, params: dict[str, Tensor], hidden_size: int, **options) -> None:
        """Initialise one cell's parameters in place: torch's uniform ``(-1/sqrt(H), 1/sqrt(H))``.

        A family with an initialisation of its own (an LSTM's forget-gate bias) overrides this.
        Both the cell and :class:`~rnncourse.recurrent.RecurrentLayers` (once per layer and
        direction) call it, so a cell and a layer are always initialised alike.
        """
        bound = 1.0 / math.sqrt(hidden_size)
        for parameter in params.values():
            nn.init.uniform_(parameter, -bound, bound)

    @property
    def state_sizes(self) -> tuple[int, ...]:
        """The feature size of each state tensor."""
        return (self.hidden_size,) * self.state_count

    def reset_parameters(self) -> None:
        """Initialise the parameters with the cell's :meth:`init_parameters`."""
        self.init_parameters(dict(self.named_parameters(recurse=False)), self.hidden_size, **self.options)

    def initial_state(self, batch_size: int, like: Tensor) -> State:
        """Zeros of shape ``(B, size)`` for each state tensor, on ``like``'s device and dtype."""
        return tuple(like.new_zeros(batch_size, size) for size in self.state_sizes)

    def prepare_state(self, hx, batch: int, batched: bool, like: Tensor) -> State:
        """Validate ``hx`` (a tensor, a tuple of ``state_count`` tensors, or ``None`` for zeros) and
        return it as a tuple of ``(B, size)`` tensors; unbatched tensors ``(size,)`` when not ``batched``."""
        if hx is None:
            return self.initial_state(batch, like)
        parts = (hx,) if self.state_count == 1 and not isinstance(hx, tuple) else hx
        if not isinstance(parts, (tuple, list)) or len(parts) != self.state_count:
            got = f"{type(hx).__name__} of length {len(hx)}" if isinstance(hx, (tuple, list)) else type(hx).__name__
            raise ValueError(f"expected hx to be a tuple of {self.state_count} tensors, got {got}")
        names = ("hx",) if self.state_count == 1 else tuple(f"hx[{i}]" for i in range(self.state_count))
        state = tuple(
            check_state(check_tensor(part, name), batch, size, name, batched)
            for part, name, size in zip(parts, names, self.state_sizes)
        )
        for part, name in zip(state, names):
            check_like(part, like, name)
        return state

    def forward(self, input: Tensor, hx: Tensor | State | None = None) -> Tensor | State:
        """One step. ``input (B, I)`` or ``(I,)``; ``hx`` the state (zeros when ``None``).

        Returns the new state in the form ``hx`` takes: ``h'`` ``(B, H)`` for a one-tensor state,
        a tuple such as ``(h', c')`` otherwise (without the batch dimension for unbatched input).
        """
        x, batched = check_step_input(input, self.input_size)
        first = next(self.parameters(recurse=False))
        check_like(x, first, "input")
        state = self.prepare_state(hx, x.shape[0], batched, first)
        new_state = self.step(x, state, dict(self.named_parameters(recurse=False)), **self.options)
        if not batched:
            new_state = tuple(s.squeeze(0) for s in new_state)
        return new_state[0] if self.state_count == 1 else new_state

    def extra_repr(self) -> str:
        options = "".join(f", {key}={value!r}" for key, value in self.options.items())
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}{options}"
