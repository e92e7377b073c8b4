"""rnncourse.viz gate diagrams (LSTM variants, GRU conventions, MGU) and the comparison plots:
each figure is drawn and holds the labels, gates and operations of its variant."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before pyplot: no window, the same pixels on every machine

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

from rnncourse import viz  # noqa: E402
from rnncourse.train import History  # noqa: E402

from helpers import texts  # noqa: E402

SIGMA, TANH = r"$\sigma$", r"$\tanh$"
TIMES, PLUS, COMPLEMENT = r"$\odot$", "$+$", "$1-$"

pytestmark = pytest.mark.usefixtures("close_figures")  # conftest: plt.show() fails, figures are closed


def position(ax, label: str) -> tuple[float, float]:
    """Where the one text ``label`` on ``ax`` is drawn (a box's or an operation's centre)."""
    found = [text.get_position() for text in ax.texts if text.get_text() == label]
    assert len(found) == 1, f"expected one {label!r}, found {len(found)}"
    return found[0]


def circles(ax) -> list[Circle]:
    return [patch for patch in ax.patches if isinstance(patch, Circle)]


# ---------------------------------------------------------------------------------------------
# LSTM
# ---------------------------------------------------------------------------------------------

# Per variant: the gate layers (sigmoid gates, tanh candidate), the pointwise operations and the
# labels that must (and must not) appear.
LSTM_EXPECTED = {
    "forget": dict(sigmas=3, ops={TIMES: 3, PLUS: 1, COMPLEMENT: 0}, present=["$f_t$"],
                   absent=[r"$w_{ci}$", r"$f_t = 1 - i_t$"]),
    "original": dict(sigmas=2, ops={TIMES: 2, PLUS: 1, COMPLEMENT: 0}, present=[],
                     absent=["$f_t$", r"$w_{ci}$", r"$f_t = 1 - i_t$"]),
    "peephole": dict(sigmas=3, ops={TIMES: 3, PLUS: 1, COMPLEMENT: 0},
                     present=["$f_t$", r"$w_{ci}$", r"$w_{cf}$", r"$w_{co}$"], absent=[r"$f_t = 1 - i_t$"]),
    "coupled": dict(sigmas=2, ops={TIMES: 3, PLUS: 1, COMPLEMENT: 1}, present=[r"$f_t = 1 - i_t$"],
                    absent=["$f_t$", r"$w_{ci}$"]),
}


@pytest.mark.parametrize("variant", list(viz.LSTM_VARIANTS))
def test_lstm_cell_has_the_states_gates_and_operations_of_its_variant(variant):
    expected = LSTM_EXPECTED[variant]
    ax = viz.draw_lstm_cell(variant)
    labels = texts(ax)
    for label in (r"$c_{t-1}$", r"$c_t$", r"$h_{t-1}$", r"$h_t$", r"$x_t$", r"$i_t$", r"$g_t$", r"$o_t$"):
        assert label in labels, f"{label} missing from the {variant} diagram"
    assert labels.count(SIGMA) == expected["sigmas"]
    assert labels.count(TANH) == 1  # the candidate g_t; the cell's squashing is an operation, "tanh"
    for symbol, count in expected["ops"].items():
        assert labels.count(symbol) == count, f"{variant}: expected {count} x {symbol}"
    assert len(circles(ax)) == sum(expected["ops"].values()) + 1  # + the tanh of the cell
    for label in expected["present"]:
        assert label in labels
    for label in expected["absent"]:
        assert label not in labels
    assert ax.get_title() == viz.LSTM_VARIANTS[variant]


def test_lstm_cell_state_line_is_drawn_thicker_than_the_other_connections():
    ax = viz.draw_lstm_cell()
    widths = sorted({line.get_linewidth() for line in ax.lines})
    assert widths[-1] == viz.STATE_LINE_WIDTH and widths[0] < viz.STATE_LINE_WIDTH
    # The thick segments all lie on the line from c_{t-1} to c_t.
    c_y = position(ax, r"$c_{t-1}$")[1]
    for line in ax.lines:
        if line.get_linewidth() == viz.STATE_LINE_WIDTH:
            assert set(line.get_ydata()) == {c_y}


def test_peepholes_read_the_old_cell_for_input_and_forget_gates_and_the_new_cell_for_the_output_gate():
    ax = viz.draw_lstm_cell("peephole")
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert dashed, "peepholes are drawn dashed"
    forget_x = [c.center[0] for c in circles(ax) if c.center[1] == position(ax, r"$c_{t-1}$")[1]]
    forget_x, add_x = sorted(forget_x)  # the forget multiplication, then the addition
    # The dashed lines for w_ci and w_cf leave the state line before the forget multiplication.
    starts = [line.get_xdata()[0] for line in dashed]
    assert all(x < forget_x for x in starts)
    # w_co's label stands to the right of the addition: it reads c_t.
    assert position(ax, r"$w_{co}$")[0] > add_x


def test_lstm_cell_rejects_an_unknown_variant():
    with pytest.raises(ValueError, match="'forget', 'original', 'peephole', 'coupled'"):
        viz.draw_lstm_cell("vanilla")


def test_lstm_variants_draw_side_by_side_on_given_axes():
    fig, axes = plt.subplots(1, len(viz.LSTM_VARIANTS))
    for ax, variant in zip(axes, viz.LSTM_VARIANTS):
        assert viz.draw_lstm_cell(variant, ax=ax) is ax
    assert [ax.get_title() for ax in fig.axes] == list(viz.LSTM_VARIANTS.values())


# ---------------------------------------------------------------------------------------------
# GRU and MGU
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_cell_has_two_gates_a_candidate_and_the_update(reset_after):
    ax = viz.draw_gru_cell(reset_after=reset_after)
    labels = texts(ax)
    for label in (r"$h_{t-1}$", r"$h_t$", r"$x_t$", r"$r_t$", r"$z_t$", r"$n_t$", r"$W_{hn}$"):
        assert label in labels
    assert labels.count(SIGMA) == 2 and labels.count(TANH) == 1
    assert labels.count(TIMES) == 3 and labels.count(PLUS) == 1 and labels.count(COMPLEMENT) == 1
    assert ax.get_title() == viz.GRU_CONVENTIONS[reset_after]
    assert ("Cho" in ax.get_title()) == (not reset_after)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_cell_puts_the_reset_after_or_before_the_hidden_product(reset_after):
    ax = viz.draw_gru_cell(reset_after=reset_after)
    product_x, product_y = position(ax, r"$W_{hn}$")
    # The reset multiplication is the operation in the same column as W_hn.
    (reset_y,) = [c.center[1] for c in circles(ax) if c.center[0] == product_x]
    # Signals flow upwards: "after the product" means above it.
    assert (reset_y > product_y) == reset_after


def test_mgu_cell_has_one_gate_that_resets_before_the_product():
    ax = viz.draw_mgu_cell()
    labels = texts(ax)
    for label in (r"$h_{t-1}$", r"$h_t$", r"$x_t$", r"$f_t$", r"$n_t$", r"$W_{hn}$"):
        assert label in labels
    for label in (r"$r_t$", r"$z_t$"):
        assert label not in labels
    assert labels.count(SIGMA) == 1 and labels.count(TANH) == 1
    assert labels.count(TIMES) == 3 and labels.count(COMPLEMENT) == 1
    product_x, product_y = position(ax, r"$W_{hn}$")
    (reset_y,) = [c.center[1] for c in circles(ax) if c.center[0] == product_x]
    assert reset_y < product_y  # Zhou et al. reset h_{t-1} before the product, like Cho et al.
    assert "MGU" in ax.get_title()


@pytest.mark.parametrize("reset_after", [1, 0, "True", None])
def test_gru_cell_rejects_a_non_bool_reset_after(reset_after):
    with pytest.raises(ValueError, match="reset_after"):
        viz.draw_gru_cell(reset_after=reset_after)


# ---------------------------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------------------------


def test_plot_gradient_norms_uses_a_log_axis_and_skips_zeros():
    norms = {"tanh RNN": torch.tensor([1e-8, 1e-4, 0.0, 1.0]), "LSTM": [0.1, 0.2, 0.3, 0.4]}
    ax = viz.plot_gradient_norms(norms, title="gradients")
    assert ax.get_yscale() == "log"
    assert [line.get_label() for line in ax.lines] == ["tanh RNN", "LSTM"]
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3, 4]
    ys = list(ax.lines[0].get_ydata())
    assert ys[2] != ys[2]  # NaN: a zero cannot be drawn on a log axis
    assert ax.get_title() == "gradients"


@pytest.mark.parametrize("log", [False, True])
def test_plot_learning_curves_draws_one_line_per_model_and_the_baseline(log):
    histories = {
        "RNN": History(train_loss=[0.2, 0.18], val_loss=[0.17, 0.17]),
        "LSTM": History(train_loss=[0.2, 0.05]),  # no validation: the training loss is drawn
    }
    ax = viz.plot_learning_curves(histories, baseline=1 / 6, log=log)
    assert [line.get_label() for line in ax.lines] == ["RNN", "LSTM", "baseline"]
    assert list(ax.lines[0].get_ydata()) == [0.17, 0.17]
    assert list(ax.lines[1].get_ydata()) == [0.2, 0.05]
    assert list(ax.lines[2].get_ydata()) == [1 / 6, 1 / 6]
    assert ax.get_yscale() == ("log" if log else "linear")


@pytest.mark.parametrize("variant, gate", [("forget", "f"), ("forget", "o"), ("coupled", "i"), ("original", "g")])
def test_lstm_cell_highlights_exactly_the_named_gate(variant, gate):
    ax = viz.draw_lstm_cell(variant, highlight=gate)
    outlined = [patch for patch in ax.patches if matplotlib.colors.same_color(patch.get_edgecolor(), viz.HIGHLIGHT)]
    assert len(outlined) == 1
    # The gate's name labels the arrow that leaves it, right above the outlined box.
    box = outlined[0].get_bbox()
    label_x = position(ax, {"f": "$f_t$", "i": "$i_t$", "g": "$g_t$", "o": "$o_t$"}[gate])[0]
    assert box.x0 - 0.5 < label_x < box.x1 + 0.8


@pytest.mark.parametrize("variant, gate", [("original", "f"), ("coupled", "f"), ("forget", "c")])
def test_lstm_cell_refuses_to_highlight_a_gate_the_variant_lacks(variant, gate):
    with pytest.raises(ValueError, match="highlight"):
        viz.draw_lstm_cell(variant, highlight=gate)


@pytest.mark.parametrize("draw, gates", [(viz.draw_gru_cell, ("r", "z", "n")), (viz.draw_mgu_cell, ("f", "n"))])
def test_single_state_cells_outline_exactly_the_highlighted_gate(draw, gates):
    from matplotlib.colors import to_rgba
    for gate in gates:
        ax = draw(highlight=gate)
        outlined = [p for p in ax.patches if p.get_edgecolor() == to_rgba(viz.HIGHLIGHT)]
        assert len(outlined) == 1, f"{gate}: expected one outlined box, found {len(outlined)}"
    with pytest.raises(ValueError, match="highlight"):
        draw(highlight="o")
