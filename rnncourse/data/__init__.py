"""Data for the book's experiments. Every function takes its randomness (``seed`` or
``generator``), ``device`` and ``dtype`` explicitly and returns time-major tensors.

- :mod:`rnncourse.data.synthetic`: the noisy sine, the adding problem and the copy task.
- :mod:`rnncourse.data.digits`: real MNIST digits (the IDX files when on disk, 5,000 offline).
- :mod:`rnncourse.data.moving_mnist`: Moving MNIST (Srivastava et al. 2015), generated on the fly.
- :mod:`rnncourse.data.algorithmic`: the NTM paper's binary copy, repeat copy and priority sort.
- :mod:`rnncourse.data.text`: Shakespeare offline, a character vocabulary, train/validation split, batching.
- :mod:`rnncourse.data.timeseries`: a seasonal series with labelled anomalies, forecasting windows.
"""
from .algorithmic import (bit_errors, bits_per_sequence, copy_sequences, priority_sort_sequences,
                          repeat_copy_sequences)
from .digits import Digits, as_sequences, load_digits, load_mnist, offline_digits, stratified_split
from .moving_mnist import MovingMNIST, bounce_step, moving_mnist
from .synthetic import ADDING_BASELINE_MSE, adding_problem, copy_task, copy_task_baseline, noisy_sine
from .text import CharVocabulary, batchify, shakespeare, train_validation_split
from .timeseries import ANOMALY_KINDS, AnomalousSeries, Anomaly, detected, forecasting_windows, seasonal_series

__all__ = ["ADDING_BASELINE_MSE", "ANOMALY_KINDS", "AnomalousSeries", "Anomaly", "CharVocabulary", "Digits", "MovingMNIST", "adding_problem", "as_sequences",
           "batchify", "bit_errors", "bits_per_sequence", "bounce_step", "copy_sequences", "copy_task",
           "copy_task_baseline", "detected", "forecasting_windows", "load_digits", "load_mnist", "moving_mnist", "noisy_sine", "offline_digits",
           "priority_sort_sequences", "repeat_copy_sequences", "seasonal_series", "shakespeare", "stratified_split",
           "train_validation_split"]
