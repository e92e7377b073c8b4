"""The BINARY_CROSS_ENTROPY capability (exercise 08): every route to torch's finished loss meets the refusal,
the stable formula written by hand does not, and the refusal is gone after the block."""
from __future__ import annotations

import pytest
import torch

from rnncourse.grading.forbidden import BINARY_CROSS_ENTROPY, resolve
from rnncourse.grading.refusal import ForbiddenCall, forbid

Z = torch.randn(2, 3, dtype=torch.float64) * 5
Y = torch.rand(2, 3, dtype=torch.float64)


def disabled():
    with torch._C.DisableTorchFunction():
        return torch._C._VariableFunctions.binary_cross_entropy_with_logits(Z, Y, None, None, 1)


ROUTES = [
    lambda: torch.nn.functional.binary_cross_entropy_with_logits(Z, Y),
    lambda: torch.nn.functional.binary_cross_entropy(torch.sigmoid(Z), Y),
    lambda: torch.ops.aten.binary_cross_entropy_with_logits.default(Z, Y, None, None, 1),
    lambda: torch.ops.aten.binary_cross_entropy.default(torch.sigmoid(Z), Y),
    lambda: torch.nn.modules.loss.BCEWithLogitsLoss()(Z, Y),
    lambda: torch.nn.BCELoss()(torch.sigmoid(Z), Y),
    disabled,
]


@pytest.mark.parametrize("index", range(len(ROUTES)))
def test_every_route_to_the_finished_loss_is_refused(index):
    with pytest.raises(ForbiddenCall, match="frame_cross_entropy may not use"):
        with forbid((BINARY_CROSS_ENTROPY,), "frame_cross_entropy"):
            ROUTES[index]()
    ROUTES[index]()  # and the refusal is gone after the block


def test_the_stable_formula_by_hand_is_not_refused():
    expected = torch.nn.functional.binary_cross_entropy_with_logits(Z, Y, reduction="sum")
    with forbid((BINARY_CROSS_ENTROPY,), "frame_cross_entropy"):
        found = (Z.clamp(min=0) - Z * Y + torch.log1p(torch.exp(-Z.abs()))).sum()
    torch.testing.assert_close(found, expected)


def test_the_dotted_name_brings_in_the_capability():
    capabilities, names = resolve(("torch.nn.BCEWithLogitsLoss",))
    assert capabilities == (BINARY_CROSS_ENTROPY,) and "torch.nn.functional.binary_cross_entropy" in names
