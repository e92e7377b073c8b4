"""``nn.Module`` cells, one family per file. A cell computes one time step: ``cell(x, state) -> state'``."""
from .base import RecurrentCell
from .conv_lstm import ConvLSTM, ConvLSTMCell
from .elman import ElmanCell
from .gru import GRUCell
from .jordan import JordanCell
from .lstm import LSTMCell
from .mgu import MGUCell

__all__ = ["RecurrentCell", "ElmanCell", "JordanCell", "LSTMCell", "GRUCell", "MGUCell", "ConvLSTMCell", "ConvLSTM"]
