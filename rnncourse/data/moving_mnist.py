r"""Moving MNIST (Srivastava, Mansimov and Salakhutdinov 2015), generated on the fly.

The paper's description: each sequence is 20 frames of a 64x64 canvas with two digits "chosen
randomly from the training set and placed initially at random locations inside the patch. Each
digit was assigned a velocity whose direction was chosen uniformly randomly on a unit circle and
whose magnitude was also chosen uniformly at random over a fixed range. The digits bounced-off the
edges of the 64x64 frame and overlapped if they were at the same location." The paper does not
give the range of speeds; the script released with it moves every digit by a fixed 0.1 of the free
range per frame (3.6 pixels on 64x64), so our default draws the speed from ``(2, 5)`` pixels per
frame around it. Everything is an argument here: canvas size, number of digits, frames, speeds.

Choices the paper leaves open, made here and tested:

- **Bounce.** A perfectly elastic reflection (:func:`bounce_step`): a digit that would cross an
  edge by ``d`` pixels ends ``d`` pixels inside it, with that velocity component negated, so its
  speed never changes. (The released script instead stops the digit at the edge for that step.)
  A digit's position is its top-left corner; it stays in ``[0, canvas - 28]`` so the whole digit
  is always visible. Positions are real numbers; each frame draws the digit at the rounded
  position.
- **Overlap.** Pixelwise maximum (``combine="max"``, the released script's choice, which keeps
  frames in ``[0, 1]`` and a digit over another as bright as either); ``combine="sum"`` adds the
  digits and clips at 1.

Shape legend: ``T`` frames, ``B`` sequences, ``D`` digits per sequence, ``H = W`` canvas size.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from .digits import offline_digits
from .synthetic import _check_count, _float_dtype, _generator, _sampling_device


class MovingMNIST(NamedTuple):
    """A batch of Moving MNIST sequences and the paths that made them."""
    frames: Tensor  # (T, B, 1, H, W) (or (B, T, 1, H, W)), floats in [0, 1]
    positions: Tensor  # (T, B, D, 2): top-left corner (row, column) of each digit, in pixels
    velocities: Tensor  # (T, B, D, 2): the velocity (rows, columns per frame) after each frame
    labels: Tensor  # (B, D): the class of each digit


def bounce_step(position: Tensor, velocity: Tensor, low: float, high: float) -> tuple[Tensor, Tensor]:
    r"""One step of motion with perfectly elastic bounces off the walls at ``low`` and ``high``.

    Per coordinate: :math:`p' = p + v`; if :math:`p' > \text{high}` then
    :math:`p' \leftarrow 2\,\text{high} - p'` and :math:`v \leftarrow -v`; if
    :math:`p' < \text{low}` then :math:`p' \leftarrow 2\,\text{low} - p'` and :math:`v \leftarrow -v`.
    The distance travelled is :math:`|v|` either way and the speed is unchanged. One reflection per
    step is exact when :math:`|v| \le \text{high} - \text{low}`.

    Args:
        position, velocity: tensors of the same shape, e.g. ``(..., 2)`` for (row, column).
        low, high: the walls, ``low < high``.

    Returns:
        ``(position', velocity')`` of the same shape; the inputs are not modified.
    """
    if position.shape != velocity.shape:
        raise ValueError(f"expected position and velocity of the same shape, got {tuple(position.shape)} "
                         f"and {tuple(velocity.shape)}")
    if not low < high:
        raise ValueError(f"expected low < high, got low={low}, high={high}")
    moved = position + velocity
    over, under = moved > high, moved < low
    moved = torch.where(over, 2 * high - moved, torch.where(under, 2 * low - moved, moved))
    velocity = torch.where(over | under, -velocity, velocity)
    return moved, velocity


def _speed_range(speed) -> tuple[float, float]:
    low, high = (speed, speed) if isinstance(speed, (int, float)) else speed
    if not 0 <= low <= high:
        raise ValueError(f"expected a speed >= 0 or a range (low, high) with 0 <= low <= high, got {speed!r}")
    return float(low), float(high)


def moving_mnist(batch_size: int, *, frames: int = 20, canvas_size: int = 64, num_digits: int = 2,
                 speed: float | tuple[float, float] = (2.0, 5.0), digits: Tensor | None = None,
                 labels: Tensor | None = None, digit_size: int | None = None, combine: str = "max",
                 batch_first: bool = False,
                 generator: torch.Generator | None = None, seed: int | None = None, device=None,
                 dtype: torch.dtype | None = None) -> MovingMNIST:
    """A batch of Moving MNIST sequences (see the module docstring for the rules).

    Args:
        batch_size: ``B``.
        frames: ``T``, frames per sequence (the paper: 20, 10 seen and 10 to predict).
        canvas_size: ``H = W`` (the paper: 64); at least the digit size.
        num_digits: ``D`` (the paper: 2; its out-of-domain tests use 1 and 3).
        speed: pixels per frame, a number or a ``(low, high)`` range to draw uniformly from; at
            most ``canvas_size - 28``.
        digits: ``(N, h, w)`` digit images in ``[0, 1]`` to draw from (default: the 5,000 offline
            MNIST digits of :func:`rnncourse.data.digits.offline_digits`; pass a training or test
            part of a split to keep them apart).
        labels: ``(N,)`` labels of ``digits`` (returned per sequence; default: the offline labels,
            or ``-1`` when ``digits`` is given without labels).
        digit_size: resize the digits to ``digit_size x digit_size`` first (area averaging), for
            small canvases: 14x14 digits on a 32x32 canvas keep the paper's proportions roughly.
        combine: ``"max"`` or ``"sum"`` (clipped at 1), how overlapping digits combine.
        batch_first: return frames as ``(B, T, 1, H, W)``.
        generator, seed: the source of randomness, as in :mod:`rnncourse.data.synthetic`.
        device, dtype: of the frames (default CPU and torch's default dtype).

    Returns:
        :class:`MovingMNIST` ``(frames (T, B, 1, H, W), positions (T, B, D, 2),
        velocities (T, B, D, 2), labels (B, D))``; positions and velocities are float64 on the CPU.
    """
    for value, name in ((batch_size, "batch_size"), (frames, "frames"), (num_digits, "num_digits")):
        _check_count(value, name)
    if combine not in ("max", "sum"):
        raise ValueError(f"expected combine to be 'max' or 'sum', got {combine!r}")
    dtype = _float_dtype(dtype)
    generator = _generator(generator, seed)
    if digits is None:
        digits, default_labels = offline_digits(dtype=torch.float64)
        labels = default_labels if labels is None else labels
    if digits.ndim != 3:
        raise ValueError(f"expected digits of shape (N, h, w), got {tuple(digits.shape)}")
    if labels is None:
        labels = torch.full((digits.shape[0],), -1, dtype=torch.long)
    if digit_size is not None:
        _check_count(digit_size, "digit_size")
        digits = resize_digits(digits, digit_size)
    size = digits.shape[1]
    if digits.shape[2] != size or canvas_size < size:
        raise ValueError(f"expected square digits no larger than the canvas ({canvas_size}), "
                         f"got digits of shape {tuple(digits.shape[1:])}")
    free = canvas_size - size  # the top-left corner moves in [0, free]
    low_speed, high_speed = _speed_range(speed)
    if high_speed > max(free, 0):
        raise ValueError(f"expected speeds of at most canvas_size - digit size = {free} pixels per frame, "
                         f"got {speed!r} (use a larger canvas or a smaller digit_size)")

    # The random draws, in float64 on the generator's device, so a seed means the same on every device.
    draw = dict(generator=generator, dtype=torch.float64, device=_sampling_device(generator))
    shape = (batch_size, num_digits)
    choice = torch.randint(digits.shape[0], shape, generator=generator,
                           device=_sampling_device(generator)).cpu()  # (B, D)
    position = torch.rand(shape + (2,), **draw).cpu() * free  # (B, D, 2)
    angle = torch.rand(shape, **draw).cpu() * (2 * torch.pi)  # (B, D), uniform on the circle
    magnitude = low_speed + (high_speed - low_speed) * torch.rand(shape, **draw).cpu()  # (B, D)
    velocity = magnitude[..., None] * torch.stack((torch.sin(angle), torch.cos(angle)), dim=-1)  # (B, D, 2)

    positions, velocities = [], []
    for _ in range(frames):
        positions.append(position)
        velocities.append(velocity)
        position, velocity = bounce_step(position, velocity, 0.0, float(free))
    positions = torch.stack(positions)  # (T, B, D, 2)
    velocities = torch.stack(velocities)  # (T, B, D, 2)

    frames_out = render(positions.round().long(), digits[choice.to(digits.device)], canvas_size,
                        combine=combine, device=device, dtype=dtype)  # (T, B, 1, H, W)
    if batch_first:
        frames_out = frames_out.transpose(0, 1)
    return MovingMNIST(frames_out, positions, velocities, labels[choice.to(labels.device)].cpu())


def resize_digits(digits: Tensor, size: int) -> Tensor:
    """``digits (N, h, w)`` resized to ``(N, size, size)`` by area averaging (values stay in ``[0, 1]``)."""
    if digits.ndim != 3:
        raise ValueError(f"expected digits of shape (N, h, w), got {tuple(digits.shape)}")
    return torch.nn.functional.interpolate(digits[:, None], size=(size, size), mode="area")[:, 0]


def render(corners: Tensor, digits: Tensor, canvas_size: int, *, combine: str = "max", device=None,
           dtype: torch.dtype | None = None) -> Tensor:
    """Draw digits on blank canvases, all frames and sequences at once.

    Args:
        corners: ``(T, B, D, 2)`` integer top-left corners (row, column), each in
            ``[0, canvas_size - h]``.
        digits: ``(B, D, h, w)`` the digit each sequence moves.
        canvas_size: ``H = W``.
        combine: ``"max"`` or ``"sum"`` (clipped at 1).

    Returns:
        ``frames (T, B, 1, H, W)``.
    """
    device = digits.device if device is None else torch.device(device)
    dtype = _float_dtype(dtype)
    steps, batch, count, _ = corners.shape
    size = digits.shape[-1]
    digits = digits.to(device=device, dtype=dtype)
    offsets = torch.arange(size, device=device)  # (h,)
    rows = corners[..., 0, None].to(device) + offsets  # (T, B, D, h)
    cols = corners[..., 1, None].to(device) + offsets  # (T, B, D, w)
    t = torch.arange(steps, device=device)[:, None, None, None]  # (T, 1, 1, 1)
    b = torch.arange(batch, device=device)[None, :, None, None]  # (1, B, 1, 1)
    canvas = torch.zeros(steps, batch, canvas_size, canvas_size, device=device, dtype=dtype)  # (T, B, H, W)
    for d in range(count):
        layer = torch.zeros_like(canvas)  # (T, B, H, W): one digit per sequence never overlaps itself
        layer[t, b, rows[:, :, d, :, None], cols[:, :, d, None, :]] = digits[None, :, d]  # (T, B, h, w)
        canvas = torch.maximum(canvas, layer) if combine == "max" else canvas + layer
    if combine == "sum":
        canvas = canvas.clamp(max=1.0)
    return canvas[:, :, None]  # (T, B, 1, H, W)
