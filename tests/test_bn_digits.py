"""rnncourse.models.bn_digits: chapter 8's digit classifiers, their training and their evaluations."""
import copy

import pytest
import torch

from rnncourse.cells import StepwiseBatchNorm
from rnncourse.models.bn_digits import (EVALUATIONS, NORMALIZE, ClassifierRun, DigitClassifier, accuracy,
                                        calibration_batches, digit_steps, estimate_statistics, evaluate_statistics,
                                        format_table, shared_statistics_copy)


def _task(T=4, F=3, N=24, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(T, N, F, generator=generator)  # (T, N, F)
    y = torch.randint(10, (N,), generator=generator)  # (N,)
    return x, y


@pytest.mark.parametrize("kind, rows, shape", [("rows", slice(0, 28), (28, 5, 28)), ("rows", slice(4, 24), (20, 5, 28)),
                                               ("pixels14", slice(0, 28), (196, 5, 1)),
                                               ("pixels14", slice(4, 24), (140, 5, 1)),
                                               ("pixels", slice(4, 24), (560, 5, 1))])
def test_digit_steps_shapes(kind, rows, shape):
    images = torch.rand(5, 28, 28)
    steps = digit_steps(images, kind, rows)
    assert steps.shape == shape
    if kind == "rows":
        torch.testing.assert_close(steps[0], images[:, rows.start])  # step 0 is the first row kept
    if kind == "pixels":
        torch.testing.assert_close(steps[:, 2, 0], images[2, rows].flatten())  # row by row, pixel by pixel


def test_digit_steps_refuses_bad_arguments():
    with pytest.raises(ValueError, match="'rows', 'pixels14' or 'pixels'"):
        digit_steps(torch.rand(2, 28, 28), "columns")
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        digit_steps(torch.rand(28, 28))


@pytest.mark.parametrize("normalize", sorted(set(NORMALIZE.values()) | {"layer"}))
def test_classifier_shapes_on_cpu_and_meta(normalize):
    model = DigitClassifier(3, 8, 4, normalize)
    assert model(torch.randn(4, 5, 3)).shape == (5, 10)
    meta = copy.deepcopy(model).to("meta")
    assert meta(torch.randn(4, 5, 3, device="meta")).shape == (5, 10)


@pytest.mark.parametrize("normalize", ["laurent", "cooijmans"])
def test_shared_copy_has_the_weights_one_slot_and_trains_identically(normalize):
    torch.manual_seed(0)
    model = DigitClassifier(3, 8, 4, normalize)
    shared = shared_statistics_copy(model)
    norms = [m for m in shared.modules() if isinstance(m, StepwiseBatchNorm)]
    assert norms and all(norm.max_length == 1 for norm in norms)
    x = torch.randn(4, 6, 3)
    # in training mode every step uses its batch's own statistics: sharing the slots changes nothing
    torch.testing.assert_close(shared.train()(x), model.train()(x))
    assert shared.eval()(x).shape == (6, 10)


def test_estimate_statistics_averages_the_batches_per_step():
    torch.manual_seed(0)
    model = DigitClassifier(3, 8, 4, "laurent")
    batches = [torch.randn(4, 6, 3) for _ in range(3)]
    estimate_statistics(model, batches)
    assert not model.training
    norm = model.rnn.cell.norm_ih
    assert norm.momentum == 0.1
    weight = model.rnn.cell.weight_ih.detach()
    means = torch.stack([(batch @ weight.T).mean(1) for batch in batches])  # (3, T, 4H): W_x x_t, mean over the batch
    torch.testing.assert_close(norm.running_mean, means.mean(0))


def test_accuracy_with_batch_statistics_leaves_the_running_averages():
    torch.manual_seed(0)
    model = DigitClassifier(3, 8, 4, "cooijmans")
    x, y = _task()
    before = copy.deepcopy(model.state_dict())
    value = accuracy(model, x, y, "batch")
    assert 0.0 <= value <= 1.0
    for key, tensor in model.state_dict().items():
        torch.testing.assert_close(tensor, before[key])
    with pytest.raises(ValueError, match="'population' or 'batch'"):
        accuracy(model, x, y, "running")


def test_run_is_resumable_and_evaluations_are_complete():
    x, y = _task()
    settings = dict(hidden_size=8, batch_size=8, eval_every=3, lr=1e-2, seed=0, device="cpu")
    whole = ClassifierRun("cooijmans", x, y, x, y, **settings).run(2)
    parts = ClassifierRun("cooijmans", x, y, x, y, **settings).run(1).run(1)
    assert whole.curves == parts.curves and len(whole.curves["training loss"]) == 2
    for key, tensor in whole.model.state_dict().items():
        torch.testing.assert_close(parts.model.state_dict()[key], tensor)
    assert "Cooijmans" in whole.report("Cooijmans") and "parameters" in whole.report("Cooijmans")
    result = evaluate_statistics(whole.model, calibration_batches(x, 2, 8, seed=1), x, y)
    assert tuple(result) == EVALUATIONS
    assert all(0.0 <= value <= 1.0 for value in result.values())
    assert "as trained" in format_table({way: {"Cooijmans": value} for way, value in result.items()}, "statistics")
