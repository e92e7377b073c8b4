"""rnncourse.data.synthetic: shapes, determinism, and what each task promises about its content."""
from __future__ import annotations

import math

import pytest
import torch

from rnncourse.data import ADDING_BASELINE_MSE, adding_problem, copy_task, copy_task_baseline, noisy_sine

# Each task with small sizes, and the shapes it must return: name -> (call, input shape, target shape).
TASKS = {
    "noisy_sine": (lambda **kw: noisy_sine(7, 3, **kw), (7, 3, 1), (7, 3, 1)),
    "adding_problem": (lambda **kw: adding_problem(7, 3, **kw), (7, 3, 2), (3, 1)),
    "copy_task": (lambda **kw: copy_task(4, 5, 3, alphabet_size=6, **kw), (13, 3, 8), (13, 3)),
}


@pytest.mark.parametrize("task", list(TASKS))
def test_shapes_device_and_dtype(task, device, dtype):
    make, input_shape, target_shape = TASKS[task]
    inputs, targets = make(seed=0, device=device, dtype=dtype)
    assert tuple(inputs.shape) == input_shape and tuple(targets.shape) == target_shape
    assert inputs.device.type == targets.device.type == device.type
    assert inputs.dtype == dtype
    assert targets.dtype == (torch.long if task == "copy_task" else dtype)


@pytest.mark.parametrize("task", list(TASKS))
def test_default_dtype_is_torchs_default(task):
    inputs, _ = TASKS[task][0](seed=0)
    assert inputs.dtype == torch.get_default_dtype() and inputs.device.type == "cpu"


@pytest.mark.parametrize("task", list(TASKS))
def test_same_seed_same_data_other_seed_other_data(task):
    make = TASKS[task][0]
    first, again, other = make(seed=3), make(seed=3), make(seed=4)
    for a, b in zip(first, again):
        assert torch.equal(a, b)
    assert not torch.equal(first[0], other[0])


@pytest.mark.parametrize("task", list(TASKS))
def test_a_generator_advances_and_reproduces(task):
    make = TASKS[task][0]
    generator = torch.Generator().manual_seed(5)
    first, second = make(generator=generator), make(generator=generator)
    assert not torch.equal(first[0], second[0])  # successive calls give new batches
    replay = make(generator=torch.Generator().manual_seed(5))
    assert torch.equal(first[0], replay[0]) and torch.equal(first[1], replay[1])
    assert torch.equal(make(seed=5)[0], first[0])  # seed=s is the same as a generator seeded with s


@pytest.mark.parametrize("task", list(TASKS))
def test_data_does_not_depend_on_device_or_dtype(task, value_device):
    make = TASKS[task][0]
    reference = make(seed=1, dtype=torch.float64)
    moved = make(seed=1, device=value_device, dtype=torch.float32)
    for expected, actual in zip(reference, moved):
        torch.testing.assert_close(actual.cpu(), expected.to(actual.dtype))


@pytest.mark.parametrize("task", list(TASKS))
def test_global_generator_is_used_without_seed_or_generator(task):
    make = TASKS[task][0]
    torch.manual_seed(11)
    first = make()
    torch.manual_seed(11)
    assert torch.equal(make()[0], first[0])


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("arguments, error", [
    ({"seed": 1, "generator": torch.Generator()}, ValueError),
    ({"generator": 1}, TypeError),
    ({"seed": 1.5}, TypeError),
    ({"seed": 0, "dtype": torch.long}, TypeError),
])
def test_bad_randomness_and_dtype_arguments(task, arguments, error):
    with pytest.raises(error):
        TASKS[task][0](**arguments)


# --- noisy sine ---------------------------------------------------------------------------------


def test_sine_targets_are_the_clean_next_values():
    inputs, targets = noisy_sine(40, 5, noise_std=0.0, seed=0, dtype=torch.float64)
    torch.testing.assert_close(inputs[1:], targets[:-1])  # without noise, input t+1 is target t
    assert targets.abs().max() <= 1


@pytest.mark.parametrize("noise_std", [0.05, 0.3])
def test_sine_noise_has_the_requested_spread(noise_std):
    noisy, targets = noisy_sine(200, 200, noise_std=noise_std, seed=0, dtype=torch.float64)
    clean, _ = noisy_sine(200, 200, noise_std=0.0, seed=0, dtype=torch.float64)
    assert (noisy - clean).std().item() == pytest.approx(noise_std, rel=0.02)


def test_sine_with_a_fixed_period_repeats_after_that_period():
    inputs, _ = noisy_sine(60, 4, noise_std=0.0, period=20.0, seed=0, dtype=torch.float64)
    torch.testing.assert_close(inputs[20:], inputs[:-20])


@pytest.mark.parametrize("arguments", [
    {"steps": 0}, {"batch_size": 0}, {"noise_std": -0.1}, {"period": 0.0}, {"period": (30.0, 10.0)},
])
def test_sine_rejects_bad_arguments(arguments):
    call = {"steps": 5, "batch_size": 2, **arguments}
    with pytest.raises(ValueError):
        noisy_sine(call.pop("steps"), call.pop("batch_size"), **call)


# --- adding problem -----------------------------------------------------------------------------


@pytest.mark.parametrize("steps", [2, 10, 100])
def test_adding_marks_two_steps_and_targets_their_sum(steps):
    inputs, targets = adding_problem(steps, 64, seed=0, dtype=torch.float64)
    values, markers = inputs[..., 0], inputs[..., 1]  # (T, B) each
    assert torch.equal(markers.sum(dim=0), torch.full((64,), 2.0, dtype=torch.float64))
    assert set(markers.unique().tolist()) <= {0.0, 1.0}
    assert values.min() >= 0 and values.max() <= 1
    torch.testing.assert_close(targets[:, 0], (values * markers).sum(dim=0))


def test_adding_marker_positions_cover_the_whole_sequence():
    inputs, _ = adding_problem(10, 2000, seed=0)
    per_step = inputs[..., 1].mean(dim=1)  # (T,): how often each step is marked
    assert per_step.min() > 0.15 and per_step.max() < 0.25  # uniform: 2/10 at every step


def test_adding_baseline_of_predicting_the_mean_is_one_sixth():
    _, targets = adding_problem(20, 400_000, seed=0, dtype=torch.float64)
    baseline = ((targets - 1.0) ** 2).mean().item()
    # The squared error has standard deviation ~0.2, so over 4e5 samples the mean is within ~0.0003.
    assert baseline == pytest.approx(1 / 6, abs=2e-3)
    assert ADDING_BASELINE_MSE == pytest.approx(baseline, abs=2e-3)


@pytest.mark.parametrize("steps", [1, 0, 2.5])
def test_adding_needs_two_steps(steps):
    with pytest.raises(ValueError, match="steps"):
        adding_problem(steps, 4)


# --- copy task ----------------------------------------------------------------------------------


@pytest.mark.parametrize("length, delay, alphabet_size", [(1, 1, 1), (5, 1, 8), (10, 20, 8), (3, 7, 2)])
def test_copy_layout(length, delay, alphabet_size):
    inputs, targets = copy_task(length, delay, 16, alphabet_size=alphabet_size, seed=0)
    total, blank, delimiter = 2 * length + delay, 0, alphabet_size + 1
    assert tuple(inputs.shape) == (total, 16, alphabet_size + 2)
    torch.testing.assert_close(inputs.sum(dim=-1), torch.ones(total, 16))  # one-hot
    classes = inputs.argmax(dim=-1)  # (S, B)
    symbols = classes[:length]
    assert symbols.min() >= 1 and symbols.max() <= alphabet_size
    assert torch.equal(classes[length + delay - 1], torch.full((16,), delimiter))
    others = torch.cat([classes[length:length + delay - 1], classes[length + delay:]])
    assert torch.all(others == blank)
    assert torch.all(targets[:length + delay] == blank)
    assert torch.equal(targets[length + delay:], symbols)


def test_copy_baseline_is_the_cross_entropy_of_blanks_then_uniform_guesses():
    length, delay, size = 10, 30, 8
    inputs, targets = copy_task(length, delay, 32, alphabet_size=size, seed=0, dtype=torch.float64)
    logits = torch.full(inputs.shape, -math.inf, dtype=torch.float64)  # (S, B, K+2)
    logits[:length + delay, :, 0] = 0.0  # certain of blank until the delimiter
    logits[length + delay:, :, 1:size + 1] = 0.0  # then uniform over the K symbols
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, size + 2), targets.reshape(-1))
    assert loss.item() == pytest.approx(copy_task_baseline(length, delay, size))


@pytest.mark.parametrize("arguments", [{"length": 0}, {"delay": 0}, {"batch_size": 0}, {"alphabet_size": 0}])
def test_copy_rejects_bad_sizes(arguments):
    call = {"length": 3, "delay": 2, "batch_size": 4, **arguments}
    with pytest.raises(ValueError):
        copy_task(call.pop("length"), call.pop("delay"), call.pop("batch_size"), **call)
