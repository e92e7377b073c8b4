"""rnncourse.data.algorithmic: the NTM tasks' layout, determinism, and the two scores."""
from __future__ import annotations

import pytest
import torch

from rnncourse.data import (bit_errors, bits_per_sequence, copy_sequences, priority_sort_sequences,
                            repeat_copy_sequences)

TASKS = {
    "copy": lambda **kw: copy_sequences(3, 4, 4, bits=5, **kw),
    "repeat_copy": lambda **kw: repeat_copy_sequences(3, 2, 2, 3, 3, bits=5, **kw),
    "priority_sort": lambda **kw: priority_sort_sequences(3, 6, 4, bits=5, **kw),
}
SHAPES = {"copy": ((9, 3, 6), (9, 3, 5)), "repeat_copy": ((10, 3, 7), (10, 3, 6)),
          "priority_sort": ((11, 3, 7), (11, 3, 5))}


@pytest.mark.parametrize("task", list(TASKS))
def test_shapes_device_dtype_and_seed(task, device, dtype):
    inputs, targets, mask = TASKS[task](seed=0, device=device, dtype=dtype)
    assert (tuple(inputs.shape), tuple(targets.shape)) == SHAPES[task] and tuple(mask.shape) == SHAPES[task][0][:2]
    assert inputs.dtype == targets.dtype == dtype and mask.dtype == torch.bool and inputs.device.type == device.type
    if device.type != "meta":
        again, other = TASKS[task](seed=0, dtype=dtype), TASKS[task](seed=1, dtype=dtype)
        assert torch.equal(inputs.cpu(), again[0]) and not torch.equal(again[0], other[0])


def test_copy_layout():
    inputs, targets, mask = copy_sequences(5, 3, 3, bits=4, seed=2)
    assert torch.equal(targets[4:], inputs[:3, :, :4]) and torch.equal(inputs[:, :, 4].nonzero()[:, 0], torch.full((5,), 3))
    assert mask[4:].all() and not mask[:4].any() and inputs[4:].abs().sum() == 0
    assert set(inputs[:3, :, :4].unique().tolist()) == {0.0, 1.0}


def test_lengths_are_drawn_from_the_range():
    generator = torch.Generator().manual_seed(0)
    lengths = {(copy_sequences(2, 2, 5, generator=generator)[0].shape[0] - 1) // 2 for _ in range(60)}
    assert lengths == {2, 3, 4, 5}


def test_repeat_copy_repeats_and_marks_the_end():
    inputs, targets, mask = repeat_copy_sequences(2, 3, 3, 2, 2, bits=4, seed=0)
    vectors = inputs[:3, :, :4]
    assert torch.equal(targets[4:7, :, :4], vectors) and torch.equal(targets[7:10, :, :4], vectors)
    assert targets[-1, :, 4].eq(1).all() and targets[:-1, :, 4].eq(0).all()
    assert inputs[3, :, 4].eq(1).all()


def test_the_repeat_count_is_normalised():
    generator = torch.Generator().manual_seed(0)
    counts = torch.tensor([repeat_copy_sequences(1, 1, 1, 1, 10, generator=generator)[0][1, 0, -1].item()
                           for _ in range(400)])
    assert abs(counts.mean()) < 0.15 and abs(counts.std() - 1) < 0.1


def test_priority_sort_outputs_the_highest_priorities_in_order():
    inputs, targets, mask = priority_sort_sequences(4, 20, 16, bits=8, seed=3)
    assert inputs.shape == (37, 4, 10) and int(mask[:, 0].sum()) == 16
    priorities = inputs[:20, :, 8]
    assert priorities.min() >= -1 and priorities.max() <= 1
    for b in range(4):
        order = sorted(range(20), key=lambda i: -priorities[i, b].item())[:16]
        assert torch.equal(targets[21:, b], inputs[order, b, :8])


def test_scores():
    inputs, targets, mask = copy_sequences(4, 5, 5, bits=8, seed=0)
    perfect = (targets * 2 - 1) * 40
    assert bits_per_sequence(perfect, targets, mask) < 1e-6 and bit_errors(perfect, targets, mask).sum() == 0
    torch.testing.assert_close(bits_per_sequence(torch.zeros_like(targets), targets, mask), torch.tensor(40.0))
    flipped = perfect.clone()
    flipped[6, 0, :3] *= -1  # three wrong bits in sequence 0
    assert bit_errors(flipped, targets, mask).tolist() == [3, 0, 0, 0]
    with pytest.raises(ValueError, match="mask"):
        bit_errors(perfect, targets, mask[:, :2])
