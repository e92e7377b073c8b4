"""Data for the book's experiments. Every function takes its randomness (``seed`` or
``generator``), ``device`` and ``dtype`` explicitly and returns time-major tensors.

- :mod:`rnncourse.data.synthetic`: the noisy sine, the adding problem and the copy task.
"""
from .synthetic import ADDING_BASELINE_MSE, adding_problem, copy_task, copy_task_baseline, noisy_sine

__all__ = ["ADDING_BASELINE_MSE", "adding_problem", "copy_task", "copy_task_baseline", "noisy_sine"]
