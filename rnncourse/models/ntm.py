r"""The Neural Turing Machine (Graves, Wayne & Danihelka 2014): a controller with an external memory.

At every step ``t`` the controller reads the input ``x_t`` and the previous read vectors
``r_{t-1}`` and emits, through small linear layers, each head's addressing parameters. The heads
then address and use the memory (:mod:`rnncourse.models.ntm_addressing`), and the output is
computed from the controller's output and the new read vectors. The whole carried state is

.. math:: s_t = (M_t,\ w^{read}_t,\ w^{write}_t,\ r_t,\ \text{controller state}),

so the machine is a recurrent network :math:`s_t = f(s_{t-1}, x_t)` even with a feed-forward
controller. Shape legend: ``T`` time steps, ``B`` batch, ``I`` input features, ``O`` outputs,
``N x M`` memory, ``Hr``/``Hw`` read/write heads, ``C`` controller units, ``S = 2R + 1`` shifts.

Order within a step (``order``): with ``"write_first"`` (the default, the paper's equations, in
which :math:`r_t = \sum_i w_t(i) M_t(i)` reads the memory *after* the write of step ``t``) the
write heads address and change ``M_{t-1}`` into ``M_t``, then the read heads address and read
``M_t``. With ``"read_first"`` (what pytorch-ntm and Collier & Beel's code do) the read heads
read ``M_{t-1}`` and the write comes after. Implementations differ here; the tests pin both.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from .._validation import check_choice, check_sequence_input
from ..cells import LSTMCell
from . import ntm_addressing as A


@dataclass
class NTMConfig:
    """An NTM's sizes and options. The defaults are the paper's copy-task machine; the measures
    marked "practice" are not in the paper (Collier & Beel 2018 and common implementations)."""

    input_size: int  # I, features of x_t (copy: bits + 1 delimiter channel)
    output_size: int  # O, outputs (logits of the output bits)
    memory_size: int = 128  # N, memory rows (paper: 128)
    memory_width: int = 20  # M, width of a row (paper: 20)
    controller: str = "lstm"  # "lstm" or "feedforward" (the paper compares both)
    controller_size: int = 100  # C, controller units (paper, copy: one LSTM layer of 100)
    read_heads: int = 1  # Hr (paper, copy: 1)
    write_heads: int = 1  # Hw (paper, copy: 1)
    shift_range: int = 1  # R: shifts -R..R allowed (paper: -1, 0, +1)
    order: str = "write_first"  # "write_first" (paper's equations) or "read_first" (pytorch-ntm)
    add_activation: str = "tanh"  # activation of the add vector a: "tanh" or "identity" (paper: unspecified)
    memory_init: str = "constant"  # practice: "constant" (best in Collier & Beel) or "learned"
    memory_init_value: float = 1e-6  # practice: the constant (and start of the learned) initial memory
    learned_initial_state: bool = True  # practice: learned w_0 and r_0; False: w_0 one-hot on row 0, r_0 = 0
    clip_value: float | None = 20.0  # practice: clip controller output and head parameters to [-c, c]
    cosine_eps: float = A.COSINE_EPS  # practice: epsilon in the cosine similarity (0: paper)
    sharpen_eps: float = A.SHARPEN_EPS  # practice: epsilon in the sharpening (0: paper)

    def __post_init__(self) -> None:
        for name in ("input_size", "output_size", "memory_size", "memory_width", "controller_size",
                     "read_heads", "write_heads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"expected {name} to be a positive int, got {value!r}")
        if isinstance(self.shift_range, bool) or not isinstance(self.shift_range, int) or self.shift_range < 0 \
                or 2 * self.shift_range + 1 > self.memory_size:
            raise ValueError(f"expected shift_range to be an int R >= 0 with 2R + 1 <= memory_size = "
                             f"{self.memory_size}, got {self.shift_range!r}")
        check_choice(self.controller, "controller", ("lstm", "feedforward"))
        check_choice(self.order, "order", ("write_first", "read_first"))
        check_choice(self.add_activation, "add_activation", ("tanh", "identity"))
        check_choice(self.memory_init, "memory_init", ("constant", "learned"))


class NTMState(NamedTuple):
    """What an NTM carries from one step to the next."""

    memory: Tensor  # M_t, (B, N, M)
    read_weights: Tensor  # (B, Hr, N)
    write_weights: Tensor  # (B, Hw, N)
    reads: Tensor  # r_t, (B, Hr, M)
    controller: tuple[Tensor, ...]  # (h, c) for an LSTM controller, (h,) for a feed-forward one


class Heads(nn.Module):
    """One linear layer from the controller output to the parameters of ``heads`` heads, with the
    paper's activations: key linear, :math:`\\beta` softplus, ``g`` sigmoid, shift softmax,
    :math:`\\gamma = 1 + \\text{softplus}`; write heads add erase (sigmoid) and add (``tanh`` or
    linear)."""

    def __init__(self, controller_size: int, heads: int, width: int, shifts: int, writes: bool,
                 add_activation: str, clip_value: float | None, device=None, dtype=None) -> None:
        super().__init__()
        self.heads, self.width, self.shifts, self.writes = heads, width, shifts, writes
        self.sizes = [width, 1, 1, shifts, 1] + ([width, width] if writes else [])
        self.add_activation, self.clip_value = add_activation, clip_value
        self.linear = nn.Linear(controller_size, heads * sum(self.sizes), device=device, dtype=dtype)

    def forward(self, controller_output: Tensor) -> dict[str, Tensor]:
        raw = self.linear(controller_output).unflatten(-1, (self.heads, sum(self.sizes)))  # (B, H, P)
        if self.clip_value is not None:
            raw = raw.clamp(-self.clip_value, self.clip_value)
        parts = raw.split(self.sizes, dim=-1)
        params = {
            "key": parts[0],  # (B, H, M)
            "beta": nn.functional.softplus(parts[1]),  # (B, H, 1)
            "gate": torch.sigmoid(parts[2]),  # (B, H, 1)
            "shift": torch.softmax(parts[3], dim=-1),  # (B, H, S)
            "gamma": 1 + nn.functional.softplus(parts[4]),  # (B, H, 1)
        }
        if self.writes:
            params["erase"] = torch.sigmoid(parts[5])  # (B, H, M)
            params["add"] = torch.tanh(parts[6]) if self.add_activation == "tanh" else parts[6]  # (B, H, M)
        return params


class NTM(nn.Module):
    r"""A Neural Turing Machine; ``NTM(NTMConfig(...))``, run over a whole sequence.

    Inputs: ``input, state=None``
        - ``input (T, B, I)``; with ``state=None`` the machine starts from :meth:`initial_state`.

    Outputs: ``(output, state)``, with ``output (T, B, O)`` the logits of every step (pass them to
    ``binary_cross_entropy_with_logits`` for bit targets) and ``state`` the :class:`NTMState` after
    the last step. With ``trace=True`` a third value, a dict of the per-step ``read_weights
    (T, B, Hr, N)``, ``write_weights (T, B, Hw, N)``, ``reads (T, B, Hr, M)`` and the addressing
    parameters of every head, for plotting.

    Note:
        The paper draws the output as coming from the controller. Here, as in pytorch-ntm and
        Collier & Beel's code, it is a linear map of ``[h_t, r_t]``, the controller output and the
        read vectors of the same step.

    Example:
        >>> import torch
        >>> ntm = NTM(NTMConfig(input_size=9, output_size=8, memory_size=16, memory_width=6))
        >>> output, state = ntm(torch.zeros(5, 3, 9))
        >>> output.shape, state.memory.shape, state.read_weights.shape
        (torch.Size([5, 3, 8]), torch.Size([3, 16, 6]), torch.Size([3, 1, 16]))
    """

    def __init__(self, config: NTMConfig, *, device=None, dtype=None) -> None:
        super().__init__()
        if not isinstance(config, NTMConfig):
            raise TypeError(f"expected an NTMConfig, got {type(config).__name__}")
        self.config = c = config
        factory = {"device": device, "dtype": dtype}
        controller_input = c.input_size + c.read_heads * c.memory_width
        if c.controller == "lstm":
            self.controller = LSTMCell(controller_input, c.controller_size, **factory)
        else:
            self.controller = nn.Linear(controller_input, c.controller_size, **factory)
        shifts = 2 * c.shift_range + 1
        self.read_heads = Heads(c.controller_size, c.read_heads, c.memory_width, shifts, False,
                                c.add_activation, c.clip_value, **factory)
        self.write_heads = Heads(c.controller_size, c.write_heads, c.memory_width, shifts, True,
                                 c.add_activation, c.clip_value, **factory)
        self.output = nn.Linear(c.controller_size + c.read_heads * c.memory_width, c.output_size, **factory)
        if c.memory_init == "learned":
            self.initial_memory = nn.Parameter(torch.full((c.memory_size, c.memory_width), c.memory_init_value,
                                                          **factory))  # (N, M)
        if c.learned_initial_state:
            logits = torch.zeros(c.read_heads + c.write_heads, c.memory_size, **factory)  # (Hr + Hw, N)
            logits[:, 0] = 10.0  # every head starts (almost) on row 0, as the fixed w_0 does
            self.initial_weight_logits = nn.Parameter(logits)
            self.initial_reads = nn.Parameter(torch.zeros(c.read_heads, c.memory_width, **factory))  # (Hr, M)

    def initial_state(self, batch_size: int) -> NTMState:
        """The state before the first step, for ``batch_size`` sequences, on the parameters' device."""
        c, like = self.config, self.output.weight
        if c.memory_init == "learned":
            memory = self.initial_memory.expand(batch_size, -1, -1)  # (B, N, M)
        else:
            memory = like.new_full((batch_size, c.memory_size, c.memory_width), c.memory_init_value)  # (B, N, M)
        if c.learned_initial_state:
            weights = torch.softmax(self.initial_weight_logits, dim=-1).expand(batch_size, -1, -1)  # (B, Hr+Hw, N)
            reads = self.initial_reads.expand(batch_size, -1, -1)  # (B, Hr, M)
        else:
            weights = like.new_zeros(batch_size, c.read_heads + c.write_heads, c.memory_size)  # (B, Hr+Hw, N)
            weights[..., 0] = 1
            reads = like.new_zeros(batch_size, c.read_heads, c.memory_width)  # (B, Hr, M)
        hidden = like.new_zeros(batch_size, c.controller_size)  # (B, C)
        controller = (hidden, hidden) if c.controller == "lstm" else (hidden,)
        return NTMState(memory, weights[:, :c.read_heads], weights[:, c.read_heads:], reads, controller)

    def _address(self, params: dict[str, Tensor], previous: Tensor, memory: Tensor) -> Tensor:
        return A.address(params["key"], params["beta"], params["gate"], params["shift"], params["gamma"],
                         previous, memory, self.config.cosine_eps, self.config.sharpen_eps)  # (B, H, N)

    def step(self, x: Tensor, state: NTMState) -> tuple[Tensor, NTMState, dict[str, dict[str, Tensor]]]:
        """One step: ``x (B, I)`` and the previous state -> ``(output (B, O), state, head parameters)``."""
        c = self.config
        controller_input = torch.cat([x, state.reads.flatten(1)], dim=-1)  # (B, I + Hr*M)
        if c.controller == "lstm":
            controller_state = self.controller(controller_input, state.controller)
        else:
            controller_state = (torch.tanh(self.controller(controller_input)),)  # (B, C)
        hidden = controller_state[0]  # (B, C)
        if c.clip_value is not None:
            hidden = hidden.clamp(-c.clip_value, c.clip_value)
        read_params, write_params = self.read_heads(hidden), self.write_heads(hidden)
        memory = state.memory  # (B, N, M)
        if c.order == "read_first":
            read_weights = self._address(read_params, state.read_weights, memory)  # (B, Hr, N)
            reads = A.read(read_weights, memory)  # (B, Hr, M)
        write_weights = self._address(write_params, state.write_weights, memory)  # (B, Hw, N)
        memory = A.write(memory, write_weights, write_params["erase"], write_params["add"])  # (B, N, M)
        if c.order == "write_first":
            read_weights = self._address(read_params, state.read_weights, memory)  # (B, Hr, N)
            reads = A.read(read_weights, memory)  # (B, Hr, M)
        output = self.output(torch.cat([hidden, reads.flatten(1)], dim=-1))  # (B, O)
        new_state = NTMState(memory, read_weights, write_weights, reads, controller_state)
        return output, new_state, {"read": read_params, "write": write_params}

    def forward(self, input: Tensor, state: NTMState | None = None, trace: bool = False):
        input, _ = check_sequence_input(input, self.config.input_size, batch_first=False)
        if state is None:
            state = self.initial_state(input.shape[1])
        outputs, records = [], []
        for x in input:  # (B, I)
            output, state, params = self.step(x, state)
            outputs.append(output)
            if trace:
                records.append({"read_weights": state.read_weights, "write_weights": state.write_weights,
                                "reads": state.reads, "memory": state.memory,
                                **{f"{kind}_{name}": value for kind, group in params.items()
                                   for name, value in group.items()}})
        output = torch.stack(outputs)  # (T, B, O)
        if not trace:
            return output, state
        return output, state, {name: torch.stack([r[name] for r in records]) for name in records[0]}
