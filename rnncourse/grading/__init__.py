"""Checks for the graded exercises, and the instructor's tools that verify them.

In a test cell of an exercise::

    from rnncourse.grading import checks
    checks.elman_step(elman_step)               # visible test: fixed small cases
    checks.elman_step(elman_step, hidden=True)  # hidden test: fresh random sizes and values

Every check is a :class:`~rnncourse.grading.core.Check`; :data:`checks` holds them all by name.
"""
from types import MappingProxyType, SimpleNamespace

from . import gru, lstm, rnn
from .core import Check, ForbiddenCall

_ALL = [rnn.elman_step, rnn.rnn_forward, rnn.bptt_gradients,
        lstm.lstm_step, lstm.peephole_lstm_step, lstm.lstm_forward,
        gru.gru_step, gru.cho_gru_step, gru.mgu_step]

#: Every check by the name of the function it grades.
REGISTRY = MappingProxyType({check.name: check for check in _ALL})

#: The same checks as attributes, the form the exercises use: ``checks.elman_step(elman_step)``.
checks = SimpleNamespace(**REGISTRY)

__all__ = ["Check", "ForbiddenCall", "REGISTRY", "checks"]
