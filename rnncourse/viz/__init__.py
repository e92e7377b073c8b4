"""Diagrams of recurrent networks drawn with matplotlib, and the standard plots of the book.

One module a topic, so that a model's diagram is found by the topic's name:

- :mod:`~rnncourse.viz.primitives`: boxes, arrows, feedback loops, pointwise operations and the
  pieces of gate diagrams that every diagram is built from;
- :mod:`~rnncourse.viz.rnn`: the Elman and Jordan cells, the unrolled network, the sequence
  configurations (chapter 1);
- :mod:`~rnncourse.viz.lstm`: the LSTM variants (chapter 2);
- :mod:`~rnncourse.viz.gru`: the GRU and the MGU (chapter 4);
- :mod:`~rnncourse.viz.ntm`: the Neural Turing Machine and its weightings (chapter 6);
- :mod:`~rnncourse.viz.bn`: the batch-normalised LSTM and frame- and sequence-wise statistics (chapter 8);
- :mod:`~rnncourse.viz.plots`: loss histories, series, gradient norms, learning curves.

Every public name is also here, so ``rnncourse.viz.draw_lstm_cell(...)`` works without knowing the
module. Diagrams live in data coordinates with an equal aspect ratio; every function draws on
``ax`` when one is given, creates a figure otherwise, and returns what it drew on. Nothing here
calls ``plt.show()``: a notebook shows the figure by itself, a script calls ``plt.show()`` or
``fig.savefig(...)``. Importing this package draws nothing and creates no figure.
"""
from .bn import BN_LSTM_NORMS, draw_bn_lstm_cell, draw_bn_statistics
from .gru import GRU_CONVENTIONS, draw_gru_cell, draw_mgu_cell
from .lstm import LSTM_VARIANTS, draw_lstm_cell
from .ntm import draw_addressing_flow, draw_ntm_architecture, plot_weighting_stages, plot_weightings
from .plots import plot_gradient_norms, plot_history, plot_learning_curves, plot_sequences
from .primitives import (COLORS, HIGHLIGHT, STATE_LINE_WIDTH, Box, draw_arrow, draw_box, draw_feedback, draw_label,
                         draw_line, draw_op, draw_path_arrow, fit_view, gate_box, input_bus, new_axes, rise)
from .rnn import (CONFIGURATIONS, KINDS, Configuration, draw_bptt_backward, draw_cell, draw_configuration,
                  draw_diagram_legend, draw_sequence_configurations, draw_unrolled)

__all__ = [
    "BN_LSTM_NORMS", "Box", "COLORS", "CONFIGURATIONS", "Configuration", "GRU_CONVENTIONS", "HIGHLIGHT", "KINDS", "LSTM_VARIANTS",
    "STATE_LINE_WIDTH", "draw_addressing_flow", "draw_arrow", "draw_bn_lstm_cell", "draw_bn_statistics", "draw_box", "draw_bptt_backward", "draw_cell",
    "draw_configuration", "draw_diagram_legend", "draw_feedback", "draw_gru_cell", "draw_label", "draw_line",
    "draw_lstm_cell", "draw_mgu_cell", "draw_ntm_architecture", "draw_op", "draw_path_arrow",
    "draw_sequence_configurations", "draw_unrolled", "fit_view", "gate_box", "input_bus", "new_axes",
    "plot_gradient_norms", "plot_history", "plot_learning_curves", "plot_sequences", "plot_weighting_stages",
    "plot_weightings", "rise"
]
