"""rnncourse.train.fit: it lowers the loss, clips, records an honest history, and refuses bad arguments."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import rnncourse
from rnncourse.data import adding_problem
from rnncourse.train import History, fit

mse = nn.functional.mse_loss


def regression_batch(generator, dtype=torch.float32, size=32):
    """``(inputs (N, 3), targets (N, 1))`` with a linear target, drawn on the CPU."""
    inputs = torch.randn(size, 3, generator=generator, dtype=dtype)  # (N, 3)
    return inputs, inputs @ torch.tensor([[1.0], [-2.0], [0.5]], dtype=dtype)  # (N, 1)


def seeded_linear(dtype=torch.float32) -> nn.Linear:
    torch.manual_seed(0)  # fit has no generator argument; the model's initial weights come from here
    return nn.Linear(3, 1, dtype=dtype)


def total_grad_norm(model: nn.Module) -> float:
    return nn.utils.get_total_norm([p.grad for p in model.parameters()]).item()


@pytest.mark.parametrize("make_optimizer", [None, lambda params: torch.optim.SGD(params, lr=0.05)],
                         ids=["default-adam", "sgd"])
@pytest.mark.parametrize("clip", [None, 0.5])
def test_one_step_lowers_the_loss(generator, dtype, make_optimizer, clip):
    model = seeded_linear(dtype)
    batch = regression_batch(generator, dtype)
    with torch.no_grad():
        before = mse(model(batch[0]), batch[1]).item()
    optimizer = None if make_optimizer is None else make_optimizer(model.parameters())
    lr = 0.05 if optimizer is None else None
    history = fit(model, [batch], mse, epochs=1, optimizer=optimizer, lr=lr, clip_grad_norm=clip,
                  device="cpu", progress=False)
    with torch.no_grad():
        after = mse(model(batch[0]), batch[1]).item()
    assert after < before
    assert history.train_loss == [pytest.approx(before)]  # the loss recorded is the one before the step
    assert model.weight.dtype == dtype


def test_several_epochs_keep_lowering_the_loss(generator):
    model = seeded_linear()
    batches = [regression_batch(generator) for _ in range(4)]
    history = fit(model, batches, mse, epochs=20, lr=0.05, device="cpu", progress=False)
    assert history.train_loss[-1] < 0.1 * history.train_loss[0]


@pytest.mark.parametrize("clip", [0.01, 0.1, 1.0])
def test_clipping_bounds_the_gradient_norm(generator, clip):
    model = seeded_linear()
    inputs, targets = regression_batch(generator)
    batch = (inputs, 100 * targets)  # a large error, so the raw gradient norm is far above every clip value
    history = fit(model, [batch], mse, epochs=3, lr=1e-3, clip_grad_norm=clip, device="cpu", progress=False)
    # fit leaves the last step's gradients in place: they are the clipped ones.
    assert total_grad_norm(model) <= clip * (1 + 1e-5)
    assert min(history.grad_norm) > clip  # recorded before clipping, so clipping did act


def test_recorded_gradient_norm_is_the_norm_before_clipping(generator):
    batch = regression_batch(generator)
    reference = seeded_linear()
    mse(reference(batch[0]), batch[1]).backward()
    expected = total_grad_norm(reference)
    history = fit(seeded_linear(), [batch], mse, epochs=1, clip_grad_norm=1e-3, device="cpu", progress=False)
    assert history.grad_norm == [pytest.approx(expected, rel=1e-5)]
    assert history.max_grad_norm == history.grad_norm


@pytest.mark.parametrize("epochs, batches_per_epoch", [(1, 1), (3, 2), (4, 5)])
@pytest.mark.parametrize("validate", [False, True])
def test_history_has_one_entry_per_epoch(generator, epochs, batches_per_epoch, validate):
    batches = [regression_batch(generator) for _ in range(batches_per_epoch)]
    history = fit(seeded_linear(), batches, mse, epochs=epochs, device="cpu", progress=False,
                  val_batches=batches[:1] if validate else None)
    assert isinstance(history, History) and history.epochs == epochs
    for name in ("train_loss", "grad_norm", "max_grad_norm", "epoch_time", "steps"):
        assert len(getattr(history, name)) == epochs, name
    assert len(history.val_loss) == (epochs if validate else 0)
    assert history.steps == [batches_per_epoch] * epochs
    assert len(history.step_loss) == epochs * batches_per_epoch
    assert all(t >= 0 for t in history.epoch_time)
    assert all(mean <= largest for mean, largest in zip(history.grad_norm, history.max_grad_norm))
    assert history.train_loss[0] == pytest.approx(sum(history.step_loss[:batches_per_epoch]) / batches_per_epoch)
    assert set(history.as_dict()) == {"train_loss", "val_loss", "grad_norm", "max_grad_norm", "epoch_time",
                                      "steps", "step_loss"}


def test_validation_loss_is_measured_without_changing_the_model(generator):
    batch = regression_batch(generator)
    model = seeded_linear()
    history = fit(model, [batch], mse, epochs=2, lr=0.05, device="cpu", progress=False, val_batches=[batch])
    with torch.no_grad():
        assert history.val_loss[-1] == pytest.approx(mse(model(batch[0]), batch[1]).item())
    assert model.training  # evaluation mode is switched back off


def test_a_callable_gives_fresh_batches_every_epoch(generator):
    calls = []

    def batches():
        calls.append(1)
        return [regression_batch(generator)]

    fit(seeded_linear(), batches, mse, epochs=3, device="cpu", progress=False)
    assert len(calls) == 3


def test_a_used_up_generator_is_a_clear_error(generator):
    one_pass = (regression_batch(generator) for _ in range(2))
    with pytest.raises(ValueError, match="no batch in epoch 2.*function that returns a fresh iterable"):
        fit(seeded_linear(), one_pass, mse, epochs=2, device="cpu", progress=False)


def test_trains_on_every_device_and_keeps_the_dtype(generator, device, dtype):
    model = seeded_linear(dtype)
    history = fit(model, [regression_batch(generator, dtype)], mse, epochs=2, device=device, progress=False,
                  val_batches=[regression_batch(generator, dtype)])
    parameter = next(model.parameters())
    assert parameter.device.type == device.type and parameter.dtype == dtype
    assert history.epochs == 2 and len(history.val_loss) == 2
    values = history.train_loss + history.val_loss + history.grad_norm
    if device.type == "meta":
        assert all(math.isnan(v) for v in values)  # meta tensors have shapes but no values
    else:
        assert all(math.isfinite(v) for v in values)


def test_default_device_is_rnncourse_device(generator):
    model = seeded_linear()
    fit(model, [regression_batch(generator)], mse, progress=False)
    assert next(model.parameters()).device.type == rnncourse.device().type


def test_trains_a_recurrent_model_on_the_adding_problem():
    class LastStep(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = rnncourse.RNN(2, 8)
            self.readout = nn.Linear(8, 1)

        def forward(self, inputs):  # (T, B, 2) -> (B, 1)
            output, _ = self.rnn(inputs)
            return self.readout(output[-1])

    torch.manual_seed(0)
    batches = [adding_problem(10, 16, seed=seed) for seed in range(3)]
    history = fit(LastStep(), batches, mse, epochs=2, lr=1e-2, clip_grad_norm=1.0, device="cpu", progress=False)
    assert all(math.isfinite(v) for v in history.step_loss)


@pytest.mark.parametrize("progress", [False, True])
def test_progress_bar_can_be_turned_off(generator, capsys, progress):
    fit(seeded_linear(), [regression_batch(generator)], mse, epochs=2, device="cpu", progress=progress)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert ("training" in captured.err) == progress


@pytest.mark.parametrize("arguments, error, message", [
    ({"epochs": 0}, ValueError, "epochs"),
    ({"epochs": 1.5}, ValueError, "epochs"),
    ({"lr": -0.1}, ValueError, "lr"),
    ({"lr": float("nan")}, ValueError, "lr"),
    ({"clip_grad_norm": 0}, ValueError, "clip_grad_norm"),
    ({"clip_grad_norm": float("inf")}, ValueError, "clip_grad_norm"),
    ({"lr": 0.1, "optimizer": "given"}, ValueError, "either optimizer or lr"),
    ({"optimizer": "adam"}, TypeError, "optimizer"),
    ({"loss_fn": "mse"}, TypeError, "loss_fn"),
    ({"model": lambda x: x}, TypeError, "torch.nn.Module"),
    ({"batches": torch.zeros(3)}, TypeError, "batches"),
    ({"batches": 3}, TypeError, "batches"),
    ({"val_batches": 3}, TypeError, "val_batches"),
])
def test_bad_arguments_are_refused(generator, arguments, error, message):
    model = seeded_linear()
    call = {"model": model, "batches": [regression_batch(generator)], "loss_fn": mse, "epochs": 1}
    call.update(arguments)
    if call.get("optimizer") == "given":
        call["optimizer"] = torch.optim.SGD(model.parameters(), lr=0.1)
    model, batches, loss_fn = call.pop("model"), call.pop("batches"), call.pop("loss_fn")
    with pytest.raises(error, match=message):
        fit(model, batches, loss_fn, device="cpu", progress=False, **call)


@pytest.mark.parametrize("batch, message", [
    ((torch.zeros(2, 3),), "pair"),
    (torch.zeros(2, 3), "pair"),
    ((torch.zeros(2, 3), torch.zeros(2, 1), torch.zeros(2)), "pair"),
    (("text", torch.zeros(2, 1)), "tensors"),
])
def test_malformed_batches_are_refused(batch, message):
    with pytest.raises((ValueError, TypeError), match=message):
        fit(seeded_linear(), [batch], mse, device="cpu", progress=False)


def test_loss_must_be_a_scalar_that_depends_on_the_model(generator):
    batch = regression_batch(generator)
    with pytest.raises(ValueError, match=r"scalar tensor, got \(32, 1\)"):
        fit(seeded_linear(), [batch], lambda out, y: (out - y) ** 2, device="cpu", progress=False)
    with pytest.raises(ValueError, match="does not depend"):
        fit(seeded_linear(), [batch], lambda out, y: y.sum(), device="cpu", progress=False)


def test_a_frozen_model_is_refused(generator):
    model = seeded_linear().requires_grad_(False)
    with pytest.raises(ValueError, match="no trainable parameters"):
        fit(model, [regression_batch(generator)], mse, device="cpu", progress=False)
