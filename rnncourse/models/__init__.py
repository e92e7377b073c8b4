"""Models built from the course's layers.

- :mod:`rnncourse.models.language_model`: the character-level language model.
"""
from .language_model import (
                             CharLanguageModel,
                             LanguageModelHistory,
                             bits_per_character,
                             fit_language_model,
                             generate,
                             next_character_probabilities,
                             sample,
                             unigram_bits_per_character,
)

__all__ = ["CharLanguageModel", "LanguageModelHistory", "bits_per_character", "fit_language_model", "generate",
           "next_character_probabilities", "sample", "unigram_bits_per_character"]
