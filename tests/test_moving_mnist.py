"""rnncourse.data.moving_mnist: the bounce update, the rendered frames and the generator's promises."""
from __future__ import annotations

import time

import pytest
import torch

from rnncourse.data.moving_mnist import bounce_step, moving_mnist, render


def test_bounce_step_moves_freely_inside():
    position, velocity = torch.tensor([[5.0, 10.0]]), torch.tensor([[1.5, -2.0]])
    new_position, new_velocity = bounce_step(position, velocity, 0.0, 36.0)
    assert torch.equal(new_position, torch.tensor([[6.5, 8.0]])) and torch.equal(new_velocity, velocity)


@pytest.mark.parametrize("start, step, expected_position", [(35.0, 3.0, 34.0), (1.0, -3.0, 2.0), (36.0, 2.0, 34.0)])
def test_a_bounce_reverses_the_velocity_component(start, step, expected_position):
    # a wall at 0 and one at 36: the crossing distance is reflected back inside, the other axis untouched
    position, velocity = torch.tensor([start, 10.0]), torch.tensor([step, 1.0])
    new_position, new_velocity = bounce_step(position, velocity, 0.0, 36.0)
    assert new_position.tolist() == [expected_position, 11.0]
    assert new_velocity.tolist() == [-step, 1.0]
    assert torch.equal(position, torch.tensor([start, 10.0]))  # inputs untouched


def test_bounce_step_rejects_bad_arguments():
    with pytest.raises(ValueError, match="same shape"):
        bounce_step(torch.zeros(2), torch.zeros(3), 0.0, 1.0)
    with pytest.raises(ValueError, match="low < high"):
        bounce_step(torch.zeros(2), torch.zeros(2), 1.0, 1.0)


def test_shapes_range_device_and_dtype(device, dtype):
    batch = moving_mnist(3, frames=5, canvas_size=40, num_digits=2, seed=0, device=device, dtype=dtype)
    assert batch.frames.shape == (5, 3, 1, 40, 40) and batch.frames.dtype == dtype
    assert batch.frames.device.type == device.type
    assert batch.positions.shape == batch.velocities.shape == (5, 3, 2, 2) and batch.labels.shape == (3, 2)
    if device.type != "meta":
        assert batch.frames.min() >= 0 and batch.frames.max() <= 1


def test_batch_first():
    seq = moving_mnist(2, frames=4, canvas_size=32, digit_size=14, seed=1)
    bf = moving_mnist(2, frames=4, canvas_size=32, digit_size=14, seed=1, batch_first=True)
    assert torch.equal(bf.frames, seq.frames.transpose(0, 1))


def test_same_seed_same_batch_and_a_generator_advances():
    first, again, other = (moving_mnist(4, frames=6, canvas_size=32, digit_size=14, seed=s) for s in (7, 7, 8))
    assert torch.equal(first.frames, again.frames) and torch.equal(first.positions, again.positions)
    assert not torch.equal(first.frames, other.frames)
    generator = torch.Generator().manual_seed(7)
    one, two = (moving_mnist(4, frames=6, canvas_size=32, digit_size=14, generator=generator) for _ in range(2))
    assert torch.equal(one.frames, first.frames) and not torch.equal(two.frames, one.frames)


def test_digits_stay_whole_inside_the_canvas():
    # one digit: every frame holds exactly the digit's ink, so no part of it ever left the canvas
    batch = moving_mnist(8, frames=30, canvas_size=40, num_digits=1, speed=(4.0, 6.0), seed=2,
                         dtype=torch.float64)
    ink = batch.frames.sum(dim=(2, 3, 4))  # (T, B)
    torch.testing.assert_close(ink, ink[:1].expand_as(ink))
    assert batch.positions.min() >= 0 and batch.positions.max() <= 40 - 28
    assert (batch.velocities[1:] * batch.velocities[:-1] < 0).any()  # the test did see bounces


def test_speed_is_kept_and_direction_covers_the_circle():
    batch = moving_mnist(400, frames=3, canvas_size=64, num_digits=2, speed=(2.0, 5.0), seed=3)
    speeds = batch.velocities.norm(dim=-1)  # (T, B, D)
    torch.testing.assert_close(speeds, speeds[:1].expand_as(speeds))  # elastic: bounces keep the speed
    assert speeds.min() >= 2.0 and speeds.max() <= 5.0
    angles = torch.atan2(batch.velocities[0, ..., 0], batch.velocities[0, ..., 1])
    counts = torch.histc(angles, bins=4, min=-torch.pi, max=torch.pi)
    assert counts.min() > 0.15 * counts.sum()  # every quarter of the circle is drawn


def test_frames_follow_the_positions():
    digit = torch.zeros(1, 4, 4)
    digit[0, 0, 0] = 1.0  # a single lit pixel at the digit's top-left corner
    batch = moving_mnist(2, frames=6, canvas_size=10, num_digits=1, speed=2.0, digits=digit, seed=4)
    lit = batch.frames[:, :, 0].flatten(2).argmax(-1)  # (T, B)
    corner = batch.positions.round().long()[:, :, 0]  # (T, B, 2)
    assert torch.equal(lit, corner[..., 0] * 10 + corner[..., 1])
    assert torch.equal(batch.labels, torch.full((2, 1), -1))


@pytest.mark.parametrize("combine, expected", [("max", 0.75), ("sum", 1.0)])
def test_overlap_combines_by_max_or_clipped_sum(combine, expected):
    digits = torch.full((1, 2, 4, 4), 0.5)
    digits[0, 1] = 0.75
    corners = torch.zeros(1, 1, 2, 2, dtype=torch.long)  # both digits on the same spot
    frame = render(corners, digits, 6, combine=combine)
    assert frame.shape == (1, 1, 1, 6, 6)
    assert frame[0, 0, 0, 0, 0] == expected and frame[0, 0, 0, 5, 5] == 0


def test_digit_size_shrinks_the_digits_for_small_canvases():
    batch = moving_mnist(3, frames=8, canvas_size=24, num_digits=1, digit_size=10, speed=3.0, seed=5)
    assert batch.positions.max() <= 24 - 10 and batch.frames.max() <= 1
    ink = batch.frames.sum(dim=(2, 3, 4))  # (T, B): the whole small digit on every frame
    torch.testing.assert_close(ink, ink[:1].expand_as(ink))


@pytest.mark.parametrize("kwargs, message", [
    (dict(speed=40.0), "at most canvas_size"),
    (dict(canvas_size=20), "no larger than the canvas"),
    (dict(combine="mean"), "'max' or 'sum'"),
    (dict(speed=(3.0, 1.0)), "low <= high"),
    (dict(num_digits=0), "num_digits"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        moving_mnist(2, **kwargs)


def test_paper_size_batch_is_generated_quickly():
    # a loose benchmark, not a timed assertion: 64 sequences of 20 frames of 64x64
    moving_mnist(1, seed=0)
    start = time.perf_counter()
    batch = moving_mnist(64, frames=20, canvas_size=64, seed=0)
    print(f"64 x 20 x 64x64 in {time.perf_counter() - start:.3f} s")
    assert batch.frames.shape == (20, 64, 1, 64, 64)
