"""Measurements the book makes on recurrent networks: how much the loss at the end of a sequence
depends on each input step, and how fast that dependence decays.

Chapter 3 introduces these measurements; later chapters reuse them (the batch-normalised LSTM's
scale, the encoder of a future predictor), so they live here rather than on a page.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn


def step_gradient_norms(loss_of: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor,
                        time_dim: int = 0, batch_dim: int = 1) -> torch.Tensor:
    r""":math:`\Vert \partial \mathcal L / \partial x_t \Vert` for every step ``t``, averaged over the batch.

    Args:
        loss_of: maps the inputs to a scalar loss (a sum of per-sequence losses, so that each
            sequence's gradient is its own).
        inputs: a tensor with a time and a batch dimension, e.g. ``(T, B, I)`` or frames
            ``(T, B, C, H, W)``.
        time_dim, batch_dim: where those dimensions are.

    Returns:
        ``(T,)``: entry ``t - 1`` is the norm of the gradient with respect to step ``t`` of one
        sequence (over all its other dimensions), averaged over the sequences of the batch.
    """
    if inputs.dim() < 2:
        raise ValueError(f"expected inputs with a time and a batch dimension, got shape {tuple(inputs.shape)}")
    if time_dim % inputs.dim() == batch_dim % inputs.dim():
        raise ValueError(f"time_dim and batch_dim must differ, got {time_dim} and {batch_dim}")
    x = inputs.detach().clone().requires_grad_()
    with torch.enable_grad():
        loss = loss_of(x)
        if loss.dim() != 0:
            raise ValueError(f"expected loss_of to return a scalar, got shape {tuple(loss.shape)}")
        (gradient,) = torch.autograd.grad(loss, x)
    gradient = gradient.movedim((time_dim, batch_dim), (0, 1)).flatten(2)  # (T, B, everything else)
    return gradient.norm(dim=-1).mean(dim=1)  # (T,)


def input_gradient_norms(layer: nn.Module, inputs: torch.Tensor, seed: int = 0) -> torch.Tensor:
    r""":math:`\Vert \partial \ell_T / \partial x_t \Vert` for a recurrent ``layer`` and inputs ``(T, B, I)``.

    The loss is the square of a random linear read-out of the last output, one per sequence,
    summed over the batch; the read-out is drawn with ``seed`` in the inputs' dtype and device, so
    that two layers measured with the same seed are read out the same way. Returns ``(T,)``.
    """
    generator = torch.Generator().manual_seed(seed)
    readout = nn.Linear(layer.hidden_size * (2 if getattr(layer, "bidirectional", False) else 1), 1)
    with torch.no_grad():
        for parameter in readout.parameters():
            parameter.copy_(torch.rand(parameter.shape, generator=generator) * 2 - 1)
    readout = readout.to(device=inputs.device, dtype=inputs.dtype)

    def loss_of(x):
        output, _ = layer(x)  # (T, B, D*H)
        return (readout(output[-1]) ** 2).sum()

    return step_gradient_norms(loss_of, inputs)


def decay_per_step(norms: torch.Tensor, first: int, last: int) -> float:
    """The average factor by which ``norms`` shrinks per step going back in time, fitted between
    indices ``first`` and ``last`` (``first < last``) of the ``(T,)`` tensor: below 1 the gradient
    vanishes, above 1 it explodes."""
    if not 0 <= first < last < len(norms):
        raise ValueError(f"expected 0 <= first < last < {len(norms)}, got first={first}, last={last}")
    logs = norms[first:last + 1].double().log()
    return math.exp((logs[-1] - logs[0]).item() / (first - last))
