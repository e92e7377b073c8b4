"""One small training loop for every chapter: ``history = fit(model, batches, loss_fn, epochs=...)``.

An epoch is one pass over ``batches``; each batch is a pair ``(inputs, targets)``. A step runs
``loss = loss_fn(model(inputs), targets)``, back-propagates, measures the gradient norm, clips it
when asked, and updates the parameters. :class:`History` records, per epoch, the training loss,
the validation loss, the gradient norm before clipping and the time taken.

The loop keeps losses and norms on the device and reads them once per epoch, so on a GPU it does
not wait for each step to finish before queueing the next.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import torch
from torch import Tensor, nn
from tqdm import tqdm

DEFAULT_LR = 1e-3


@dataclass
class History:
    """What :func:`fit` measured; every list has one entry per epoch except ``step_loss``."""

    train_loss: list[float] = field(default_factory=list)  # mean training loss over the epoch's steps
    val_loss: list[float] = field(default_factory=list)  # mean validation loss; empty without val_batches
    grad_norm: list[float] = field(default_factory=list)  # mean total gradient norm, before clipping
    max_grad_norm: list[float] = field(default_factory=list)  # largest total gradient norm, before clipping
    epoch_time: list[float] = field(default_factory=list)  # wall-clock seconds, validation included
    steps: list[int] = field(default_factory=list)  # optimizer steps taken
    step_loss: list[float] = field(default_factory=list)  # every training step's loss, in order

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def as_dict(self) -> dict[str, list]:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------


def _check_positive_number(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"expected {name} to be a positive finite number, got {value!r}")


def _check_source(value, name: str) -> None:
    if not (callable(value) or isinstance(value, Iterable)) or isinstance(value, Tensor):
        raise TypeError(
            f"expected {name} to be an iterable of (inputs, targets) pairs or a function returning one, "
            f"got {type(value).__name__}"
        )


def _check_arguments(model, batches, loss_fn, epochs, optimizer, lr, clip_grad_norm, val_batches) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"expected model to be a torch.nn.Module, got {type(model).__name__}")
    _check_source(batches, "batches")
    if val_batches is not None:
        _check_source(val_batches, "val_batches")
    if not callable(loss_fn):
        raise TypeError(f"expected loss_fn to be callable, got {type(loss_fn).__name__}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"expected epochs to be a positive int, got {epochs!r}")
    if optimizer is not None and lr is not None:
        raise ValueError("pass either optimizer or lr, not both: the optimizer already holds its learning rate")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"expected optimizer to be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if lr is not None:
        _check_positive_number(lr, "lr")
    if clip_grad_norm is not None:
        _check_positive_number(clip_grad_norm, "clip_grad_norm")


# ---------------------------------------------------------------------------------------------
# Pieces of one epoch
# ---------------------------------------------------------------------------------------------


def _to_device(value, device: torch.device):
    """A tensor, or a tuple/list/dict of them (nested), moved to ``device``; dtypes are kept."""
    if isinstance(value, Tensor):
        return value.to(device)
    if isinstance(value, (tuple, list)):
        return type(value)(_to_device(v, device) for v in value)
    if isinstance(value, dict):
        return {key: _to_device(v, device) for key, v in value.items()}
    raise TypeError(f"expected batch contents to be tensors (or tuples/lists/dicts of them), got {type(value).__name__}")


def _batches(source, name: str, epoch: int):
    """The ``(inputs, targets)`` pairs of one epoch, checked as they come."""
    iterable = source() if callable(source) else source
    count = 0
    for batch in iterable:
        if not isinstance(batch, (tuple, list)) or len(batch) != 2:
            raise ValueError(f"expected each item of {name} to be a pair (inputs, targets), got {type(batch).__name__}"
                             + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else ""))
        count += 1
        yield batch
    if count == 0:
        raise ValueError(
            f"{name} gave no batch in epoch {epoch}; an iterator or generator is used up after one pass, "
            f"so pass a list, or a function that returns a fresh iterable for every epoch"
        )


def _loss(model, loss_fn, batch, device) -> Tensor:
    inputs, targets = _to_device(batch[0], device), _to_device(batch[1], device)
    loss = loss_fn(model(inputs), targets)
    if not isinstance(loss, Tensor) or loss.dim() != 0:
        shape = tuple(loss.shape) if isinstance(loss, Tensor) else type(loss).__name__
        raise ValueError(f"expected loss_fn to return a scalar tensor, got {shape}")
    return loss


def _values(tensors: list[Tensor]) -> list[float]:
    """Read scalars off the device in one transfer; the meta device has no values, only NaN."""
    stacked = torch.stack(tensors).float()  # (N,)
    return [math.nan] * len(tensors) if stacked.is_meta else stacked.tolist()


def train_epoch(model: nn.Module, batches: Iterable, loss_fn: Callable, optimizer: torch.optim.Optimizer,
                clip_grad_norm: float | None, device: torch.device) -> tuple[list[Tensor], list[Tensor]]:
    """One pass of gradient steps; returns each step's loss and gradient norm (before clipping),
    as 0-dim tensors on ``device``."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    model.train()
    losses, norms = [], []
    for batch in batches:
        optimizer.zero_grad(set_to_none=True)
        loss = _loss(model, loss_fn, batch, device)
        if not loss.requires_grad:
            raise ValueError("the loss does not depend on any trainable parameter of the model; "
                             "check that loss_fn uses the model's output")
        loss.backward()
        norm = nn.utils.get_total_norm([p.grad for p in parameters if p.grad is not None])
        if clip_grad_norm is not None:
            nn.utils.clip_grads_with_norm_(parameters, clip_grad_norm, norm)
        optimizer.step()
        losses.append(loss.detach())
        norms.append(norm.detach())
    return losses, norms


@torch.no_grad()
def evaluate(model: nn.Module, batches: Iterable, loss_fn: Callable, device: torch.device) -> float:
    """Mean loss over ``batches`` in evaluation mode (dropout off), without gradients."""
    was_training = model.training
    model.eval()
    losses = [_loss(model, loss_fn, batch, device) for batch in batches]
    model.train(was_training)
    return sum(_values(losses)) / len(losses)


# ---------------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------------


def fit(model: nn.Module, batches, loss_fn: Callable[..., Tensor], *, epochs: int = 1,
        optimizer: torch.optim.Optimizer | None = None, lr: float | None = None,
        clip_grad_norm: float | None = None, device=None, progress: bool = True,
        val_batches=None) -> History:
    """Train ``model`` for ``epochs`` passes over ``batches`` and return its :class:`History`.

    Args:
        model: any ``nn.Module``; it is moved to ``device`` (in place, as ``Module.to`` does).
        batches: the training data of one epoch, an iterable of ``(inputs, targets)`` pairs, or a
            function with no arguments that returns such an iterable; a function is called at
            every epoch, which is how to draw fresh synthetic data each epoch. A generator can be
            iterated only once, so it serves for ``epochs=1`` only.
        loss_fn: ``loss_fn(model(inputs), targets) -> scalar tensor``; inputs and targets are
            tensors (or tuples/lists/dicts of tensors) in whatever shapes the model and loss take.
        epochs: passes over ``batches``.
        optimizer: an optimizer over the model's parameters; default Adam with learning rate ``lr``.
        lr: Adam's learning rate when no optimizer is given (default ``1e-3``).
        clip_grad_norm: if given, rescale the gradients so that their total 2-norm is at most
            this value before each step (Pascanu et al. 2013). The history records the norm
            measured *before* clipping, which shows how often clipping acts.
        device: where to train; default :func:`rnncourse.device` (CUDA when available). Data is
            moved there batch by batch; dtypes are left as they are. On the ``meta`` device the
            loop runs every step, which checks shapes and devices without computing values, and
            records NaN for every number.
        progress: show a tqdm progress bar over epochs (on stderr) with the latest losses.
        val_batches: optional validation data, in the same forms as ``batches``, evaluated after
            every epoch without gradients.

    Returns:
        a :class:`History` with one entry per epoch in each list (``step_loss`` has one per step).
        Losses are means over batches, each batch weighing the same.

    Example:
        >>> import torch
        >>> from torch import nn
        >>> g = torch.Generator().manual_seed(0)
        >>> x = torch.randn(64, 3, generator=g)  # (N, 3)
        >>> data = [(x, x.sum(1, keepdim=True))]  # targets (N, 1)
        >>> history = fit(nn.Linear(3, 1), data, nn.functional.mse_loss, epochs=5, lr=0.1,
        ...               device="cpu", progress=False)
        >>> history.epochs, history.train_loss[-1] < history.train_loss[0]
        (5, True)
    """
    _check_arguments(model, batches, loss_fn, epochs, optimizer, lr, clip_grad_norm, val_batches)
    if device is None:
        # Imported here, not at the top: the package's __init__ may import this module.
        from . import device as default_device

        device = default_device()
    device = torch.device(device)
    model.to(device)
    parameters = [p for p in model.parameters() if p.requires_grad]
    if not parameters:
        raise ValueError("the model has no trainable parameters (none with requires_grad=True)")
    if optimizer is None:
        optimizer = torch.optim.Adam(parameters, lr=DEFAULT_LR if lr is None else lr)

    history = History()
    bar = tqdm(range(1, epochs + 1), desc="training", unit="epoch", disable=not progress)
    for epoch in bar:
        start = time.perf_counter()
        losses, norms = train_epoch(model, _batches(batches, "batches", epoch), loss_fn, optimizer,
                                    clip_grad_norm, device)
        step_losses, step_norms = _values(losses), _values(norms)
        history.step_loss += step_losses
        history.train_loss.append(sum(step_losses) / len(step_losses))
        history.grad_norm.append(sum(step_norms) / len(step_norms))
        history.max_grad_norm.append(max(step_norms, default=math.nan))
        history.steps.append(len(step_losses))
        summary = {"loss": f"{history.train_loss[-1]:.4g}"}
        if val_batches is not None:
            history.val_loss.append(evaluate(model, _batches(val_batches, "val_batches", epoch), loss_fn, device))
            summary["val_loss"] = f"{history.val_loss[-1]:.4g}"
        history.epoch_time.append(time.perf_counter() - start)
        bar.set_postfix(summary)
    bar.close()
    return history
