"""Data for the book's experiments. Every function takes its randomness (``seed`` or
``generator``), ``device`` and ``dtype`` explicitly and returns time-major tensors.

- :mod:`rnncourse.data.synthetic`: the noisy sine, the adding problem and the copy task.
- :mod:`rnncourse.data.text`: Shakespeare offline, a character vocabulary, train/validation split, batching.
"""
from .synthetic import (
           ADDING_BASELINE_MSE,
           adding_problem,
           copy_task,
           copy_task_baseline,
           noisy_sine,
)
from .text import CharVocabulary, batchify, shakespeare, train_validation_split

__all__ = ["ADDING_BASELINE_MSE", "CharVocabulary", "adding_problem", "batchify", "copy_task", "copy_task_baseline",
           "noisy_sine", "shakespeare", "train_validation_split"]
