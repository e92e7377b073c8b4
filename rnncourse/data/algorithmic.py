r"""The NTM paper's algorithmic tasks (Graves, Wayne & Danihelka 2014): copy, repeat copy, priority sort.

Every generator returns one batch ``(inputs, targets, mask)``, time-major:

- ``inputs (T, B, I)``: random binary vectors of ``bits`` bits plus control channels;
- ``targets (T, B, O)``: the bits the machine must output (zeros where nothing is asked);
- ``mask (T, B)``: ``True`` at the steps whose outputs are scored (the answer phase).

All sequences of one batch share one length, drawn uniformly from ``[min_length, max_length]``,
so a batch needs no padding. Randomness is explicit, as in :mod:`rnncourse.data.synthetic`: pass
``seed`` or ``generator``. Two scores, both per sequence, on the masked steps:
:func:`bits_per_sequence` (the paper's cost, binary cross-entropy in bits) and
:func:`bit_errors` (output bits wrong after thresholding at 0.5).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from .synthetic import _check_count, _float_dtype, _generator, _sampling_device


def _length(min_length: int, max_length: int, generator) -> int:
    _check_count(min_length, "min_length")
    _check_count(max_length, "max_length")
    if max_length < min_length:
        raise ValueError(f"expected min_length <= max_length, got {min_length} and {max_length}")
    return int(torch.randint(min_length, max_length + 1, (1,), generator=generator,
                             device=_sampling_device(generator)))


def _bits(shape: tuple[int, ...], generator) -> Tensor:
    """Fair random bits in float64, ``shape``."""
    return torch.randint(0, 2, shape, generator=generator, device=_sampling_device(generator)).double()


def copy_sequences(batch_size: int, min_length: int = 1, max_length: int = 20, bits: int = 8, *,
                   generator: torch.Generator | None = None, seed: int | None = None, device=None,
                   dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor, Tensor]:
    r"""The copy task: read ``L`` random binary vectors and a delimiter, then output the vectors.

    ======================  =====================================  =====================
    steps                   input                                  target (scored)
    ======================  =====================================  =====================
    ``0 … L-1``             vector ``t`` (channels ``0 … bits-1``)  none
    ``L``                   the delimiter (channel ``bits``)       none
    ``L+1 … 2L``            zeros                                  vector ``t - L - 1``
    ======================  =====================================  =====================

    The paper trains on ``L`` in ``1 … 20`` with 8-bit vectors (the defaults).

    Returns:
        ``inputs (2L+1, B, bits+1)``, ``targets (2L+1, B, bits)``, ``mask (2L+1, B)``.

    Example:
        >>> inputs, targets, mask = copy_sequences(4, 5, 5, seed=0)
        >>> inputs.shape, targets.shape, int(mask[:, 0].sum())
        (torch.Size([11, 4, 9]), torch.Size([11, 4, 8]), 5)
        >>> bool((targets[6:] == inputs[:5, :, :8]).all())
        True
    """
    _check_count(batch_size, "batch_size")
    _check_count(bits, "bits")
    dtype = _float_dtype(dtype)
    generator = _generator(generator, seed)
    length = _length(min_length, max_length, generator)
    vectors = _bits((length, batch_size, bits), generator)  # (L, B, bits)
    steps = 2 * length + 1
    inputs = vectors.new_zeros(steps, batch_size, bits + 1)  # (T, B, bits+1)
    inputs[:length, :, :bits] = vectors
    inputs[length, :, bits] = 1
    targets = vectors.new_zeros(steps, batch_size, bits)  # (T, B, bits)
    targets[length + 1:] = vectors
    mask = torch.zeros(steps, batch_size, dtype=torch.bool, device=vectors.device)  # (T, B)
    mask[length + 1:] = True
    return inputs.to(device=device, dtype=dtype), targets.to(device=device, dtype=dtype), mask.to(device)


def repeat_copy_sequences(batch_size: int, min_length: int = 1, max_length: int = 10, min_repeats: int = 1,
                          max_repeats: int = 10, bits: int = 8, *, generator: torch.Generator | None = None,
                          seed: int | None = None, device=None,
                          dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor, Tensor]:
    r"""Repeat copy: read ``L`` vectors and a repeat count ``R``, output the vectors ``R`` times, then
    an end marker.

    At step ``L`` the delimiter (channel ``bits``) is on and channel ``bits + 1`` holds ``R``,
    normalised to mean 0 and variance 1 over the uniform distribution of counts (as in the paper).
    The targets have one more channel, ``bits``, on which the end marker must appear at the last
    step, so the machine has to count. The paper's ranges are the defaults (``L, R`` in ``1 … 10``).

    Returns:
        ``inputs (L+1+R*L+1, B, bits+2)``, ``targets (·, B, bits+1)``, ``mask (·, B)``.

    Example:
        >>> inputs, targets, mask = repeat_copy_sequences(2, 3, 3, 2, 2, seed=0)
        >>> inputs.shape, targets.shape, bool(targets[-1, :, 8].all())
        (torch.Size([11, 2, 10]), torch.Size([11, 2, 9]), True)
    """
    _check_count(batch_size, "batch_size")
    _check_count(bits, "bits")
    dtype = _float_dtype(dtype)
    generator = _generator(generator, seed)
    length = _length(min_length, max_length, generator)
    repeats = _length(min_repeats, max_repeats, generator)
    count_mean = (min_repeats + max_repeats) / 2
    count_std = math.sqrt(((max_repeats - min_repeats + 1) ** 2 - 1) / 12) or 1.0  # of a discrete uniform
    vectors = _bits((length, batch_size, bits), generator)  # (L, B, bits)
    steps = length + 1 + repeats * length + 1
    inputs = vectors.new_zeros(steps, batch_size, bits + 2)  # (T, B, bits+2)
    inputs[:length, :, :bits] = vectors
    inputs[length, :, bits] = 1
    inputs[length, :, bits + 1] = (repeats - count_mean) / count_std
    targets = vectors.new_zeros(steps, batch_size, bits + 1)  # (T, B, bits+1)
    targets[length + 1:steps - 1, :, :bits] = vectors.repeat(repeats, 1, 1)  # (R*L, B, bits)
    targets[-1, :, bits] = 1
    mask = torch.zeros(steps, batch_size, dtype=torch.bool, device=vectors.device)  # (T, B)
    mask[length + 1:] = True
    return inputs.to(device=device, dtype=dtype), targets.to(device=device, dtype=dtype), mask.to(device)


def priority_sort_sequences(batch_size: int, count: int = 20, keep: int = 16, bits: int = 8, *,
                            generator: torch.Generator | None = None, seed: int | None = None, device=None,
                            dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor, Tensor]:
    r"""Priority sort: read ``count`` vectors, each with a priority in ``[-1, 1]``, output the ``keep``
    vectors of highest priority, highest first.

    Channel ``bits`` carries each vector's priority, drawn uniformly from ``[-1, 1]``; channel
    ``bits + 1`` is the delimiter, on at step ``count``. The paper's setting is the default: 20
    vectors in, the 16 of highest priority out, sorted.

    Returns:
        ``inputs (count+1+keep, B, bits+2)``, ``targets (·, B, bits)``, ``mask (·, B)``; the
        priorities are ``inputs[:count, :, bits]``.

    Example:
        >>> inputs, targets, mask = priority_sort_sequences(3, seed=0)
        >>> inputs.shape, targets.shape, int(mask[:, 0].sum())
        (torch.Size([37, 3, 10]), torch.Size([37, 3, 8]), 16)
    """
    for value, name in ((batch_size, "batch_size"), (count, "count"), (keep, "keep"), (bits, "bits")):
        _check_count(value, name)
    if keep > count:
        raise ValueError(f"expected keep <= count, got keep={keep} and count={count}")
    dtype = _float_dtype(dtype)
    generator = _generator(generator, seed)
    vectors = _bits((count, batch_size, bits), generator)  # (K, B, bits)
    priorities = 2 * torch.rand((count, batch_size), generator=generator, dtype=torch.float64,
                                device=vectors.device) - 1  # (K, B)
    order = priorities.argsort(dim=0, descending=True)[:keep]  # (keep, B)
    chosen = vectors.gather(0, order.unsqueeze(-1).expand(-1, -1, bits))  # (keep, B, bits)
    steps = count + 1 + keep
    inputs = vectors.new_zeros(steps, batch_size, bits + 2)  # (T, B, bits+2)
    inputs[:count, :, :bits] = vectors
    inputs[:count, :, bits] = priorities
    inputs[count, :, bits + 1] = 1
    targets = vectors.new_zeros(steps, batch_size, bits)  # (T, B, bits)
    targets[count + 1:] = chosen
    mask = torch.zeros(steps, batch_size, dtype=torch.bool, device=vectors.device)  # (T, B)
    mask[count + 1:] = True
    return inputs.to(device=device, dtype=dtype), targets.to(device=device, dtype=dtype), mask.to(device)


def _check_scored(logits: Tensor, targets: Tensor, mask: Tensor) -> None:
    if logits.shape != targets.shape or logits.dim() != 3 or tuple(mask.shape) != tuple(logits.shape[:2]):
        raise ValueError(f"expected logits and targets of shape (T, B, O) and mask (T, B), got "
                         f"{tuple(logits.shape)}, {tuple(targets.shape)} and {tuple(mask.shape)}")


def bits_per_sequence(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    r"""The paper's cost: binary cross-entropy in bits, summed over a sequence's scored outputs,
    averaged over the batch. ``logits, targets (T, B, O)``, ``mask (T, B)`` -> a scalar."""
    _check_scored(logits, targets, mask)
    nats = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")  # (T, B, O)
    return (nats.sum(-1) * mask).sum(0).mean() / math.log(2)


def bit_errors(logits: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Output bits wrong per sequence (logit > 0 read as 1), on the scored steps: ``(B,)``."""
    _check_scored(logits, targets, mask)
    wrong = ((logits > 0).to(targets.dtype) != targets).sum(-1)  # (T, B)
    return (wrong * mask).sum(0)  # (B,)
