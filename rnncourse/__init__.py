"""rnncourse: the reference implementation of every model in the book, in readable PyTorch.

The public API mirrors ``torch.nn``: cells in :mod:`rnncourse.cells`, layers here, the step
equations in :mod:`rnncourse.functional`. Importing the package has no side effects: nothing is
seeded, printed, downloaded or probed.
"""
from . import cells, functional
from .recurrent import GRU, LSTM, MGU, RNN, Recurrent, RecurrentLayers, Stacked, unroll

__version__ = "0.1.0"


def device():
    """``torch.device("cuda")`` when a GPU is available, else ``torch.device("cpu")``.

    Call it where you need a device; the package never probes for one on import.
    """
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


__all__ = ["GRU", "LSTM", "MGU", "RNN", "Recurrent", "RecurrentLayers", "Stacked", "cells", "device", "functional", "unroll"]
