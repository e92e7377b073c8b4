"""Running cells over time: one layer for any cell, stacks of cells, and the torch-compatible layers.

- :mod:`~rnncourse.recurrent.unroll`: the time loop, variable lengths, the time-index contract;
- :mod:`~rnncourse.recurrent.packed`: padded, unbatched and ``PackedSequence`` inputs and outputs;
- :mod:`~rnncourse.recurrent.layer`: :class:`Recurrent` (one cell instance over time) and
  :class:`Stacked` (layers and directions of cell instances);
- :mod:`~rnncourse.recurrent.layers`: :class:`RecurrentLayers`, torch's parameter layout;
- :mod:`~rnncourse.recurrent.models`: :class:`RNN`, :class:`LSTM`, :class:`GRU`, :class:`MGU`.
"""
from .layer import Recurrent, Stacked
from .layers import RecurrentLayers
from .models import GRU, LSTM, MGU, RNN
from .unroll import reverse_padded, unroll

__all__ = ["GRU", "LSTM", "MGU", "RNN", "Recurrent", "RecurrentLayers", "Stacked", "reverse_padded", "unroll"]
