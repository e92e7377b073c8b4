"""Whole models built from the cells and the functional equations.

- :mod:`rnncourse.models.ntm`: the Neural Turing Machine (its memory operations in
  :mod:`rnncourse.models.ntm_addressing`, its training on the algorithmic tasks in
  :mod:`rnncourse.models.ntm_training`).
"""
from .ntm import NTM, NTMConfig, NTMState
from .ntm_training import LSTMBaseline, TrainingConfig, evaluate_lengths, train_algorithmic

__all__ = ["LSTMBaseline", "NTM", "NTMConfig", "NTMState", "TrainingConfig", "evaluate_lengths",
           "train_algorithmic"]
