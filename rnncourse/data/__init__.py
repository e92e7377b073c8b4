"""Data for the book's experiments. Every function takes its randomness (``seed`` or
``generator``), ``device`` and ``dtype`` explicitly and returns time-major tensors.

- :mod:`rnncourse.data.synthetic`: the noisy sine, the adding problem and the copy task.
- :mod:`rnncourse.data.digits`: real MNIST digits (the IDX files when on disk, 5,000 offline).
- :mod:`rnncourse.data.moving_mnist`: Moving MNIST (Srivastava et al. 2015), generated on the fly.
"""
from .digits import Digits, as_sequences, load_digits, load_mnist, offline_digits, stratified_split
from .moving_mnist import MovingMNIST, bounce_step, moving_mnist
from .synthetic import ADDING_BASELINE_MSE, adding_problem, copy_task, copy_task_baseline, noisy_sine

__all__ = ["ADDING_BASELINE_MSE", "Digits", "MovingMNIST", "adding_problem", "as_sequences", "bounce_step",
           "copy_task", "copy_task_baseline", "load_digits", "load_mnist", "moving_mnist", "noisy_sine",
           "offline_digits", "stratified_split"]
