"""rnncourse.models.ntm and ntm_addressing: each stage against its equation, exact cases, the model."""
from __future__ import annotations

import math

import pytest
import torch
from helpers import randn

from rnncourse.models import NTM, NTMConfig, TrainingConfig, train_algorithmic
from rnncourse.models import ntm_addressing as A

F64 = torch.float64


def simplex(*shape, seed=0):
    return torch.softmax(randn(*shape, seed=seed) * 2, dim=-1)


# ---------------------------------------------------------------------------------------------
# Float64 oracles, one loop per sum of the paper's equations
# ---------------------------------------------------------------------------------------------


def cosine_oracle(key, memory, eps):  # key (B, M), memory (B, N, M) -> (B, N)
    out = torch.empty(memory.shape[:2], dtype=F64)
    for b in range(memory.shape[0]):
        for i in range(memory.shape[1]):
            u, v = key[b], memory[b, i]
            out[b, i] = (u * v).sum() / (math.sqrt((u * u).sum()) * math.sqrt((v * v).sum()) + eps)
    return out


def content_oracle(key, beta, memory, eps):  # beta (B, 1)
    scores = torch.exp(beta * cosine_oracle(key, memory, eps))  # (B, N)
    return scores / scores.sum(-1, keepdim=True)


def shift_oracle(w, s):  # w (B, N), s (B, S): w~(i) = sum_j w(j) s((i - j) mod N)
    batch, rows = w.shape
    radius = s.shape[1] // 2
    out = torch.zeros_like(w)
    for b in range(batch):
        full = torch.zeros(rows, dtype=F64)  # s as a function of the shift mod N
        for k in range(-radius, radius + 1):
            full[k % rows] = s[b, k + radius]
        for i in range(rows):
            out[b, i] = sum(w[b, j] * full[(i - j) % rows] for j in range(rows))
    return out


def sharpen_oracle(w, gamma, eps):
    powered = (w + eps) ** gamma
    return powered / powered.sum(-1, keepdim=True)


def write_oracle(memory, w, e, a):  # memory (B, N, M), w (B, H, N), e/a (B, H, M)
    out = memory.clone()
    for b in range(memory.shape[0]):
        for i in range(memory.shape[1]):
            for h in range(w.shape[1]):
                out[b, i] = out[b, i] * (1 - w[b, h, i] * e[b, h])
            for h in range(w.shape[1]):
                out[b, i] = out[b, i] + w[b, h, i] * a[b, h]
    return out


@pytest.mark.parametrize("eps", [0.0, 1e-8, 0.1])
def test_cosine_and_content_match_the_equations(eps):
    key, memory, beta = randn(3, 4, seed=1), randn(3, 6, 4, seed=2), randn(3, 1, seed=3).abs() * 4
    torch.testing.assert_close(A.cosine_similarity(key, memory, eps), cosine_oracle(key, memory, eps))
    torch.testing.assert_close(A.content_addressing(key, beta, memory, eps), content_oracle(key, beta, memory, eps))


def test_stages_accept_several_heads():
    key, memory, beta = randn(2, 3, 4, seed=1), randn(2, 6, 4, seed=2), randn(2, 3, 1, seed=3).abs()
    heads = A.content_addressing(key, beta, memory)  # (B, H, N)
    for h in range(3):
        torch.testing.assert_close(heads[:, h], content_oracle(key[:, h], beta[:, h], memory, A.COSINE_EPS))


def test_interpolation():
    wc, wp, g = simplex(3, 5, seed=1), simplex(3, 5, seed=2), torch.rand(3, 1, dtype=F64)
    torch.testing.assert_close(A.interpolate(wc, wp, g), g * wc + (1 - g) * wp)
    torch.testing.assert_close(A.interpolate(wc, wp, torch.ones(3, 1, dtype=F64)), wc)
    torch.testing.assert_close(A.interpolate(wc, wp, torch.zeros(3, 1, dtype=F64)), wp)


@pytest.mark.parametrize("rows, shifts", [(5, 1), (5, 3), (7, 5), (5, 5)])
def test_circular_shift_matches_the_equation(rows, shifts):
    w, s = simplex(4, rows, seed=1), simplex(4, shifts, seed=2)
    shifted = A.circular_shift(w, s)
    torch.testing.assert_close(shifted, shift_oracle(w, s))
    torch.testing.assert_close(shifted.sum(-1), torch.ones(4, dtype=F64))  # stays on the simplex


@pytest.mark.parametrize("eps", [0.0, 1e-12, 1e-3])
def test_sharpening_matches_the_equation(eps):
    w, gamma = simplex(3, 6, seed=1), 1 + randn(3, 1, seed=2).abs() * 3
    torch.testing.assert_close(A.sharpen(w, gamma, eps), sharpen_oracle(w, gamma, eps))


def test_address_chains_the_stages_in_the_papers_order():
    key, memory = randn(2, 4, seed=1), randn(2, 7, 4, seed=2)
    beta, g, gamma = torch.full((2, 1), 3.0, dtype=F64), torch.full((2, 1), 0.7, dtype=F64), torch.full((2, 1), 2.5,
                                                                                                        dtype=F64)
    s, previous = simplex(2, 3, seed=3), simplex(2, 7, seed=4)
    expected = content_oracle(key, beta, memory, A.COSINE_EPS)
    expected = shift_oracle(g * expected + (1 - g) * previous, s)
    torch.testing.assert_close(A.address(key, beta, g, s, gamma, previous, memory),
                               sharpen_oracle(expected, gamma, A.SHARPEN_EPS))


# ---------------------------------------------------------------------------------------------
# Exact cases
# ---------------------------------------------------------------------------------------------


def test_one_hot_key_with_large_beta_and_gamma_gives_a_one_hot_weighting():
    memory = torch.eye(6, 6, dtype=F64).unsqueeze(0)  # (1, N, M): row i is e_i
    key = torch.eye(6, dtype=F64)[2].unsqueeze(0)  # (1, M)
    weighting = A.content_addressing(key, torch.tensor([[100.0]], dtype=F64), memory)
    weighting = A.sharpen(weighting, torch.tensor([[50.0]], dtype=F64))
    torch.testing.assert_close(weighting, torch.eye(6, dtype=F64)[2].unsqueeze(0))


def test_a_key_equal_to_a_row_has_cosine_one_and_zero_vectors_have_zero():
    memory = randn(1, 4, 3, seed=5)
    memory[0, 1] = 0  # a zero row
    similarity = A.cosine_similarity(memory[:, 2], memory)
    assert abs(similarity[0, 2].item() - 1) < 1e-7 and similarity[0, 1].item() == 0
    assert torch.equal(A.cosine_similarity(torch.zeros(1, 3, dtype=F64), memory), torch.zeros(1, 4, dtype=F64))


def test_shift_plus_one_moves_the_weighting_one_slot_circularly():
    w = torch.tensor([[0.1, 0.0, 0.2, 0.0, 0.7]], dtype=F64)
    plus_one = torch.tensor([[0.0, 0.0, 1.0]], dtype=F64)  # weights of the shifts -1, 0, +1
    torch.testing.assert_close(A.circular_shift(w, plus_one), torch.tensor([[0.7, 0.1, 0.0, 0.2, 0.0]], dtype=F64))
    minus_one = torch.tensor([[1.0, 0.0, 0.0]], dtype=F64)
    torch.testing.assert_close(A.circular_shift(w, minus_one), w.roll(-1, dims=-1))


def test_sharpening_a_blurred_weighting_restores_its_peak():
    blurred = A.circular_shift(torch.eye(8, dtype=F64)[3].unsqueeze(0), torch.tensor([[0.2, 0.6, 0.2]], dtype=F64))
    sharpened = A.sharpen(blurred, torch.tensor([[30.0]], dtype=F64))
    assert sharpened[0, 3] > 0.999 and sharpened[0, 3] > blurred[0, 3]


def test_read_and_write_on_a_small_memory_by_hand():
    memory = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]], dtype=F64)  # (1, 3, 2)
    w = torch.tensor([[[0.5, 0.5, 0.0]]], dtype=F64)  # (1, 1, 3)
    torch.testing.assert_close(A.read(w, memory), torch.tensor([[[2.0, 3.0]]], dtype=F64))
    written = A.write(memory, w, torch.ones(1, 1, 2, dtype=F64), torch.full((1, 1, 2), 2.0, dtype=F64))
    torch.testing.assert_close(written, torch.tensor([[[1.5, 2.0], [2.5, 3.0], [5.0, 6.0]]], dtype=F64))


def test_erase_one_and_add_a_writes_a_into_the_addressed_row():
    memory, a = randn(2, 5, 3, seed=1), randn(2, 1, 3, seed=2)
    w = torch.zeros(2, 1, 5, dtype=F64)
    w[:, 0, 3] = 1
    written = A.write(memory, w, torch.ones(2, 1, 3, dtype=F64), a)
    torch.testing.assert_close(written[:, 3], a[:, 0])
    torch.testing.assert_close(written[:, [0, 1, 2, 4]], memory[:, [0, 1, 2, 4]])
    torch.testing.assert_close(A.read(w, written), a)


def test_several_write_heads_erasures_multiply_additions_sum_in_any_order():
    memory = randn(2, 4, 3, seed=1)
    w, e, a = simplex(2, 3, 4, seed=2), torch.rand(2, 3, 3, dtype=F64), randn(2, 3, 3, seed=3)
    written = A.write(memory, w, e, a)
    torch.testing.assert_close(written, write_oracle(memory, w, e, a))
    order = [2, 0, 1]
    torch.testing.assert_close(A.write(memory, w[:, order], e[:, order], a[:, order]), written)
    one = torch.ones(1, 2, 1, dtype=F64)
    two = A.write(torch.ones(1, 1, 1, dtype=F64), one, torch.full((1, 2, 1), 0.5, dtype=F64), one)
    torch.testing.assert_close(two, torch.tensor([[[0.25 + 2]]], dtype=F64))


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------


def small_config(**changes):
    return NTMConfig(**{**dict(input_size=4, output_size=3, memory_size=6, memory_width=3, controller_size=5,
                               read_heads=2, write_heads=2), **changes})


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
@pytest.mark.parametrize("order", ["write_first", "read_first"])
def test_output_shapes_device_and_dtype(controller, order, device, dtype):
    ntm = NTM(small_config(controller=controller, order=order), device=device, dtype=dtype)
    output, state = ntm(randn(7, 2, 4, dtype=dtype, device=device))
    assert output.shape == (7, 2, 3) and output.device.type == device.type and output.dtype == dtype
    assert state.memory.shape == (2, 6, 3) and state.read_weights.shape == (2, 2, 6)
    assert state.write_weights.shape == (2, 2, 6) and state.reads.shape == (2, 2, 3)


@pytest.mark.parametrize("memory_init, learned", [("constant", True), ("learned", False)])
def test_weightings_stay_on_the_simplex_and_sequences_do_not_mix(memory_init, learned):
    ntm = NTM(small_config(memory_init=memory_init, learned_initial_state=learned), dtype=F64)
    x = randn(6, 3, 4, seed=1)
    output, state, trace = ntm(x, trace=True)
    for name in ("read_weights", "write_weights"):
        torch.testing.assert_close(trace[name].sum(-1), torch.ones(trace[name].shape[:-1], dtype=F64))
    alone, _ = ntm(x[:, 1:2])
    torch.testing.assert_close(alone[:, 0], output[:, 1])


def forced_ntm(order):
    """A machine whose heads stay on row 0 and whose write adds (almost) 1 there without erasing."""
    ntm = NTM(small_config(order=order, read_heads=1, write_heads=1, memory_init_value=0.0,
                           learned_initial_state=False, clip_value=None), dtype=F64)
    with torch.no_grad():
        for heads in (ntm.read_heads, ntm.write_heads):
            heads.linear.weight.zero_()
            bias = torch.zeros(sum(heads.sizes), dtype=F64)
            bias[ntm.config.memory_width + 1] = -50.0  # g = 0: keep the previous weighting (row 0)
            bias[ntm.config.memory_width + 2 + 1] = 50.0  # shift 0
            if heads.writes:
                bias[-6:-3] = -50.0  # erase 0
                bias[-3:] = 50.0  # add tanh(50) = 1
            heads.linear.bias.copy_(bias)
    return ntm


def test_write_first_reads_what_was_just_written_read_first_reads_the_old_memory():
    x = torch.zeros(1, 1, 4, dtype=F64)
    _, written_first = forced_ntm("write_first")(x)
    _, read_first = forced_ntm("read_first")(x)
    torch.testing.assert_close(written_first.reads, torch.ones(1, 1, 3, dtype=F64))
    torch.testing.assert_close(read_first.reads, torch.zeros(1, 1, 3, dtype=F64))
    torch.testing.assert_close(read_first.memory, written_first.memory)


@pytest.mark.parametrize("controller", ["lstm", "feedforward"])
def test_gradcheck_through_full_steps(controller):
    # A memory of 0.5 rather than 1e-6: the finite differences of gradcheck (1e-6) must be small beside it.
    ntm = NTM(small_config(controller=controller, memory_size=5, memory_init="learned", memory_init_value=0.5),
              dtype=F64)
    names = [name for name, _ in ntm.named_parameters()]
    params = [p.detach().clone().requires_grad_() for p in ntm.parameters()]
    x = randn(3, 2, 4, seed=3).requires_grad_()

    def run(x, *params):
        return torch.func.functional_call(ntm, dict(zip(names, params)), (x,))[0]

    assert torch.autograd.gradcheck(run, (x, *params))


def random_head(batch, heads, rows, width, shifts, generator, scale=8.0):
    draw = lambda *shape: torch.randn(*shape, generator=generator, dtype=torch.float32) * scale  # noqa: E731
    return (draw(batch, heads, width), torch.nn.functional.softplus(draw(batch, heads, 1)),
            torch.sigmoid(draw(batch, heads, 1)), torch.softmax(draw(batch, heads, shifts), -1),
            1 + torch.nn.functional.softplus(draw(batch, heads, 1)))


def test_no_nan_or_inf_over_1000_steps_of_a_random_controller_with_zero_keys_and_rows():
    generator = torch.Generator().manual_seed(0)
    batch, rows, width = 4, 8, 5
    memory = torch.zeros(batch, rows, width)  # every row zero at the start
    read_w = write_w = torch.full((batch, 1, rows), 1 / rows)
    for step in range(1000):
        key, beta, g, s, gamma = random_head(batch, 1, rows, width, 3, generator)
        if step % 7 == 0:
            key = torch.zeros_like(key)
        write_w = A.address(key, beta, g, s, gamma, write_w, memory)
        erase = torch.sigmoid(torch.randn(batch, 1, width, generator=generator) * 8)
        memory = A.write(memory, write_w, erase, torch.tanh(torch.randn(batch, 1, width, generator=generator)))
        if step % 11 == 0:
            memory[:, step % rows] = 0  # a zero row again
        read_w = A.address(*random_head(batch, 1, rows, width, 3, generator), read_w, memory)
        reads = A.read(read_w, memory)
        assert torch.isfinite(memory).all() and torch.isfinite(reads).all() and torch.isfinite(read_w).all()


def test_gradients_are_finite_at_zero_keys_zero_rows_and_zero_weights():
    memory = randn(2, 5, 3, seed=1)
    memory[:, 2] = 0
    key = torch.zeros(2, 1, 3, requires_grad=True, dtype=F64)
    gamma = torch.full((2, 1, 1), 3.0, dtype=F64, requires_grad=True)
    previous = torch.zeros(2, 1, 5, dtype=F64)
    previous[:, :, 0] = 1  # zero weights on most rows
    memory.requires_grad_()
    w = A.address(key, torch.full((2, 1, 1), 50.0, dtype=F64), torch.zeros(2, 1, 1, dtype=F64),
                  torch.tensor([[[0.0, 1.0, 0.0]]] * 2, dtype=F64), gamma, previous, memory)
    (A.read(w, memory) ** 2).sum().backward()
    for tensor in (key, gamma, memory):
        assert torch.isfinite(tensor.grad).all()


def test_the_whole_model_stays_finite_over_1000_steps():
    torch.manual_seed(0)
    ntm = NTM(small_config(memory_init_value=0.0))
    with torch.no_grad():
        for parameter in ntm.parameters():
            parameter.mul_(10)
    output, state = ntm(torch.randn(1000, 2, 4))
    assert torch.isfinite(output).all() and torch.isfinite(state.memory).all()


def test_the_paper_sharpening_without_epsilon_gives_nan_gradients_where_weights_are_zero():
    w = torch.tensor([[0.0, 0.5, 0.5]], dtype=F64)
    gamma = torch.tensor([[2.0]], dtype=F64, requires_grad=True)
    (A.sharpen(w, gamma, eps=0.0)[0, 1]).backward()
    assert torch.isnan(gamma.grad).any()


@pytest.mark.parametrize("changes, match", [
    ({"controller": "gru"}, "controller"), ({"shift_range": 3}, "shift_range"), ({"memory_size": 0}, "memory_size"),
    ({"order": "both"}, "order"), ({"memory_init": "random"}, "memory_init"),
])
def test_bad_configs_are_refused(changes, match):
    with pytest.raises(ValueError, match=match):
        small_config(**changes)


def test_bad_shapes_name_what_was_expected():
    with pytest.raises(ValueError, match=r"\(T, B, 4\)"):
        NTM(small_config())(torch.zeros(3, 2, 5))
    with pytest.raises(ValueError, match="memory"):
        A.cosine_similarity(torch.zeros(2, 3), torch.zeros(5, 3))
    with pytest.raises(ValueError, match="S odd"):
        A.circular_shift(torch.zeros(2, 5), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="erase"):
        A.write(torch.zeros(2, 5, 3), torch.zeros(2, 1, 5), torch.zeros(2, 1, 4), torch.zeros(2, 1, 3))


def test_a_short_copy_training_run_lowers_the_cost():
    torch.manual_seed(0)
    ntm = NTM(NTMConfig(input_size=5, output_size=4, memory_size=8, memory_width=4, controller="feedforward",
                        controller_size=16))
    config = TrainingConfig(steps=100, batch_size=16, max_length=2, bits=4, lr=3e-2, curriculum=False, seed=0)
    history = train_algorithmic(ntm, config, device="cpu")
    chance = 1.5 * 4  # logits 0 cost 1 bit per output bit; lengths 1-2 of 4 bits
    first, last = sum(history.cost[:10]) / 10, sum(history.cost[-10:]) / 10
    assert first > 0.8 * chance and last < 0.6 * first, (first, last)
