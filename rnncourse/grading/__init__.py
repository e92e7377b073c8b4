"""Checks for the graded exercises, and the instructor's tools that verify them.

In a test cell of an exercise::

    from rnncourse.grading import checks
    checks.elman_step(elman_step)               # visible test: fixed small cases
    checks.elman_step(elman_step, hidden=True)  # hidden test: fresh random sizes and values

The per-topic checks live in :mod:`rnncourse.grading.checks` (one module per exercise topic); the
machinery beside it: :mod:`~rnncourse.grading.core` (the :class:`Check`), :mod:`~.grade` (``rnncourse
grade``), :mod:`~.verify` and :mod:`~.isolation` (the sandboxed re-run of a submission),
:mod:`~.nbexec` and :mod:`~.course` (nbgrader), :mod:`~.notebooks` (reading notebooks).
"""
from . import checks
from .checks import REGISTRY
from .core import Check
from .forbidden import AUTOGRAD, BATCH_NORM, GRU_CELLS, LSTM_CELLS, RNN_CELLS, Capability
from .refusal import ForbiddenCall

__all__ = ["AUTOGRAD", "BATCH_NORM", "Capability", "Check", "ForbiddenCall", "GRU_CELLS", "LSTM_CELLS", "REGISTRY",
           "RNN_CELLS", "checks"]
