"""Training and testing on the NTM paper's algorithmic tasks, for an NTM or an LSTM baseline.

:func:`train_algorithmic` is the paper's procedure with its measures named: RMSProp with
momentum, gradient components clipped to ``(-10, 10)``, the cost in bits per sequence
(:func:`rnncourse.data.bits_per_sequence`); :meth:`TrainingConfig.paper` gives the paper's
settings and the plain constructor the book's small CPU ones. A length curriculum (later practice,
not in the paper) can be switched on. :func:`evaluate_lengths` measures the bits wrong per
sequence at each test length, the paper's test of generalisation.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .._validation import check_choice
from ..data.algorithmic import bit_errors, bits_per_sequence, copy_sequences


@dataclass
class TrainingConfig:
    """How to train on the copy task; the defaults are the book's CPU run, :meth:`paper` the paper's."""

    steps: int = 2000  # optimizer updates
    batch_size: int = 32  # sequences per update
    min_length: int = 1  # shortest training sequence
    max_length: int = 8  # longest training sequence (paper: 20)
    bits: int = 8  # bits per vector (paper: 8)
    optimizer: str = "adam"  # "rmsprop" (paper) or "adam"
    lr: float = 5e-3  # learning rate (paper: 1e-4)
    momentum: float = 0.9  # RMSProp momentum (paper: 0.9); unused by Adam
    clip_grad_value: float | None = 10.0  # clip each gradient component to (-c, c) (paper: 10)
    curriculum: bool = True  # practice: start at length 1, lengthen when the cost is low
    curriculum_threshold: float = 1.0  # lengthen when the mean cost of recent batches falls below this (bits/seq.)
    seed: int = 0  # seeds the data

    @classmethod
    def paper(cls, **changes) -> "TrainingConfig":
        """The paper's copy-task settings: lengths 1-20, RMSProp lr 1e-4 momentum 0.9, clipping (-10, 10),
        no curriculum. The paper gives no batch size or number of updates; 1 and 100,000 are ours."""
        settings = dict(steps=100_000, batch_size=1, min_length=1, max_length=20, optimizer="rmsprop", lr=1e-4,
                        momentum=0.9, clip_grad_value=10.0, curriculum=False)
        return cls(**{**settings, **changes})


@dataclass
class TrainingHistory:
    """One entry per update: the cost (bits per sequence), the longest length then allowed, the time."""

    cost: list[float] = field(default_factory=list)
    max_length: list[int] = field(default_factory=list)
    seconds: float = 0.0


class LSTMBaseline(nn.Module):
    """The paper's baseline: stacked LSTM layers and a linear readout, ``(T, B, I) -> ((T, B, O), state)``.

    It uses ``torch.nn.LSTM`` for speed; :class:`rnncourse.LSTM` computes the same (chapter 2).
    The paper's baseline for copy is 3 layers of 256 units.
    """

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 256, num_layers: int = 3,
                 *, device=None, dtype=None) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, num_layers, device=device, dtype=dtype)
        self.readout = nn.Linear(hidden_size, output_size, device=device, dtype=dtype)

    def forward(self, input: Tensor, state=None):
        output, state = self.lstm(input, state)  # (T, B, H)
        return self.readout(output), state  # (T, B, O)


def parameter_count(model: nn.Module) -> int:
    """Trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _optimizer(model: nn.Module, config: TrainingConfig) -> torch.optim.Optimizer:
    check_choice(config.optimizer, "optimizer", ("rmsprop", "adam"))
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=config.lr, momentum=config.momentum)
    return torch.optim.Adam(model.parameters(), lr=config.lr)


def train_algorithmic(model: nn.Module, config: TrainingConfig, device=None) -> TrainingHistory:
    """Train ``model`` (``model(inputs)[0]`` gives the logits) on the copy task; returns the history.

    With the curriculum on, training starts with ``max_length = min_length`` and lengthens it by
    one whenever the mean cost of the last 20 updates at the current length falls below
    ``curriculum_threshold`` bits per sequence. Gradient components are clipped to
    ``(-clip_grad_value, clip_grad_value)`` before each step, as in the paper.
    """
    parameter = next(model.parameters())
    device, dtype = parameter.device if device is None else torch.device(device), parameter.dtype
    model.to(device)
    optimizer = _optimizer(model, config)
    generator = torch.Generator().manual_seed(config.seed)
    longest = config.min_length if config.curriculum else config.max_length
    history, start = TrainingHistory(), time.perf_counter()
    for _ in range(config.steps):
        inputs, targets, mask = copy_sequences(config.batch_size, config.min_length, longest, config.bits,
                                               generator=generator, device=device, dtype=dtype)
        loss = bits_per_sequence(model(inputs)[0], targets, mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.clip_grad_value is not None:
            nn.utils.clip_grad_value_(model.parameters(), config.clip_grad_value)
        optimizer.step()
        history.cost.append(loss.item())
        history.max_length.append(longest)
        recent = history.cost[-20:]
        if config.curriculum and longest < config.max_length and len(recent) == 20 \
                and sum(recent) / 20 < config.curriculum_threshold and history.max_length[-20] == longest:
            longest += 1
    history.seconds = time.perf_counter() - start
    return history


@torch.no_grad()
def evaluate_lengths(model: nn.Module, lengths, batch_size: int = 32, bits: int = 8, seed: int = 1234,
                     device=None) -> dict[int, dict[str, float]]:
    """For each copy length, the mean bits wrong per sequence and the mean cost (bits per sequence)."""
    parameter = next(model.parameters())
    device = parameter.device if device is None else torch.device(device)
    results = {}
    for length in lengths:
        inputs, targets, mask = copy_sequences(batch_size, length, length, bits, seed=seed + length,
                                               device=device, dtype=parameter.dtype)
        logits = model(inputs)[0]  # (T, B, bits)
        results[length] = {"bit_errors": bit_errors(logits, targets, mask).float().mean().item(),
                           "cost": bits_per_sequence(logits, targets, mask).item()}
    return results
