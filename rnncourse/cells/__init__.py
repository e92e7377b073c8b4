"""``nn.Module`` cells, one family per file. A cell computes one time step: ``cell(x, state) -> state'``."""
from .base import RecurrentCell
from .bn import BNLSTMCell, BNRNNCell, StepwiseBatchNorm, batch_norm_step, bn_lstm_step
from .bn_sequence import SequenceWise
from .conv_lstm import ConvLSTM, ConvLSTMCell
from .elman import ElmanCell
from .gru import GRUCell
from .jordan import JordanCell
from .lstm import LSTMCell
from .mgu import MGUCell

__all__ = ["RecurrentCell", "ElmanCell", "JordanCell", "LSTMCell", "GRUCell", "MGUCell", "ConvLSTMCell", "ConvLSTM",
           "StepwiseBatchNorm", "batch_norm_step", "bn_lstm_step", "BNRNNCell", "BNLSTMCell", "SequenceWise"]
