"""Diagrams of recurrent networks drawn with matplotlib, and the standard plots of the book.

One module a topic, so that a model's diagram is found by the topic's name:

- :mod:`~rnncourse.viz.primitives`: boxes, arrows, feedback loops, pointwise operations and the
  pieces of gate diagrams that every diagram is built from;
- :mod:`~rnncourse.viz.rnn`: the Elman and Jordan cells, the unrolled network, the sequence
  configurations (chapter 1);
- :mod:`~rnncourse.viz.lstm`: the LSTM variants (chapter 2);
- :mod:`~rnncourse.viz.gru`: the GRU and the MGU (chapter 4);
- :mod:`~rnncourse.viz.deep`: the bidirectional layer and stacked layers unfolded in time (chapter 5);
- :mod:`~rnncourse.viz.ntm`: the Neural Turing Machine and its weightings (chapter 6);
- :mod:`~rnncourse.viz.conv_lstm`: the ConvLSTM cell and Shi et al.'s encoding-forecasting structure (chapter 7);
- :mod:`~rnncourse.viz.seq2seq`: the encoder-decoder models and frame plots (chapter 9);
- :mod:`~rnncourse.viz.bn`: the batch-normalised LSTM and frame- and sequence-wise statistics (chapter 8);
- :mod:`~rnncourse.viz.plots`: loss histories, series, gradient norms, learning curves.

Every public name is also here, so ``rnncourse.viz.draw_lstm_cell(...)`` works without knowing the
module. Diagrams live in data coordinates with an equal aspect ratio; every function draws on
``ax`` when one is given, creates a figure otherwise, and returns what it drew on. Nothing here
calls ``plt.show()``: a notebook shows the figure by itself, a script calls ``plt.show()`` or
``fig.savefig(...)``. Importing this package draws nothing and creates no figure.
"""
from .conv_lstm import CONV_LSTM_FORMS, draw_conv_lstm_cell, draw_encoder_forecaster, draw_planes
from .deep import draw_bidirectional, draw_stacked
from .bn import BN_LSTM_NORMS, draw_bn_lstm_cell, draw_bn_statistics
from .gru import GRU_CONVENTIONS, draw_gru_cell, draw_mgu_cell
from .lstm import LSTM_VARIANTS, draw_lstm_cell
from .ntm import draw_addressing_flow, draw_ntm_architecture, plot_weighting_stages, plot_weightings
from .plots import plot_gradient_norms, plot_history, plot_learning_curves, plot_sequences
from .primitives import (COLORS, HIGHLIGHT, STATE_LINE_WIDTH, Box, draw_arrow, draw_box, draw_feedback, draw_label,
                         draw_line, draw_op, draw_path_arrow, fit_view, gate_box, input_bus, new_axes, rise)
from .seq2seq import SEQ2SEQ_MODELS, draw_seq2seq, plot_frame_rows, plot_weight_images
from .rnn import (CONFIGURATIONS, KINDS, Configuration, draw_bptt_backward, draw_cell, draw_configuration,
                  draw_diagram_legend, draw_sequence_configurations, draw_unrolled)

__all__ = [
    "BN_LSTM_NORMS", "COLORS", "CONFIGURATIONS", "CONV_LSTM_FORMS", "GRU_CONVENTIONS", "HIGHLIGHT", "KINDS",
    "LSTM_VARIANTS", "SEQ2SEQ_MODELS", "STATE_LINE_WIDTH", "Box", "Configuration", "draw_addressing_flow",
    "draw_arrow", "draw_bidirectional", "draw_bn_lstm_cell", "draw_bn_statistics", "draw_box", "draw_bptt_backward",
    "draw_cell", "draw_configuration", "draw_conv_lstm_cell", "draw_diagram_legend", "draw_encoder_forecaster",
    "draw_feedback", "draw_gru_cell", "draw_label", "draw_line", "draw_lstm_cell", "draw_mgu_cell",
    "draw_ntm_architecture", "draw_op", "draw_path_arrow", "draw_planes", "draw_seq2seq",
    "draw_sequence_configurations", "draw_stacked", "draw_unrolled", "fit_view", "gate_box", "input_bus", "new_axes",
    "plot_frame_rows", "plot_gradient_norms", "plot_history", "plot_learning_curves", "plot_sequences",
    "plot_weight_images", "plot_weighting_stages", "plot_weightings", "rise",
]
