"""Data for the book's experiments. Every function takes its randomness (``seed`` or
``generator``), ``device`` and ``dtype`` explicitly and returns time-major tensors.

- :mod:`rnncourse.data.synthetic`: the noisy sine, the adding problem and the copy task.
- :mod:`rnncourse.data.algorithmic`: the NTM paper's binary copy, repeat copy and priority sort.
"""
from .algorithmic import (bit_errors, bits_per_sequence, copy_sequences, priority_sort_sequences,
                          repeat_copy_sequences)
from .synthetic import ADDING_BASELINE_MSE, adding_problem, copy_task, copy_task_baseline, noisy_sine

__all__ = ["ADDING_BASELINE_MSE", "adding_problem", "bit_errors", "bits_per_sequence", "copy_sequences", "copy_task",
           "copy_task_baseline", "noisy_sine", "priority_sort_sequences", "repeat_copy_sequences"]
