"""Synthetic sequence tasks, generated on the fly: a noisy sine, the adding problem, the copy task.

Every function returns one batch ``(inputs, targets)``, time-major like the rest of the package.
Shape legend: ``T`` time steps, ``B`` batch, ``K`` alphabet size.

Randomness is explicit: pass ``seed`` (a fresh generator is made from it) or ``generator`` (a
``torch.Generator`` that advances with every call, so successive calls give new batches), not
both; with neither, torch's global generator is used. Samples are drawn in float64 on the
generator's device and then converted to ``device`` and ``dtype``, so one seed gives the same
data on every device and (up to rounding) in every dtype.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

# Mean squared error of always predicting 1.0 (the mean target) on the adding problem: the target
# is the sum of two independent uniform(0, 1) values, whose variance is 2 * 1/12.
ADDING_BASELINE_MSE = 1.0 / 6.0


def _check_count(value, name: str, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"expected {name} to be an int >= {minimum}, got {value!r}")


def _generator(generator: torch.Generator | None, seed: int | None) -> torch.Generator | None:
    """The generator to sample from: ``generator``, a new one seeded with ``seed``, or ``None``
    (torch's global generator)."""
    if generator is not None and seed is not None:
        raise ValueError("pass either generator or seed, not both")
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"expected generator to be a torch.Generator, got {type(generator).__name__}")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise TypeError(f"expected seed to be an int, got {type(seed).__name__}")
        return torch.Generator().manual_seed(seed)
    return generator


def _float_dtype(dtype: torch.dtype | None) -> torch.dtype:
    dtype = torch.get_default_dtype() if dtype is None else dtype
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"expected dtype to be a floating-point torch.dtype, got {dtype!r}")
    return dtype


def _sampling_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def _uniform(shape: tuple[int, ...], generator: torch.Generator | None) -> Tensor:
    """Uniform(0, 1) samples in float64 on the generator's device."""
    return torch.rand(shape, generator=generator, dtype=torch.float64, device=_sampling_device(generator))


def noisy_sine(steps: int, batch_size: int, *, noise_std: float = 0.1,
               period: float | tuple[float, float] = (12.0, 30.0), generator: torch.Generator | None = None,
               seed: int | None = None, device=None, dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor]:
    r"""Next-step prediction of a sine wave seen through noise.

    Each sequence is :math:`s_t = \sin(2\pi t / p + \varphi)` for ``t = 0 … T`` with its own phase
    :math:`\varphi \sim U[0, 2\pi)` and period :math:`p` (drawn uniformly from ``period`` when it is
    a ``(low, high)`` pair). The model reads the noisy values :math:`s_t + \epsilon_t`,
    :math:`\epsilon_t \sim N(0, \sigma^2)`, and is asked for the clean next value :math:`s_{t+1}`;
    to do well it has to infer phase and period from the past and average out the noise.

    Args:
        steps: ``T``, the sequence length.
        batch_size: ``B``, the number of sequences.
        noise_std: :math:`\sigma`, the standard deviation of the input noise (``0`` for none).
        period: the period in time steps, a number or a ``(low, high)`` range.
        generator, seed: the source of randomness (see the module docstring).
        device, dtype: of the returned tensors (default CPU and torch's default dtype).

    Returns:
        ``inputs (T, B, 1)``: the noisy values at ``t = 0 … T-1``;
        ``targets (T, B, 1)``: the clean values at ``t = 1 … T``, so ``targets[t]`` is the value
        that follows ``inputs[t]``.

    Example:
        >>> inputs, targets = noisy_sine(50, 8, seed=0)
        >>> inputs.shape, targets.shape
        (torch.Size([50, 8, 1]), torch.Size([50, 8, 1]))
    """
    _check_count(steps, "steps")
    _check_count(batch_size, "batch_size")
    if isinstance(noise_std, bool) or not isinstance(noise_std, (int, float)) or not noise_std >= 0:
        raise ValueError(f"expected noise_std to be a number >= 0, got {noise_std!r}")
    low, high = (period, period) if isinstance(period, (int, float)) else period
    if not 0 < low <= high:
        raise ValueError(f"expected period to be a positive number or a (low, high) pair with 0 < low <= high, "
                         f"got {period!r}")
    dtype = _float_dtype(dtype)
    generator = _generator(generator, seed)
    periods = low + (high - low) * _uniform((batch_size,), generator)  # (B,)
    phases = 2 * math.pi * _uniform((batch_size,), generator)  # (B,)
    time = torch.arange(steps + 1, dtype=torch.float64, device=periods.device).unsqueeze(1)  # (T+1, 1)
    clean = torch.sin(2 * math.pi * time / periods + phases)  # (T+1, B)
    noise = torch.randn(clean.shape, generator=generator, dtype=torch.float64, device=clean.device)  # (T+1, B)
    inputs = (clean + noise_std * noise)[:-1].unsqueeze(-1)  # (T, B, 1)
    targets = clean[1:].unsqueeze(-1)  # (T, B, 1)
    return inputs.to(device=device, dtype=dtype), targets.to(device=device, dtype=dtype)


def adding_problem(steps: int, batch_size: int, *, generator: torch.Generator | None = None,
                   seed: int | None = None, device=None, dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor]:
    r"""The adding problem (Hochreiter & Schmidhuber 1997): add the two marked numbers of a sequence.

    At every step the network reads a pair: a value drawn uniformly from ``[0, 1]`` and a marker
    that is ``1`` at exactly two randomly chosen steps and ``0`` elsewhere. After the last step it
    must output the sum of the two marked values. The markers can sit anywhere, so the network
    has to remember values over up to ``T - 1`` steps; that is what makes the task a test of
    long-range memory.

    Always predicting the mean target, ``1.0``, scores a mean squared error equal to the target's
    variance, ``2 * 1/12 = 1/6 ≈ 0.167`` (:data:`ADDING_BASELINE_MSE`). A model has learned
    something only once it goes clearly below that.

    Note:
        This is the common modern form of the task (uniform ``[0, 1]`` values, both markers
        anywhere, the plain sum as target). The 1997 paper draws values from ``[-1, 1]``, puts the
        first marker among the first ten steps and the second in the first half, and asks for
        ``0.5 + (X_1 + X_2) / 4``.

    Args:
        steps: ``T >= 2``, the sequence length.
        batch_size: ``B``.
        generator, seed: the source of randomness (see the module docstring).
        device, dtype: of the returned tensors (default CPU and torch's default dtype).

    Returns:
        ``inputs (T, B, 2)``: ``inputs[..., 0]`` the values, ``inputs[..., 1]`` the markers;
        ``targets (B, 1)``: the sum of the two marked values.

    Example:
        >>> inputs, targets = adding_problem(100, 32, seed=0)
        >>> inputs.shape, targets.shape, int(inputs[..., 1].sum())
        (torch.Size([100, 32, 2]), torch.Size([32, 1]), 64)
    """
    _check_count(steps, "steps", minimum=2)
    _check_count(batch_size, "batch_size")
    dtype = _float_dtype(dtype)
    generator = _generator(generator, seed)
    values = _uniform((steps, batch_size), generator)  # (T, B)
    # Two distinct marked steps per sequence: the first two entries of a random permutation.
    order = _uniform((batch_size, steps), generator).argsort(dim=1)  # (B, T)
    markers = torch.zeros_like(values.T).scatter_(1, order[:, :2], 1.0).T  # (T, B)
    targets = (values * markers).sum(dim=0).unsqueeze(1)  # (B, 1)
    inputs = torch.stack([values, markers], dim=-1)  # (T, B, 2)
    return inputs.to(device=device, dtype=dtype), targets.to(device=device, dtype=dtype)


def copy_task(length: int, delay: int, batch_size: int, *, alphabet_size: int = 8,
              generator: torch.Generator | None = None, seed: int | None = None, device=None,
              dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor]:
    r"""The copy task: read ``length`` symbols, wait ``delay`` steps, then write them back in order.

    Symbols are classes ``1 … K`` (``K = alphabet_size``); class ``0`` is the blank and ``K + 1``
    the delimiter that tells the network to start writing. A sequence has
    ``S = 2 * length + delay`` steps:

    ========================  =========================  =======================
    steps                     input                      target
    ========================  =========================  =======================
    ``0 … L-1``               the symbols to remember    blank
    ``L … L+delay-2``         blank                      blank
    ``L+delay-1``             delimiter                  blank
    ``L+delay … S-1``         blank                      the symbols, in order
    ========================  =========================  =======================

    This is the layout of Arjovsky et al. (2016) after Hochreiter & Schmidhuber (1997). A model
    that outputs blanks and then guesses uniformly scores a cross-entropy of
    ``L * ln(K) / S`` per step (:func:`copy_task_baseline`).

    Args:
        length: ``L``, the number of symbols to copy.
        delay: the number of steps from the last symbol to the delimiter, at least 1.
        batch_size: ``B``.
        alphabet_size: ``K``, the number of distinct symbols.
        generator, seed: the source of randomness (see the module docstring).
        device: of the returned tensors. dtype: of the one-hot inputs (default torch's default).

    Returns:
        ``inputs (S, B, K + 2)``: one-hot encoded input classes;
        ``targets (S, B)``: target classes (``torch.long``), ready for
        ``cross_entropy(logits.reshape(S * B, K + 2), targets.reshape(S * B))``.

    Example:
        >>> inputs, targets = copy_task(5, 10, 4, seed=0)
        >>> inputs.shape, targets.shape
        (torch.Size([20, 4, 10]), torch.Size([20, 4]))
        >>> bool((targets[-5:] == inputs[:5].argmax(-1)).all())
        True
    """
    _check_count(length, "length")
    _check_count(delay, "delay")
    _check_count(batch_size, "batch_size")
    _check_count(alphabet_size, "alphabet_size")
    dtype = _float_dtype(dtype)
    generator = _generator(generator, seed)
    total = 2 * length + delay
    symbols = torch.randint(1, alphabet_size + 1, (length, batch_size), generator=generator,
                            device=_sampling_device(generator))  # (L, B)
    input_classes = torch.zeros(total, batch_size, dtype=torch.long, device=symbols.device)  # (S, B)
    input_classes[:length] = symbols
    input_classes[length + delay - 1] = alphabet_size + 1
    target_classes = torch.zeros_like(input_classes)  # (S, B)
    target_classes[length + delay:] = symbols
    inputs = torch.nn.functional.one_hot(input_classes, alphabet_size + 2)  # (S, B, K+2)
    return inputs.to(device=device, dtype=dtype), target_classes.to(device=device)


def copy_task_baseline(length: int, delay: int, alphabet_size: int = 8) -> float:
    """Cross-entropy per step (in nats) of the memoryless strategy on :func:`copy_task`: blanks
    until the delimiter, then a uniform guess among the ``K`` symbols, ``L * ln(K) / (2L + delay)``."""
    _check_count(length, "length")
    _check_count(delay, "delay")
    _check_count(alphabet_size, "alphabet_size")
    return length * math.log(alphabet_size) / (2 * length + delay)
