"""Whole models built from the cells, layers and functional equations.

- :mod:`rnncourse.models.bn_digits`: chapter 8's digit classifiers with batch-normalised LSTMs,
  their training and their evaluation with per-step and shared statistics.
- :mod:`rnncourse.models.language_model`: the character-level language model.
- :mod:`rnncourse.models.ntm`: the Neural Turing Machine (its memory operations in
  :mod:`rnncourse.models.ntm_addressing`, its training on the algorithmic tasks in
  :mod:`rnncourse.models.ntm_training`).
- :mod:`rnncourse.models.seq2seq`: encoder-decoders on frames (autoencoder, future predictor,
  composite), :mod:`rnncourse.models.seq2seq_training`, their training and measurements on Moving
  MNIST, and :mod:`rnncourse.models.sequence_autoencoder`, the repeated-latent autoencoder.
"""
from .bn_digits import (ClassifierRun, DigitClassifier, digit_steps, estimate_statistics, evaluate_statistics,
                        shared_statistics_copy)
from .language_model import (CharLanguageModel, LanguageModelHistory, bits_per_character, fit_language_model,
                             generate, next_character_probabilities, sample, unigram_bits_per_character)
from .ntm import NTM, NTMConfig, NTMState
from .ntm_training import LSTMBaseline, TrainingConfig, evaluate_lengths, train_algorithmic
from .seq2seq import (CompositeLSTM, Decoder, Encoder, LSTMAutoencoder, LSTMFuturePredictor, Objective, Seq2SeqConfig,
                      frame_loss, objective_loss, reconstruction_target, to_frames)
from .seq2seq_training import (FramesConfig, frame_gradient_norms, motion_targets, ridge_probe, train_future_readout,
                               train_seq2seq)
from .sequence_autoencoder import SequenceAutoencoder

__all__ = ["CharLanguageModel", "ClassifierRun", "CompositeLSTM", "Decoder", "DigitClassifier", "Encoder",
           "FramesConfig", "LSTMAutoencoder", "LSTMBaseline", "LSTMFuturePredictor", "LanguageModelHistory",
           "NTM", "NTMConfig", "NTMState", "Objective", "Seq2SeqConfig", "SequenceAutoencoder",
           "TrainingConfig", "bits_per_character", "digit_steps", "estimate_statistics", "evaluate_lengths",
           "evaluate_statistics", "fit_language_model", "frame_gradient_norms", "frame_loss", "generate",
           "motion_targets", "next_character_probabilities", "objective_loss", "reconstruction_target",
           "ridge_probe", "sample", "shared_statistics_copy", "to_frames", "train_algorithmic",
           "train_future_readout", "train_seq2seq", "unigram_bits_per_character"]
