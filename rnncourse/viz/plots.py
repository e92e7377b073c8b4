"""The standard plots of the book: loss histories, series against time, gradient norms per step
and learning curves of several models against a baseline."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.ticker import MaxNLocator

def plot_history(history, ax=None, log: bool = False, label: str | None = None):
    """Loss per epoch from a :class:`rnncourse.train.History` (or any object with ``train_loss``
    and ``val_loss`` lists): the training curve, and the validation curve when there is one.

    ``log=True`` uses a logarithmic loss axis. ``label`` prefixes the legend entries, so that
    several histories can share one axes (``plot_history(h1, ax, label="Elman")``). Returns the axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.5))
    prefix = f"{label} " if label else ""
    epochs = range(1, len(history.train_loss) + 1)
    (line,) = ax.plot(epochs, history.train_loss, label=f"{prefix}training")
    if len(history.val_loss):
        # Same colour, dashed: the two curves of one model read as a pair.
        ax.plot(range(1, len(history.val_loss) + 1), history.val_loss, "--", color=line.get_color(),
                label=f"{prefix}validation")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    return ax


def plot_sequences(series: Mapping[str, Sequence[float]], ax=None, title: str | None = None,
                   xlabel: str = "time step t"):
    """Several 1-D series of the same length against time, one line per ``name: values`` entry
    (a list, a NumPy array or a 1-D tensor of ``T`` values; tensors are detached and moved to the CPU). Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3))
    for name, values in series.items():
        values = values.detach().cpu() if hasattr(values, "detach") else values
        ax.plot(range(1, len(values) + 1), values, label=name)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


# ---------------------------------------------------------------------------------------------

def plot_gradient_norms(norms: Mapping[str, Sequence[float]], ax=None, title: str | None = None,
                        xlabel: str = "input step t", ylabel: str = r"$\Vert \partial \ell_T / \partial x_t \Vert$"):
    """Gradient norms against the time step on a logarithmic axis, one line per ``name: values``
    entry (``values[t - 1]`` belongs to step ``t``; lists, arrays or 1-D tensors). Zeros are not
    drawn, since a log axis cannot show them. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.6))
    for name, values in norms.items():
        values = values.detach().cpu().tolist() if hasattr(values, "detach") else list(values)
        ax.plot(range(1, len(values) + 1), [v if v > 0 else float("nan") for v in values], label=name)
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return ax


def plot_learning_curves(histories: Mapping, baseline: float | None = None, ax=None, *,
                         baseline_label: str = "baseline", log: bool = False):
    """One loss curve per model from ``name: History`` entries: the validation loss when the
    history has one, the training loss otherwise; ``baseline`` (a loss that needs no learning)
    is drawn as a dashed grey line. Returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    for name, history in histories.items():
        losses = history.val_loss if len(history.val_loss) else history.train_loss
        ax.plot(range(1, len(losses) + 1), losses, marker=".", label=name)
    if baseline is not None:
        ax.axhline(baseline, color="gray", linestyle="--", label=baseline_label)
    if log:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    return ax
