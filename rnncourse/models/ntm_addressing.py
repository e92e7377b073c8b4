r"""The Neural Turing Machine's memory operations, as small pure functions (Graves, Wayne & Danihelka 2014).

A head finds where to read or write in four stages, in the paper's order (its Fig. 2):

1. :func:`content_addressing`, :math:`w^c_t(i) = \operatorname{softmax}_i(\beta_t K[k_t, M_t(i)])`;
2. :func:`interpolate`, :math:`w^g_t = g_t w^c_t + (1 - g_t) w_{t-1}`;
3. :func:`circular_shift`, :math:`\tilde w_t(i) = \sum_j w^g_t(j)\, s_t((i - j) \bmod N)`;
4. :func:`sharpen`, :math:`w_t(i) = \tilde w_t(i)^{\gamma_t} / \sum_j \tilde w_t(j)^{\gamma_t}`;

:func:`address` chains them. Then :func:`read` and :func:`write` (erase, then add) use the weighting.

Shape legend: ``B`` batch, ``H`` heads (any number of extra leading dimensions ``...`` between
``B`` and the last one are allowed wherever ``(B, ..., ·)`` is written), ``N`` memory rows
(locations), ``M`` row width, ``S = 2R + 1`` allowed shifts ``-R … R``. The memory is always
``(B, N, M)``; the batch is handled by batched tensor products, never by a Python loop.

The epsilons are not in the paper. They are what keeps the equations finite on zero vectors and
zero weights (later practice, e.g. Collier & Beel 2018), and each can be set to ``0`` for the
paper's equations exactly:

- cosine: :math:`K[u, v] = u \cdot v / (\lVert u\rVert \lVert v\rVert + \epsilon)`, so a zero key
  or a zero row has similarity 0 instead of 0/0;
- sharpening: :math:`w_t(i) = (\tilde w_t(i) + \epsilon)^{\gamma_t} / \sum_j (\tilde w_t(j) +
  \epsilon)^{\gamma_t}`, so that no weight is exactly 0 when it is raised to the learned power
  :math:`\gamma` (the derivative of :math:`0^\gamma` with respect to :math:`\gamma` is
  :math:`0 \cdot \log 0`, a NaN).
"""
from __future__ import annotations

import torch
from torch import Tensor

COSINE_EPS = 1e-8  # added to the product of the norms in the cosine similarity
SHARPEN_EPS = 1e-12  # added to every weight before it is raised to the power gamma


def _check_memory(memory: Tensor) -> None:
    if not isinstance(memory, Tensor) or memory.dim() != 3:
        shape = tuple(memory.shape) if isinstance(memory, Tensor) else type(memory).__name__
        raise ValueError(f"expected memory of shape (B, N, M), got {shape}")


def _check_last(tensor: Tensor, size: int, name: str, layout: str) -> None:
    if not isinstance(tensor, Tensor) or tensor.dim() < 2 or tensor.shape[-1] != size:
        shape = tuple(tensor.shape) if isinstance(tensor, Tensor) else type(tensor).__name__
        raise ValueError(f"expected {name} of shape {layout} with last size {size}, got {shape}")


def cosine_similarity(key: Tensor, memory: Tensor, eps: float = COSINE_EPS) -> Tensor:
    r"""The cosine similarity of each key with each memory row.

    :math:`K[k, M(i)] = k \cdot M(i) / (\lVert k\rVert\,\lVert M(i)\rVert + \epsilon)`.

    Args:
        key: ``(B, ..., M)``. memory: ``(B, N, M)``. eps: see the module docstring.

    Returns:
        ``(B, ..., N)``, in ``[-1, 1]``; ``0`` where the key or the row is zero (when ``eps > 0``).
    """
    _check_memory(memory)
    _check_last(key, memory.shape[-1], "key", "(B, ..., M)")
    dots = torch.einsum("b...m,bnm->b...n", key, memory)  # (B, ..., N)
    key_norm = torch.linalg.vector_norm(key, dim=-1, keepdim=True)  # (B, ..., 1)
    row_norm = torch.linalg.vector_norm(memory, dim=-1)  # (B, N)
    row_norm = row_norm.reshape(row_norm.shape[0], *([1] * (key.dim() - 2)), row_norm.shape[1])  # (B, 1.., N)
    return dots / (key_norm * row_norm + eps)


def content_addressing(key: Tensor, beta: Tensor, memory: Tensor, eps: float = COSINE_EPS) -> Tensor:
    r"""Stage 1, focus by content: :math:`w^c(i) = \operatorname{softmax}_i(\beta K[k, M(i)])`.

    Args:
        key: ``k``, ``(B, ..., M)``. beta: the key strength :math:`\beta \ge 0`, ``(B, ..., 1)``;
            ``0`` gives the uniform weighting, a large value concentrates on the most similar row.
        memory: ``(B, N, M)``. eps: of :func:`cosine_similarity`.

    Returns:
        ``w^c``, ``(B, ..., N)``, each row on the simplex.
    """
    return torch.softmax(beta * cosine_similarity(key, memory, eps), dim=-1)  # (B, ..., N)


def interpolate(content_weighting: Tensor, previous_weighting: Tensor, gate: Tensor) -> Tensor:
    r"""Stage 2, the interpolation gate: :math:`w^g = g\,w^c + (1 - g)\,w_{t-1}`.

    ``g = 1`` keeps the content weighting, ``g = 0`` ignores content and starts from the previous
    weighting (pure location addressing).

    Args:
        content_weighting: ``(B, ..., N)``. previous_weighting: ``(B, ..., N)``.
        gate: ``g`` in ``[0, 1]``, ``(B, ..., 1)``.

    Returns:
        ``w^g``, ``(B, ..., N)``.
    """
    if content_weighting.shape != previous_weighting.shape:
        raise ValueError(f"expected content_weighting and previous_weighting of the same shape, got "
                         f"{tuple(content_weighting.shape)} and {tuple(previous_weighting.shape)}")
    return gate * content_weighting + (1 - gate) * previous_weighting


def circular_shift(weighting: Tensor, shift: Tensor) -> Tensor:
    r"""Stage 3, rotation: the circular convolution :math:`\tilde w(i) = \sum_j w(j)\,s((i - j) \bmod N)`.

    ``shift`` holds the weights of the shifts ``-R … R`` in that order, so with ``S = 3`` the
    entries are the weights of moving by ``-1``, ``0`` and ``+1``; a one-hot shift on ``+1`` moves
    all the weight from row ``i`` to row ``i + 1`` (and from the last row to row ``0``).

    Args:
        weighting: ``w^g``, ``(B, ..., N)``.
        shift: ``s``, ``(B, ..., S)`` with ``S = 2R + 1`` odd and ``S <= N`` (so that no two shifts
            land on the same row); on the simplex when it comes from a softmax.

    Returns:
        ``\tilde w``, ``(B, ..., N)``.
    """
    rows, shifts = weighting.shape[-1], shift.shape[-1]
    if shifts % 2 != 1 or shifts > rows or shift.shape[:-1] != weighting.shape[:-1]:
        raise ValueError(f"expected shift of shape (B, ..., S) with S odd and S <= N = {rows}, matching "
                         f"weighting {tuple(weighting.shape)} in the leading dimensions, got {tuple(shift.shape)}")
    radius = shifts // 2
    offsets = torch.arange(-radius, radius + 1, device=weighting.device)  # (S,)
    rows_index = torch.arange(rows, device=weighting.device)  # (N,)
    source = (rows_index.unsqueeze(1) - offsets.unsqueeze(0)) % rows  # (N, S): row i takes from i - s
    gathered = weighting[..., source]  # (B, ..., N, S): gathered[..., i, k] = w(i - offset_k)
    return (gathered * shift.unsqueeze(-2)).sum(-1)  # (B, ..., N)


def sharpen(weighting: Tensor, gamma: Tensor, eps: float = SHARPEN_EPS) -> Tensor:
    r"""Stage 4, sharpening: :math:`w(i) = (\tilde w(i) + \epsilon)^\gamma / \sum_j (\tilde w(j) + \epsilon)^\gamma`.

    It undoes the blur that a soft shift spreads over neighbouring rows. It is computed as
    ``softmax(gamma * log(w + eps))``, the same number without overflow or underflow of the power.
    With ``eps = 0`` (the paper's equation) a zero weight gives ``log 0 = -inf``: the forward value
    is still right, but the gradient with respect to ``gamma`` is NaN.

    Args:
        weighting: ``\tilde w``, ``(B, ..., N)``, nonnegative.
        gamma: :math:`\gamma \ge 1`, ``(B, ..., 1)``.
        eps: see the module docstring.

    Returns:
        ``w``, ``(B, ..., N)``, on the simplex.
    """
    return torch.softmax(gamma * torch.log(weighting + eps), dim=-1)  # (B, ..., N)


def address(key: Tensor, beta: Tensor, gate: Tensor, shift: Tensor, gamma: Tensor, previous_weighting: Tensor,
            memory: Tensor, cosine_eps: float = COSINE_EPS, sharpen_eps: float = SHARPEN_EPS) -> Tensor:
    r"""The four stages in the paper's order: content, interpolation, shift, sharpening.

    Args:
        key ``(B, ..., M)``, beta ``(B, ..., 1)``, gate ``(B, ..., 1)``, shift ``(B, ..., S)``,
        gamma ``(B, ..., 1)``: one head's (or several heads') addressing parameters, already
        through their activations. previous_weighting: ``w_{t-1}``, ``(B, ..., N)``.
        memory: ``(B, N, M)``. cosine_eps, sharpen_eps: see the module docstring.

    Returns:
        the weighting ``w_t``, ``(B, ..., N)``.
    """
    content = content_addressing(key, beta, memory, cosine_eps)  # (B, ..., N)
    gated = interpolate(content, previous_weighting, gate)  # (B, ..., N)
    shifted = circular_shift(gated, shift)  # (B, ..., N)
    return sharpen(shifted, gamma, sharpen_eps)  # (B, ..., N)


def read(weighting: Tensor, memory: Tensor) -> Tensor:
    r"""Read heads: :math:`r = \sum_i w(i)\,M(i)`, a convex combination of the rows.

    Args:
        weighting: ``(B, H, N)`` (or ``(B, N)`` for one head). memory: ``(B, N, M)``.

    Returns:
        the read vectors, ``(B, H, M)`` (or ``(B, M)``).
    """
    _check_memory(memory)
    _check_last(weighting, memory.shape[1], "weighting", "(B, ..., N)")
    return torch.einsum("b...n,bnm->b...m", weighting, memory)  # (B, ..., M)


def write(memory: Tensor, weighting: Tensor, erase: Tensor, add: Tensor) -> Tensor:
    r"""Write heads: erase, then add.

    .. math::
        \tilde M(i) = M(i) \odot \prod_h \bigl[\mathbf 1 - w_h(i)\,e_h\bigr], \qquad
        M'(i) = \tilde M(i) + \sum_h w_h(i)\,a_h

    With one head this is the paper's pair of equations. With several, the erasures multiply
    (so their order does not matter) and the additions sum, as the paper prescribes.

    Args:
        memory: ``M_{t-1}``, ``(B, N, M)``.
        weighting: ``(B, H, N)`` for ``H`` write heads.
        erase: ``e`` in ``(0, 1)``, ``(B, H, M)``. add: ``a``, ``(B, H, M)``.

    Returns:
        ``M_t``, ``(B, N, M)``; the input memory is not modified.
    """
    _check_memory(memory)
    batch, rows, width = memory.shape
    if weighting.dim() != 3 or weighting.shape[0] != batch or weighting.shape[2] != rows:
        raise ValueError(f"expected weighting of shape (B, H, N) = ({batch}, H, {rows}), got {tuple(weighting.shape)}")
    heads = weighting.shape[1]
    for tensor, name in ((erase, "erase"), (add, "add")):
        if tuple(tensor.shape) != (batch, heads, width):
            raise ValueError(f"expected {name} of shape (B, H, M) = ({batch}, {heads}, {width}), got {tuple(tensor.shape)}")
    keep = (1 - weighting.unsqueeze(-1) * erase.unsqueeze(-2)).prod(dim=1)  # (B, N, M)
    added = torch.einsum("bhn,bhm->bnm", weighting, add)  # (B, N, M)
    return memory * keep + added
