"""The time loop: one direction of one layer, variable lengths, and the time-index contract.

Shape legend: ``T`` time steps, ``B`` batch, ``I`` input features, ``H`` hidden units.

Variable lengths. A batch padded to ``T`` steps comes with ``lengths (B,)``: sequence ``b`` is real
at steps ``0 .. lengths[b] - 1``. At a padded step the state is held (the step's result is
discarded) and the output is zero, as ``torch.nn.utils.rnn.pad_packed_sequence`` gives, so the
padding changes neither the real outputs nor the final state.

Reverse direction. A backward pass starts at each sequence's *own* last step: the real part of
every sequence is reversed in place (:func:`reverse_padded`), the loop runs forward over it, and
the outputs are reversed back. So step ``t`` of a backward pass reads position ``lengths[b] - 1 - t``
of sequence ``b`` and the padding stays at the end, where it cannot touch the state.

The time-index contract. A cell class with ``takes_time_index = True`` is called at every step as
``cell(x_t, state, t=t, mask=m)``:

- ``t`` is the 0-based number of steps the pass has taken on the sequence (so the same ``t`` is
  the same distance from where the recurrence started for every entry of the batch). In a forward
  pass it is the position in the sequence. In a backward pass it is counted from each sequence's
  own last step: at ``t = 0`` the backward cell reads ``x[lengths[b] - 1]`` of sequence ``b`` (the
  last step, ``x[T - 1]``, without lengths). This is what statistics per time step need: the
  state at step ``t`` of either pass has been updated ``t`` times from its initial value.
- ``m`` is a bool tensor ``(B,)``, true where step ``t`` of entry ``b`` is real (not padding), or
  ``None`` when every entry is real, so that a cell can leave padded entries out of its batch
  statistics. The layer holds the state of the padded entries whatever the cell returns there.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor

State = tuple[Tensor, ...]


def reverse_padded(inputs: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each sequence of ``inputs (T, B, ·)`` within its own length; the padding stays in place.

    Without ``lengths`` this is ``inputs.flip(0)``. The map is its own inverse. ``lengths (B,)`` is
    an integer CPU tensor.
    """
    if lengths is None:
        return inputs.flip(0)
    steps = torch.arange(inputs.shape[0]).unsqueeze(1)  # (T, 1)
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)  # (T, B)
    index = index.to(inputs.device).unsqueeze(-1).expand(inputs.shape)  # (T, B, ·)
    return inputs.gather(0, index)


def step_masks(lengths: Tensor | None, steps: int, device) -> list[Tensor | None]:
    """For each step ``t``, the bool mask ``(B,)`` of the entries still real at ``t``, or ``None`` if all are."""
    if lengths is None:
        return [None] * steps
    shortest = int(lengths.min())
    on_device = lengths.to(device)  # (B,)
    return [None if t < shortest else on_device > t for t in range(steps)]


def unroll(step: Callable, inputs: Tensor, state: State, reverse: bool = False, *, lengths: Tensor | None = None,
           time_index: bool = False) -> tuple[Tensor, State]:
    """Apply ``state = step(x_t, state)`` for every ``t`` of ``inputs (T, B, I)``.

    Returns ``(outputs (T, B, H), final state)`` where ``outputs[t]`` is the first state tensor after
    step ``t`` (``h_t``). With ``reverse=True`` the sequence is read from its last step to ``0`` and
    ``outputs[t]`` is still aligned with ``inputs[t]``.

    Args:
        step: ``step(x_t (B, I), state) -> state``, or ``step(x_t, state, t, mask)`` when ``time_index``.
        inputs: ``(T, B, I)``, time-major.
        state: the initial state, a tuple of ``(B, ·)`` tensors.
        reverse: run backwards, from each sequence's own last step (see the module docstring).
        lengths: ``(B,)`` integer CPU tensor of real steps per sequence, or ``None`` (all ``T``).
            Padded steps hold the state and give zero outputs.
        time_index: pass ``t`` and the mask of real entries to ``step`` (the time-index contract).
    """
    if torch.jit.is_tracing():
        raise RuntimeError("torch.jit.trace would record this Python loop over time for the traced sequence length "
                           "only; use torch.compile (or a layer that dispatches to torch's kernel) instead")
    steps = inputs.shape[0]
    if reverse:
        inputs = reverse_padded(inputs, lengths)
    outputs = []
    # unbind once: indexing inputs[t] would make autograd build a zero (T, B, I) gradient at every step.
    for t, (x_t, mask) in enumerate(zip(inputs.unbind(0), step_masks(lengths, steps, inputs.device))):
        new_state = step(x_t, state, t, mask) if time_index else step(x_t, state)
        output = new_state[0]  # (B, H)
        if mask is not None:
            keep = mask.unsqueeze(-1)  # (B, 1)
            new_state = tuple(torch.where(keep, new, old) for new, old in zip(new_state, state))
            output = output.masked_fill(~keep, 0)  # (B, H)
        state = new_state
        outputs.append(output)
    output = torch.stack(outputs)  # (T, B, H)
    return (reverse_padded(output, lengths) if reverse else output), state


def run_layers(step_of: Callable[[int, int], Callable], num_layers: int, num_directions: int, inputs: Tensor,
               state: State, *, lengths: Tensor | None = None, time_index: bool = False, dropout: float = 0.0,
               training: bool = False, run: Callable = unroll) -> tuple[Tensor, State]:
    """Stacked, optionally bidirectional layers over ``inputs (T, B, I)``, torch's layout.

    ``step_of(layer, direction)`` gives the step of one layer and direction; ``state`` holds
    ``(N_L*D, B, ·)`` tensors, row ``layer * D + direction``. Layer ``k > 0`` reads the ``D * H``
    concatenated outputs of layer ``k - 1``, with dropout between layers in training. ``run`` is the
    time loop (``unroll``, or a fast path with its signature). Returns ``output (T, B, D*H)`` and the
    final state ``(N_L*D, B, ·)`` per tensor.
    """
    finals = []
    layer_input = inputs
    for layer in range(num_layers):
        outputs = []
        for direction in range(num_directions):
            row = layer * num_directions + direction
            output, final = run(step_of(layer, direction), layer_input, tuple(s[row] for s in state),
                                reverse=direction == 1, lengths=lengths, time_index=time_index)
            outputs.append(output)  # (T, B, H)
            finals.append(final)
        layer_input = outputs[0] if num_directions == 1 else torch.cat(outputs, dim=-1)  # (T, B, D*H)
        if dropout > 0 and training and layer < num_layers - 1:
            layer_input = torch.nn.functional.dropout(layer_input, dropout, training=True)
    h_n = tuple(torch.stack([final[i] for final in finals]) for i in range(len(state)))  # (N_L*D, B, ·)
    return layer_input, h_n


def as_lengths(lengths, batch: int, steps: int) -> Tensor | None:
    """``lengths`` (a sequence of ints or a 1-D integer tensor, on any device) as an int64 CPU tensor ``(B,)``.

    ``None`` stays ``None``; so do lengths that are all ``T`` (nothing to mask). Raises
    ``TypeError``/``ValueError`` naming the expected and received values.
    """
    if lengths is None:
        return None
    if isinstance(lengths, Tensor):
        if lengths.dtype.is_floating_point or lengths.dtype.is_complex or lengths.dtype == torch.bool:
            raise TypeError(f"expected lengths to be integers, got a tensor of dtype {lengths.dtype}")
        if lengths.dim() != 1:
            raise ValueError(f"expected lengths of shape ({batch},) (one per sequence), got {tuple(lengths.shape)}")
        values = lengths.detach().to("cpu", torch.int64)
    elif isinstance(lengths, Sequence) and all(isinstance(n, int) and not isinstance(n, bool) for n in lengths):
        values = torch.tensor(list(lengths), dtype=torch.int64).reshape(-1)
    else:
        raise TypeError(f"expected lengths to be a 1-D integer tensor or a sequence of ints, got {lengths!r}")
    if values.shape != (batch,):
        raise ValueError(f"expected lengths of shape ({batch},) (one per sequence), got ({values.shape[0]},)")
    if bool((values < 1).any()) or bool((values > steps).any()):
        raise ValueError(f"expected every length in [1, {steps}] (T = {steps} steps), got {values.tolist()}")
    return None if bool((values == steps).all()) else values
