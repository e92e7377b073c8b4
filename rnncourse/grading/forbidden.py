"""What a graded part may not use, as named *capabilities*: a small declarative vocabulary.

A capability is a computation a part asks the student to write themselves (a finished RNN, LSTM or
GRU cell, batch normalization, a binary cross-entropy, autograd for a gradient asked "by hand").
Each one names

- the **Python names** it answers to (``torch.nn.LSTM``, ``torch.lstm_cell``, ...): replaced by a
  refusal in the student's process, so that the message names what the student wrote;
- the **aten operators** behind it (``lstm_cell``, ``lstm``, ``_thnn_fused_lstm_cell``, ...):
  every overload of each is replaced *at the dispatcher* (:mod:`rnncourse.grading.refusal`), for
  every dispatch key the computation can take, before any student code runs. Every route meets
  there: Python aliases, ``torch.ops.aten.<op>.<overload>``, ``torch._VF``, the module classes
  under any module path, TorchScript, with torch-function handling switched off or not;
- for :data:`AUTOGRAD`, *detectors*: counters inside autograd's C++ core (autograd nodes created,
  graphs run by the engine) read before and after the part, which no Python-level trick resets.

How an exercise declares what a part forbids (one line per part)::

    from ..forbidden import AUTOGRAD, LSTM_CELLS

    lstm_step = Check(..., forbidden=(LSTM_CELLS,))
    lstm_bptt = Check(..., forbidden=(LSTM_CELLS, AUTOGRAD))

Dotted names still work beside capabilities (``forbidden=(BATCH_NORM, "rnncourse.cells.BNLSTMCell")``):
a dotted name refuses that Python name; one that a capability lists (``"torch.nn.LSTM"``) also
brings in the whole capability, so an old tuple of dotted names is enforced at the dispatcher too.
A new capability is one more :class:`Capability` below, added to :data:`CAPABILITIES`.

This module uses only the standard library: it is copied into the sandboxes beside
``refusal.py`` and ``isolation.py``, where ``rnncourse`` itself is not visible.
"""
from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Capability:
    """A forbidden computation: its Python names (messages) and its aten operators (enforcement)."""

    name: str                      # the constant's name, e.g. "LSTM_CELLS" (how jobs refer to it)
    description: str               # what the student may not use, for messages
    python_names: tuple[str, ...]  # dotted names replaced by a refusal
    aten_ops: tuple[str, ...] = ()  # operator names; every overload is refused at the dispatcher
    detectors: tuple[str, ...] = ()  # "autograd_nodes", "autograd_graphs": C++ counters checked afterwards


#: Backend kernels that compute any of torch's recurrent layers (cuDNN, MIOpen, oneDNN, MPS).
_RECURRENT_BACKENDS = ("_cudnn_rnn", "miopen_rnn", "mkldnn_rnn_layer", "_lstm_mps")

RNN_CELLS = Capability(
    "RNN_CELLS", "a finished Elman RNN cell or layer",
    ("torch.nn.RNN", "torch.nn.RNNCell", "torch.nn.modules.rnn.RNN", "torch.nn.modules.rnn.RNNCell",
     "torch.rnn_tanh", "torch.rnn_tanh_cell", "torch.rnn_relu", "torch.rnn_relu_cell",
     "torch._VF.rnn_tanh", "torch._VF.rnn_tanh_cell", "torch._VF.rnn_relu", "torch._VF.rnn_relu_cell"),
    ("rnn_tanh_cell", "rnn_relu_cell", "rnn_tanh", "rnn_relu", "quantized_rnn_tanh_cell",
     "quantized_rnn_relu_cell", *_RECURRENT_BACKENDS),
)

LSTM_CELLS = Capability(
    "LSTM_CELLS", "a finished LSTM cell or layer",
    ("torch.nn.LSTM", "torch.nn.LSTMCell", "torch.nn.modules.rnn.LSTM", "torch.nn.modules.rnn.LSTMCell",
     "torch.lstm", "torch.lstm_cell", "torch._VF.lstm", "torch._VF.lstm_cell"),
    ("lstm_cell", "lstm", "_thnn_fused_lstm_cell", "_thnn_differentiable_lstm_cell_backward",
     "quantized_lstm_cell", "quantized_lstm", *_RECURRENT_BACKENDS),
)

GRU_CELLS = Capability(
    "GRU_CELLS", "a finished GRU cell or layer",
    ("torch.nn.GRU", "torch.nn.GRUCell", "torch.nn.modules.rnn.GRU", "torch.nn.modules.rnn.GRUCell",
     "torch.gru", "torch.gru_cell", "torch._VF.gru", "torch._VF.gru_cell"),
    ("gru_cell", "gru", "_thnn_fused_gru_cell", "_thnn_differentiable_gru_cell_backward",
     "quantized_gru_cell", "quantized_gru", *_RECURRENT_BACKENDS),
)

COSINE_SIMILARITY = Capability(
    "COSINE_SIMILARITY", "a finished cosine similarity",
    ("torch.nn.functional.cosine_similarity", "torch.cosine_similarity", "torch.nn.CosineSimilarity",
     "torch.nn.modules.distance.CosineSimilarity"),
    ("cosine_similarity",),
)

BATCH_NORM = Capability(
    "BATCH_NORM", "a finished batch normalization",
    ("torch.nn.BatchNorm1d", "torch.nn.BatchNorm2d", "torch.nn.BatchNorm3d", "torch.nn.SyncBatchNorm",
     "torch.nn.LazyBatchNorm1d", "torch.nn.modules.batchnorm.BatchNorm1d", "torch.nn.modules.batchnorm.BatchNorm2d",
     "torch.nn.modules.batchnorm._BatchNorm", "torch.nn.functional.batch_norm", "torch.batch_norm",
     "torch.native_batch_norm"),
    ("batch_norm", "native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
     "_native_batch_norm_legit_functional", "_batch_norm_impl_index", "_batch_norm_with_update",
     "_batch_norm_with_update_functional", "_batch_norm_no_update", "cudnn_batch_norm", "miopen_batch_norm",
     "batch_norm_stats", "batch_norm_elemt", "batch_norm_gather_stats", "batch_norm_gather_stats_with_counts",
     "batch_norm_update_stats", "quantized_batch_norm"),
)

#: The other finished normalizations: applied to a transposed tensor, each one is a batch
#: normalization (``layer_norm(z.T, (B,)).T`` normalizes every feature over the batch), so a part
#: that asks for a batch normalization refuses them too: ``forbidden=(BATCH_NORM, NORMALIZATION)``.
NORMALIZATION = Capability(
    "NORMALIZATION", "a finished layer, group, instance or RMS normalization",
    ("torch.nn.LayerNorm", "torch.nn.GroupNorm", "torch.nn.InstanceNorm1d", "torch.nn.InstanceNorm2d",
     "torch.nn.RMSNorm", "torch.nn.modules.normalization.LayerNorm", "torch.nn.modules.normalization.GroupNorm",
     "torch.nn.modules.normalization.RMSNorm", "torch.nn.modules.instancenorm.InstanceNorm1d",
     "torch.nn.functional.layer_norm", "torch.nn.functional.group_norm", "torch.nn.functional.instance_norm",
     "torch.nn.functional.rms_norm", "torch.layer_norm", "torch.group_norm", "torch.instance_norm",
     "torch.rms_norm", "torch.native_layer_norm", "torch.native_group_norm"),
    ("layer_norm", "native_layer_norm", "group_norm", "native_group_norm", "instance_norm", "rms_norm",
     "_fused_rms_norm"),
)

BINARY_CROSS_ENTROPY = Capability(
    "BINARY_CROSS_ENTROPY", "a finished binary cross-entropy",
    ("torch.nn.functional.binary_cross_entropy", "torch.nn.functional.binary_cross_entropy_with_logits",
     "torch.binary_cross_entropy_with_logits", "torch._C._nn.binary_cross_entropy", "torch.nn.BCELoss",
     "torch.nn.BCEWithLogitsLoss", "torch.nn.modules.loss.BCELoss", "torch.nn.modules.loss.BCEWithLogitsLoss"),
    ("binary_cross_entropy", "binary_cross_entropy_with_logits"),
)

AUTOGRAD = Capability(
    "AUTOGRAD", "autograd (the gradients are asked for by hand)",
    ("torch.autograd.grad", "torch.autograd.backward", "torch.Tensor.backward",
     "torch.autograd.functional.jacobian", "torch.autograd.functional.hessian", "torch.autograd.functional.vjp",
     "torch.autograd.functional.jvp", "torch.autograd.functional.vhp", "torch.autograd.functional.hvp",
     "torch.autograd.forward_ad.make_dual", "torch.autograd.forward_ad.unpack_dual",
     "torch.autograd.forward_ad.dual_level", "torch.autograd.graph._engine_run_backward",
     "torch.func.grad", "torch.func.grad_and_value", "torch.func.vjp", "torch.func.jvp", "torch.func.jacrev",
     "torch.func.jacfwd", "torch.func.hessian", "torch.func.linearize",
     "torch._functorch.eager_transforms.grad", "torch._functorch.eager_transforms.vjp",
     "torch._functorch.eager_transforms.jvp", "torch._functorch.eager_transforms.jacrev",
     "torch._functorch.eager_transforms.jacfwd", "torch._C._functorch._grad_increment_nesting",
     "torch._C._functorch._jvp_increment_nesting", "torch.jit.fork", "torch.jit._fork", "torch._C.fork"),
    ("_make_dual", "_unpack_dual"),
    ("autograd_nodes", "autograd_graphs"),
)

#: Every capability by its name.
CAPABILITIES = {capability.name: capability for capability in (RNN_CELLS, LSTM_CELLS, GRU_CELLS, COSINE_SIMILARITY,
                                                                 BATCH_NORM, NORMALIZATION, BINARY_CROSS_ENTROPY,
                                                                 AUTOGRAD)}

#: The capability each Python name belongs to: a dotted name in ``forbidden=`` brings in its capability.
_OWNER = {dotted: capability for capability in CAPABILITIES.values() for dotted in capability.python_names}


def resolve(forbidden) -> tuple[tuple[Capability, ...], tuple[str, ...]]:
    """``forbidden=`` of a part -> ``(capabilities, dotted names)``.

    ``forbidden`` mixes :class:`Capability` objects, capability names (``"LSTM_CELLS"``) and dotted
    names; a dotted name listed by a capability brings that capability in. The dotted names returned
    are the explicit ones plus every capability's Python names, without repeats, in order.
    """
    capabilities: list[Capability] = []
    names: list[str] = []
    for item in forbidden:
        capability = item if isinstance(item, Capability) else CAPABILITIES.get(item) or _OWNER.get(item)
        if not isinstance(item, (Capability, str)):
            raise TypeError(f"forbidden= takes capabilities (forbidden.LSTM_CELLS, ...) or dotted names, got {item!r}")
        if capability is not None and capability not in capabilities:
            capabilities.append(capability)
        if isinstance(item, str) and item not in CAPABILITIES and item not in names:
            names.append(item)
    for capability in capabilities:
        names.extend(name for name in capability.python_names if name not in names)
    return tuple(capabilities), tuple(names)
