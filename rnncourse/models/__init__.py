"""Whole models built from the cells and layers: encoder-decoders on frames (:mod:`.seq2seq`), …"""
from .seq2seq import (CompositeLSTM, Decoder, Encoder, LSTMAutoencoder, LSTMFuturePredictor, Objective, Seq2SeqConfig,
                      frame_loss, objective_loss, reconstruction_target, to_frames)
from .sequence_autoencoder import SequenceAutoencoder

__all__ = ["CompositeLSTM", "Decoder", "Encoder", "LSTMAutoencoder", "LSTMFuturePredictor", "Objective",
           "Seq2SeqConfig", "SequenceAutoencoder", "frame_loss", "objective_loss", "reconstruction_target",
           "to_frames"]
