"""Chapter 8's experiment: a plain LSTM and two batch-normalised LSTMs classifying digits read as
sequences, and the evaluation of the trained models with per-step and with shared statistics.

The experiment page and the page that repeats it without the blank rows both run this code, so
that the two runs differ only in their settings.
"""
from __future__ import annotations

import copy
import time

import torch
from torch import Tensor, nn

from ..cells import BNLSTMCell, StepwiseBatchNorm
from ..data import as_sequences
from ..recurrent import Recurrent
from ..train import fit

NORMALIZE = {"LSTM": "none", "Laurent BN-LSTM": "laurent", "Cooijmans BN-LSTM": "cooijmans"}
"""The three models compared, by name: their ``BNLSTMCell(normalize=...)``."""

EVALUATIONS = ("as trained", "per step, re-estimated", "shared, re-estimated", "shared, running", "batch statistics")
"""The ways :func:`evaluate_statistics` evaluates a trained normalised model, in its order."""


def digit_steps(images: Tensor, kind: str = "rows", rows: slice = slice(0, 28)) -> Tensor:
    """Digits ``(N, 28, 28)`` as sequences ``(T, N, F)`` of the image rows ``rows``.

    ``kind="rows"``: one row per step, ``(R, N, 28)`` for ``R`` rows; ``"pixels14"``: the digit
    pooled to half size and read pixel by pixel, ``(R * 7, N, 1)`` (196 for all rows);
    ``"pixels"``: pixel by pixel, ``(R * 28, N, 1)`` (784).
    """
    if images.dim() != 3:
        raise ValueError(f"expected images of shape (N, H, W), got {tuple(images.shape)}")
    images = images[:, rows]  # (N, R, 28)
    if kind == "rows":
        return as_sequences(images, "rows")  # (R, N, 28)
    if kind == "pixels14":
        images = nn.functional.avg_pool2d(images.unsqueeze(1), 2).squeeze(1)  # (N, R/2, 14)
    elif kind != "pixels":
        raise ValueError(f"expected kind 'rows', 'pixels14' or 'pixels', got {kind!r}")
    return images.flatten(1).T.unsqueeze(-1)  # (T, N, 1): one pixel per step


class DigitClassifier(nn.Module):
    """A (normalised) LSTM layer and a linear read-out of its last state: ``(T, B, F)`` -> logits ``(B, 10)``.

    Args:
        input_size: ``F``. hidden_size: ``H``. max_length: ``T_max`` of the cell's statistics.
        normalize: ``BNLSTMCell``'s (``"none"``, ``"laurent"``, ``"cooijmans"``, ``"layer"``).
    """

    def __init__(self, input_size: int, hidden_size: int, max_length: int, normalize: str):
        super().__init__()
        self.input_size, self.hidden_size, self.normalize = input_size, hidden_size, normalize
        self.rnn = Recurrent(BNLSTMCell(input_size, hidden_size, max_length=max_length, normalize=normalize))
        self.readout = nn.Linear(hidden_size, 10)

    def forward(self, inputs: Tensor) -> Tensor:
        output, _ = self.rnn(inputs)  # (T, B, H)
        return self.readout(output[-1])  # (B, 10)


@torch.no_grad()
def accuracy(model: nn.Module, inputs: Tensor, labels: Tensor, statistics: str = "population", device=None) -> float:
    """The fraction of ``inputs (T, N, F)`` classified as ``labels (N,)``.

    ``statistics="population"`` evaluates in evaluation mode (the stored statistics);
    ``"batch"`` normalises with the statistics of ``inputs`` themselves, as in training mode, on a
    copy, so that the model's running averages are left alone.
    """
    if statistics not in ("population", "batch"):
        raise ValueError(f"expected statistics 'population' or 'batch', got {statistics!r}")
    model = copy.deepcopy(model).train() if statistics == "batch" else model.eval()
    if device is None:
        device = next(model.parameters()).device
    return (model(inputs.to(device)).argmax(-1).cpu() == labels).float().mean().item()


class ClassifierRun:
    """One model's training, resumable: the same steps and batches whether it runs in one go or in parts.

    The weights are drawn after ``torch.manual_seed(seed)`` (the same wherever the models share
    them) and the batches from a generator seeded with ``seed + 1`` (the same, in the same order,
    for every model). ``curves`` gets one point per stretch of ``eval_every`` steps: the mean
    training loss of the stretch and the validation accuracy with stored and with batch statistics.
    """

    def __init__(self, normalize: str, x_train: Tensor, y_train: Tensor, x_val: Tensor, y_val: Tensor, *,
                 hidden_size: int, batch_size: int, eval_every: int, lr: float, seed: int, device=None):
        torch.manual_seed(seed)
        self.normalize = normalize
        self.model = DigitClassifier(x_train.shape[2], hidden_size, x_train.shape[0], normalize).to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.generator = torch.Generator().manual_seed(seed + 1)
        self.data, self.batch_size, self.eval_every, self.device = (x_train, y_train, x_val, y_val), batch_size, eval_every, device
        self.curves = {"training loss": [], "validation accuracy": [], "with batch statistics": []}
        self.seconds = 0.0

    def batches(self) -> list[tuple[Tensor, Tensor]]:
        x_train, y_train = self.data[:2]
        chosen = [torch.randint(len(y_train), (self.batch_size,), generator=self.generator) for _ in range(self.eval_every)]
        return [(x_train[:, index], y_train[index]) for index in chosen]  # each (T, B, F), (B,)

    def run(self, stretches: int) -> ClassifierRun:
        """Train for ``stretches`` stretches of ``eval_every`` steps, one point of the curves after each."""
        start = time.process_time()
        x_val, y_val = self.data[2:]
        for _ in range(stretches):
            history = fit(self.model, self.batches, nn.functional.cross_entropy, epochs=1, optimizer=self.optimizer,
                          device=self.device, progress=False)
            self.curves["training loss"].append(history.train_loss[-1])
            self.curves["validation accuracy"].append(accuracy(self.model, x_val, y_val, device=self.device))
            same = self.normalize == "none"  # nothing to normalise: both evaluations are one
            self.curves["with batch statistics"].append(
                self.curves["validation accuracy"][-1] if same else accuracy(self.model, x_val, y_val, "batch", self.device))
        self.seconds += time.process_time() - start
        return self

    def report(self, name: str) -> str:
        """One line: parameters, CPU-seconds, final training loss and validation accuracy."""
        return (f"{name:18s} {sum(p.numel() for p in self.model.parameters()):6,d} parameters, {self.seconds:5.1f} CPU-s; "
                f"final training loss {self.curves['training loss'][-1]:.3f}, "
                f"validation accuracy {self.curves['validation accuracy'][-1]:.3f}")


def calibration_batches(inputs: Tensor, count: int, batch_size: int, seed: int) -> list[Tensor]:
    """``count`` batches ``(T, batch_size, F)`` drawn from ``inputs (T, N, F)`` with a generator seeded ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return [inputs[:, torch.randint(inputs.shape[1], (batch_size,), generator=generator)] for _ in range(count)]


@torch.no_grad()
def estimate_statistics(model: nn.Module, batches, momentum: float | None = None) -> nn.Module:
    """Recompute every :class:`StepwiseBatchNorm`'s running statistics on ``batches`` (each ``(T, B, F)``),
    weights frozen, and return the model in evaluation mode. ``momentum=None`` gives plain averages
    over the batches (as ``BatchNorm1d``'s ``momentum=None``); the norms get back momentum 0.1."""
    norms = [module for module in model.modules() if isinstance(module, StepwiseBatchNorm)]
    device = next(model.parameters()).device
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = momentum
    model.train()
    for inputs in batches:
        model(inputs.to(device))
    for norm in norms:
        norm.momentum = 0.1
    return model.eval()


def shared_statistics_copy(model: DigitClassifier) -> DigitClassifier:
    """The same weights in a model whose normalisations keep one slot of statistics for all steps
    (``max_length=1``, which is ``torch.nn.BatchNorm1d`` called at every step); statistics reset."""
    device = next(model.parameters()).device
    shared = DigitClassifier(model.input_size, model.hidden_size, 1, model.normalize).to(device)
    weights = {key: value for key, value in model.state_dict().items() if "running" not in key and "tracked" not in key}
    shared.load_state_dict(weights, strict=False)
    return shared


def evaluate_statistics(model: DigitClassifier, batches, x_val: Tensor, y_val: Tensor) -> dict[str, float]:
    """Validation accuracy of one trained model in each of the :data:`EVALUATIONS`, changing only the statistics.

    ``batches`` (each ``(T, B, F)``, training data) re-estimate them: per step with plain averages,
    shared across steps with plain averages, and shared with momentum 0.1 (what a ``BatchNorm1d``
    reused at every step would hold). The model itself is left as it is.
    """
    return {
        "as trained": accuracy(model, x_val, y_val),
        "per step, re-estimated": accuracy(estimate_statistics(copy.deepcopy(model), batches), x_val, y_val),
        "shared, re-estimated": accuracy(estimate_statistics(shared_statistics_copy(model), batches), x_val, y_val),
        "shared, running": accuracy(estimate_statistics(shared_statistics_copy(model), batches, momentum=0.1),
                                    x_val, y_val),
        "batch statistics": accuracy(model, x_val, y_val, "batch"),
    }


def format_table(rows: dict[str, dict[str, float]], first: str) -> str:
    """A plain-text table: one line per key of ``rows``, one column per key of its values, ``first`` heading the names."""
    columns = list(next(iter(rows.values())))
    width = max(len(first), *(len(name) for name in rows))
    lines = [f"{first:{width}s}" + "".join(f" {column:>{max(len(column), 6)}s}" for column in columns)]
    for name, values in rows.items():
        lines.append(f"{name:{width}s}" + "".join(f" {values[column]:{max(len(column), 6)}.3f}" for column in columns))
    return "\n".join(lines)


def plot_learning_curves(curves: dict[str, dict[str, list[float]]], eval_every: int, title: str):
    """Training loss (left, log scale) and validation accuracy (right; dotted: with batch statistics)
    of every model in ``curves`` (as :attr:`ClassifierRun.curves`, by the names of :data:`NORMALIZE`)."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8))
    for name, curve in curves.items():
        steps = [eval_every * (k + 1) for k in range(len(curve["training loss"]))]
        (line,) = left.plot(steps, curve["training loss"], marker=".", label=name)
        right.plot(steps, curve["validation accuracy"], marker=".", color=line.get_color(), label=name)
        if NORMALIZE.get(name, "none") != "none":  # the same models, normalised with the validation batch's own statistics
            right.plot(steps, curve["with batch statistics"], ":", color=line.get_color(), label=f"{name}, batch statistics")
    left.set(xlabel="optimizer step", ylabel="training loss (cross-entropy)", yscale="log")
    right.set(xlabel="optimizer step", ylabel="validation accuracy")
    left.legend()
    right.legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
