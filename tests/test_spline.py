"""The spline analogy: curves, fits, strategies, the game, the caveat and the bridge to video.

Margins on error curves were measured on 2 CPU cores with the defaults (12 cubic pieces; the
global polynomial picks its degree by leave-one-out up to 47, as many coefficients as the
pieces) and are recorded beside each assertion.
"""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from microlab import datasets, simulation_result, spline
from microlab.errors import MicrolabError
from microlab.sequences import Clip

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO_ROOT / "notebooks" / "spline_analogy.ipynb"
SIMULATION_JSON = REPO_ROOT / "notebooks" / "data" / "spline_demo_simulation.json"


@pytest.fixture
def ax():
    fig, axes = plt.subplots()
    yield axes
    plt.close(fig)


@pytest.fixture(scope="module")
def bumpy_results() -> dict[str, spline.ErrorCurve]:
    return spline.compare_strategies("bumpy", budget=60, seeds=range(3))


# --------------------------------------------------------------------------- curves and fits
def test_registry_lists_the_built_in_curves():
    assert {"smooth", "bumpy", "jump", "runge"} <= set(spline.list_curves())
    for name in spline.list_curves():
        values = spline.get_curve(name)(spline.GRID)
        assert values.shape == spline.GRID.shape
        assert np.isfinite(values).all()


def test_unknown_curve_suggests_a_name():
    with pytest.raises(spline.SplineError, match="did you mean 'bumpy'"):
        spline.get_curve("bumpi")
    assert issubclass(spline.SplineError, MicrolabError)


def test_jump_curve_jumps_at_its_cut():
    jump = spline.get_curve("jump")
    (cut,) = jump.cuts
    assert abs(float(jump(cut + 1e-9)) - float(jump(cut - 1e-9))) > 0.5


@pytest.mark.parametrize("degree", [0, 1, 3, 5])
def test_polynomial_fit_recovers_a_polynomial(degree):
    rng = np.random.default_rng(degree)
    coef = rng.normal(size=degree + 1)
    x = np.linspace(0, 1, 30)
    y = np.polynomial.polynomial.polyval(x, coef)
    fit = spline.fit_polynomial(x, y, degree)
    expected = np.polynomial.polynomial.polyval(spline.GRID, coef)
    np.testing.assert_allclose(fit(spline.GRID), expected, atol=1e-8)


def test_polynomial_degree_by_leave_one_out_finds_a_cubic():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, 25)
    y = 2 * x**3 - x + 0.5 + rng.normal(0, 1e-3, x.size)
    fit = spline.fit_polynomial(x, y, None, max_degree=12)
    assert 3 <= fit.degree <= 5
    assert fit.loo_rms < 5e-3


def test_polynomial_fit_handles_few_and_repeated_labels():
    assert spline.fit_polynomial([], [], None)(0.5) == 0
    one = spline.fit_polynomial([0.3], [2.0], None)
    assert one(0.9) == pytest.approx(2.0)
    same_x = spline.fit_polynomial([0.4, 0.4, 0.4], [1.0, 1.0, 1.0], 2)
    assert same_x(0.4) == pytest.approx(1.0)


def test_pieces_fit_each_segment_and_count_its_labels():
    x = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.8, 0.9])
    fit = spline.fit_pieces(x, 2 * x, segments=2, degree=1)
    assert fit.counts.tolist() == [3, 4]
    np.testing.assert_allclose(fit(spline.GRID), 2 * spline.GRID, atol=1e-9)
    assert fit.segment_of(1.0) == 1


def test_empty_segment_interpolates_between_its_neighbours():
    fit = spline.fit_pieces([0.1, 0.2, 0.8, 0.9], [1.0, 1.0, 3.0, 3.0], segments=3, degree=2)
    assert fit.counts[1] == 0
    assert float(fit(0.5)) == pytest.approx(2.0)  # a straight line from (0.2, 1) to (0.8, 3)


def test_cuts_become_boundaries_where_seams_do_not_count():
    x = np.linspace(0.01, 0.99, 40)
    y = np.where(x < 0.62, 0.0, 1.0)
    plain = spline.fit_pieces(x, y, segments=4, degree=1)
    cut = spline.fit_pieces(x, y, segments=4, degree=1, cuts=[0.62])
    assert 0.62 in cut.edges
    assert np.max(np.abs(cut(spline.GRID) - np.where(spline.GRID < 0.62, 0, 1))) < 1e-9
    assert cut.seam_gaps().max() < 1e-9  # the only jump is at the cut, where it is allowed
    assert plain.estimated_error().max() > 0.1


def test_bad_fit_arguments_are_explained():
    with pytest.raises(spline.SplineError, match="same length"):
        spline.fit_pieces([0.1, 0.2], [1.0])
    with pytest.raises(spline.SplineError, match="segments must be at least 1"):
        spline.segment_edges(0)
    with pytest.raises(spline.SplineError, match="increasing"):
        spline.fit_pieces([0.1], [1.0], edges=[0, 0.5, 0.4, 1])


# --------------------------------------------------------------------------- choosing labels
def test_active_labels_first_spread_over_every_segment():
    run = spline.run_strategy("bumpy", "pieces-active", budget=12, segments=12, degree=3)
    fit = spline.fit_pieces(run.x, run.y, segments=12, degree=3)
    assert fit.counts.tolist() == [1] * 12


def test_active_choice_never_reads_the_hidden_curve():
    # Same labels, different hidden curves elsewhere: the choice depends on the labels only.
    x = np.linspace(0.02, 0.98, 30)
    y = spline.get_curve("bumpy")(x)
    fit = spline.fit_pieces(x, y, segments=6, degree=2)
    assert spline.active_label_x(fit, x) == spline.active_label_x(
        spline.fit_pieces(x.copy(), y.copy(), segments=6, degree=2), x.copy())
    chosen = spline.active_label_x(fit, x)
    estimate = fit.estimated_error()
    # the chosen segment is among the worst-looking ones
    assert estimate[int(fit.segment_of(chosen))] >= np.median(estimate)


def test_runs_repeat_with_a_seed_and_differ_between_seeds():
    a = spline.run_strategy("bumpy", "global-random", budget=20, seed=3)
    b = spline.run_strategy("bumpy", "global-random", budget=20, seed=3)
    c = spline.run_strategy("bumpy", "global-random", budget=20, seed=4)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.rms, b.rms)
    assert not np.array_equal(a.x, c.x)
    active = [spline.run_strategy("jump", "pieces-active", budget=20, seed=s) for s in (0, 1)]
    np.testing.assert_array_equal(active[0].x, active[1].x)  # active choices use no randomness


def test_noisy_labels_are_seeded_too():
    a = spline.run_strategy("smooth", "pieces-active", budget=10, noise=0.05, seed=7)
    b = spline.run_strategy("smooth", "pieces-active", budget=10, noise=0.05, seed=7)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.allclose(a.y, spline.get_curve("smooth")(a.x))


# --------------------------------------------------------------------------- error curves
def test_pieces_need_fewer_labels_than_a_global_polynomial_on_the_bumpy_curve(bumpy_results):
    global_ = bumpy_results["global-random"]
    random_pieces = bumpy_results["pieces-random"]
    active = bumpy_results["pieces-active"]
    # Measured (median of seeds 0-2): to stay under RMS 0.1 active pieces need 25 labels,
    # random pieces 47; the global polynomial never within 60 (it needed 157 with budget 300 and
    # five seeds) and never reaches 0.05 within 300.
    assert spline.labels_to_reach(active, 0.1) <= 32
    assert spline.labels_to_reach(random_pieces, 0.1) <= 55
    assert spline.labels_to_reach(global_, 0.1) is None
    # To stay under 0.05: active 29, random pieces 58, global never.
    assert spline.labels_to_reach(active, 0.05) <= 36
    assert spline.labels_to_reach(global_, 0.05) is None
    # After 60 labels: global 0.161 (0.126-0.488 over seeds), active 0.0098 — 16x apart.
    assert global_.median[-1] > 5 * active.median[-1]
    assert active.median[-1] < 0.02
    # Active beats random pieces at 30 labels: measured 0.049 vs 0.149.
    assert active.median[29] < 0.6 * random_pieces.median[29]


def test_global_polynomial_wins_on_the_smooth_curve():
    # The analogy's limit, shown: measured 9 labels to stay under 0.01 for the global
    # polynomial, 23 for active pieces, random pieces not within 40.
    results = spline.compare_strategies("smooth", budget=40, seeds=range(3))
    assert spline.labels_to_reach(results["global-random"], 0.01) <= 12
    assert spline.labels_to_reach(results["pieces-active"], 0.01) >= 15


def test_a_boundary_at_the_cut_fixes_the_jump_curve():
    # Measured: with the cut as a boundary, 24 active labels stay under 0.05 (0.0022 at 40);
    # without it the straddling piece keeps the error near 0.08.
    with_cut = spline.compare_strategies("jump", ["pieces-active"], budget=40, seeds=[0],
                                         cuts=(spline.JUMP_AT,))
    without = spline.compare_strategies("jump", ["pieces-active"], budget=40, seeds=[0])
    assert spline.labels_to_reach(with_cut["pieces-active"], 0.05) <= 30
    assert spline.labels_to_reach(without["pieces-active"], 0.05) is None
    assert with_cut["pieces-active"].median[-1] < 0.1 * without["pieces-active"].median[-1]


def test_error_curve_carries_cost_per_label():
    results = spline.compare_strategies("runge", ["pieces-active"], budget=5, seeds=[0],
                                        cost_per_label=2.5)
    curve = results["pieces-active"]
    np.testing.assert_allclose(curve.cost, 2.5 * np.arange(1, 6))
    assert curve.rms.shape == (1, 5)


def test_labels_to_reach_needs_the_error_to_stay_below():
    errors = np.array([[0.5, 0.01, 0.2, 0.04, 0.03]])
    curve = spline.ErrorCurve("x", "x", np.arange(1, 6), np.arange(1, 6), errors, ())
    assert spline.labels_to_reach(curve, 0.05) == 4
    assert spline.labels_to_reach(curve, 0.001) is None
    assert spline.labels_to_reach(curve, 1.0) == 1


def test_unknown_or_impossible_strategy_is_explained():
    with pytest.raises(spline.SplineError, match="unknown strategy"):
        spline.run_strategy("bumpy", "oracle")
    with pytest.raises(spline.SplineError, match="active sampling needs model='pieces'"):
        spline.Strategy("global-active", "global, active", "global", "active")
    custom = spline.Strategy("few-pieces", "3 pieces, active", "pieces", "active")
    assert spline.run_strategy("smooth", custom, budget=6, segments=3).x.size == 6


# --------------------------------------------------------------------------- the caveat (1-D)
def test_a_piece_extrapolates_badly_outside_its_region():
    result = spline.extrapolation("bumpy", segment=1, segments=6, degree=2, n_labels=5)
    # Measured: RMS 0.038 inside, 15.6 outside; 0.34 within half a segment width, 37 beyond 4.
    assert result.error_inside < 0.06
    assert result.error_outside > 100 * result.error_inside
    by_distance = list(result.error_by_distance().values())
    assert by_distance == sorted(by_distance)  # worse and worse with distance


# --------------------------------------------------------------------------- the game
def test_game_buy_updates_both_fits():
    game = spline.SplineGame("bumpy", segments=4, degree=2, budget=10)
    game.buy(0.1)
    before_global, before_pieces = game.global_fit, game.pieces_fit
    x, y = game.buy(0.6)
    assert (x, y) == (0.6, pytest.approx(float(spline.get_curve("bumpy")(0.6))))
    assert game.pieces_fit is not before_pieces
    assert game.pieces_fit.counts.tolist() == [1, 0, 1, 0]
    assert not np.allclose(game.global_fit(spline.GRID), before_global(spline.GRID))
    assert len(game.history) == 2
    assert game.spent == 2
    assert game.remaining == 8


def test_game_refuses_labels_outside_the_range_or_the_budget():
    game = spline.SplineGame("smooth", budget=2, cost_per_label=1.0)
    with pytest.raises(spline.SplineError, match=r"x must be in \[0.0, 1.0\]"):
        game.buy(1.5)
    game.buy(0.2)
    game.buy(0.4)
    with pytest.raises(spline.BudgetSpentError, match="budget spent"):
        game.buy(0.6)
    game.configure(budget=3)
    game.buy(0.6)


def test_game_settings_keep_labels_but_a_new_curve_starts_over():
    game = spline.SplineGame("bumpy", segments=4, degree=1, budget=20)
    for x in (0.1, 0.4, 0.7, 0.9):
        game.buy(x)
    game.configure(segments=2, degree=3)
    assert len(game.x) == 4
    assert game.pieces_fit.segments == 2
    game.configure(curve="jump")
    assert game.x == []
    assert game.curve.name == "jump"


def test_game_suggestions_drive_the_error_down():
    game = spline.SplineGame("runge", segments=6, degree=2, budget=40)
    for _ in range(30):
        game.buy(game.suggest())
    _, pieces_error = game.errors()
    assert pieces_error < 0.02  # measured 0.008 after 30 suggested labels


def test_game_plots(ax):
    game = spline.SplineGame("jump", budget=5)
    game.plot(ax)  # no labels yet
    game.buy(0.5)
    game.plot(ax)
    assert "1 labels" in ax.get_title()
    game.plot_history(ax)


# --------------------------------------------------------------------------- the widget
@pytest.fixture
def game_widget():
    pytest.importorskip("ipywidgets")
    from microlab.widgets.spline_game import SplineGameWidget

    widget = SplineGameWidget(curve="bumpy", segments=4, degree=2, budget=3)
    yield widget
    widget.close()


def test_widget_buy_from_code_updates_fits_and_status(game_widget):
    x, _ = game_widget.buy(0.25)
    assert game_widget.game.x == [x]
    assert "bought" in game_widget.status.text
    game_widget.buy_suggested()
    assert len(game_widget.game.x) == 2
    assert game_widget.game.pieces_fit.counts.sum() == 2


def test_widget_click_buys_at_the_clicked_x(game_widget):
    from matplotlib.backend_bases import MouseEvent

    canvas = game_widget.figure.canvas
    px, py = game_widget.ax.transData.transform((0.7, 0.0))
    canvas.callbacks.process("button_press_event",
                             MouseEvent("button_press_event", canvas, px, py, button=1))
    assert game_widget.game.x == [pytest.approx(0.7, abs=1e-6)]
    # a click outside the fit plot buys nothing
    px, py = game_widget.ax_history.transAxes.transform((0.5, 0.5))
    canvas.callbacks.process("button_press_event",
                             MouseEvent("button_press_event", canvas, px, py, button=1))
    assert len(game_widget.game.x) == 1


def test_widget_shows_engine_errors_in_its_status(game_widget):
    for x in (0.1, 0.2, 0.3):
        game_widget.buy(x)
    with pytest.raises(spline.BudgetSpentError):
        game_widget.buy(0.4)
    assert "budget spent" in game_widget.status.text
    assert game_widget.status.level == "error"
    game_widget.suggest_button.click()  # a button has nobody to raise to: status only
    assert "budget spent" in game_widget.status.text
    assert game_widget.status.history[-1] == ("error", game_widget.status.text)


def test_widget_status_escapes_what_it_shows(game_widget):
    with pytest.raises(ValueError, match="could not convert"):
        game_widget.buy("<b>half</b>")
    assert game_widget.status.level == "error"
    assert "&lt;b&gt;half" in game_widget.status.widget.value
    assert "<b>half" not in game_widget.status.widget.value


def test_widget_sliders_refit_the_same_labels(game_widget):
    game_widget.buy(0.1)
    game_widget.buy(0.9)
    game_widget.segments.value = 2
    assert game_widget.game.pieces_fit.segments == 2
    assert len(game_widget.game.x) == 2
    game_widget.budget.value = 10
    assert game_widget.game.budget == 10
    game_widget.curve.value = "smooth"
    assert game_widget.game.x == []
    game_widget.reset_button.click()
    assert "forgotten" in game_widget.status.text


def test_moved_names_are_still_reachable_from_spline():
    assert spline.load_simulation is simulation_result.load_simulation
    assert spline.validate_simulation is simulation_result.validate_simulation
    assert spline.cut_to_close_up is datasets.cut_to_close_up
    assert spline.CloseUpFrames is datasets.CloseUpFrames
    assert set(spline.__all__) <= set(dir(spline))


def test_spline_module_imports_no_widget_library():
    code = ("import sys, microlab.spline; "
            "bad = [m for m in ('ipywidgets', 'torch', 'ipympl') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- bridge to video
def simulation_dict() -> dict:
    """A hand-made result in the schema of `microlab simulate --json` (segment ends inclusive)."""
    def seg(start, end, coverage, correct, actions):
        return {"start": start, "end": end, "coverage": coverage, "correct_frac": correct,
                "actions": actions}

    return {
        "sequence": "hand-made", "n_frames": 120,
        "iterations": [
            {"iteration": 1, "actions": 5, "frames_viewed": 5, "correct_frac": 0.5,
             "correct_frac_iou07": 0.4, "train_s": 10.0, "predict_s": 2.0,
             "segments": [seg(0, 39, 0.6, 0.8, 2), seg(40, 79, 0.2, 0.25, 1),
                          seg(80, 119, 0.5, 0.45, 2)]},
            {"iteration": 2, "actions": 8, "frames_viewed": 15, "correct_frac": 0.9,
             "correct_frac_iou07": 0.8, "train_s": 9.0, "predict_s": 2.0,
             "segments": [seg(0, 39, 0.9, 0.95, 2), seg(40, 79, 0.8, 0.85, 4),
                          seg(80, 119, 0.9, 0.9, 2)]},
        ],
        "final": {"actions_to_95": 12, "actions_to_100": 20, "frames_viewed_to_95": 120,
                  "label_efficiency": 0.83, "labels_per_action": 6.0},
        "baselines": {
            "interpolation": {"actions_to_95": 30, "actions_to_100": 41, "frames_viewed_to_95": 120,
                              "label_efficiency": 0.66, "labels_per_action": 2.9},
            "tracker": {"actions_to_95": 6, "actions_to_100": 9, "frames_viewed_to_95": 120,
                        "label_efficiency": 0.93, "labels_per_action": 13.3},
        },
    }


def test_clip_pieces_read_segments_with_inclusive_ends():
    pieces = spline.clip_pieces(simulation_dict(), iteration=0)
    spans = [(p.start, p.end, p.n_frames) for p in pieces]
    assert spans == [(0, 39, 40), (40, 79, 40), (80, 119, 40)]
    assert pieces[0].iteration == 1
    assert pieces[0].correct_labels == pytest.approx(32)
    assert pieces[0].efficiency == pytest.approx(1 - 2 / 32)
    last = spline.clip_pieces(simulation_dict())
    assert last[1].actions == 4


def test_clip_progress_is_error_against_actions():
    progress = spline.clip_progress(simulation_dict())
    np.testing.assert_allclose(progress["actions"], [5, 8])
    np.testing.assert_allclose(progress["error"], [0.5, 0.1])


def test_clip_plots_render_from_a_schema_dict(ax):
    result = simulation_dict()
    spline.plot_clip_pieces(ax, result, iteration=1)
    assert len(ax.patches) == 2 * 3  # coverage and correct bar per segment
    assert ax.get_xlim() == (0, 120)
    assert "iteration 2" in ax.get_title()
    fig, ax2 = plt.subplots()
    spline.plot_clip_progress(ax2, result)
    labels = [t.get_text() for t in ax2.get_legend().get_texts()]
    assert any("interpolation" in t for t in labels)
    assert any("tracker" in t for t in labels)
    fig.canvas.draw()
    plt.close(fig)


def test_clip_iterations_draw_one_row_per_iteration():
    fig = plt.figure()
    axes = spline.plot_clip_iterations(fig, simulation_dict())
    assert len(axes) == 2
    assert "iteration 1" in axes[0].get_title()
    fig.canvas.draw()
    plt.close(fig)


def test_clip_plots_tolerate_a_result_without_baselines(ax):
    result = simulation_dict()
    del result["baselines"], result["final"]
    spline.plot_clip_progress(ax, result)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["micro-models (one point per iteration)"]  # no baseline, no final marker
    curve, target = ax.get_lines()  # the loop's points and the 5% line, nothing else
    np.testing.assert_allclose(curve.get_xdata(), [5, 8])
    np.testing.assert_allclose(curve.get_ydata(), [0.5, 0.1])
    np.testing.assert_allclose(target.get_ydata(), [0.05, 0.05])
    assert [t.get_text() for t in ax.texts] == ["1", "2"]  # each point names its iteration
    assert ax.get_yscale() == "log"


def test_bad_simulation_results_name_the_missing_key(tmp_path):
    result = simulation_dict()
    del result["iterations"][1]["segments"][2]["coverage"]
    with pytest.raises(spline.SplineError, match=r"iterations\[1\].segments\[2\] lacks 'coverage'"):
        spline.clip_pieces(result)
    path = tmp_path / "sim.json"
    path.write_text(json.dumps({"sequence": "x"}))
    with pytest.raises(spline.SplineError, match="missing key 'n_frames'"):
        simulation_result.load_simulation(path)
    path.write_text("{not json")
    with pytest.raises(spline.SplineError, match="cannot read"):
        simulation_result.load_simulation(path)


def test_the_notebook_simulation_json_follows_the_schema(ax):
    result = simulation_result.load_simulation(SIMULATION_JSON)
    assert result["n_frames"] == sum(p.n_frames for p in spline.clip_pieces(result))
    spline.plot_clip_pieces(ax, result)


# --------------------------------------------------------------------------- the caveat on video
def test_close_up_carries_the_ground_truth_along():
    clip = datasets.demo_clip(n_frames=40, size=(192, 128))
    shot = datasets.cut_to_close_up(clip, 20, zoom=2.0)
    np.testing.assert_array_equal(shot.frames[5], clip.frames[5])
    np.testing.assert_array_equal(shot.ground_truth[:20], clip.ground_truth[:20])
    present = (~np.isnan(shot.ground_truth[20:]).any(axis=1)
               & ~np.isnan(clip.ground_truth[20:]).any(axis=1))
    assert present.any()
    def side(boxes: np.ndarray) -> np.ndarray:
        return np.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))

    ratio = side(shot.ground_truth[20:][present]) / side(clip.ground_truth[20:][present])
    assert np.median(ratio) > 1.6  # twice the size, less what the frame edge cuts off
    assert shot.frames[30].shape == clip.frames[30].shape
    with pytest.raises(spline.SplineError, match="zoom must be 1 or more"):
        datasets.cut_to_close_up(clip, 20, zoom=0.5)


class _FixedModel:
    """A stand-in for a trained micro-model: predicts fixed boxes per frame."""

    def __init__(self, boxes: dict[int, list[list[float]]]) -> None:
        self.boxes = boxes

    def predict(self, frames, indices, *, progress=True):
        from microlab.boxes import Detections

        found = {int(f): Detections(np.asarray(self.boxes.get(int(f), []), float).reshape(-1, 4))
                 for f in indices}
        return types.SimpleNamespace(detections=lambda: found)


def test_score_segments_judges_frames_as_every_label_is_judged():
    box = [10.0, 10.0, 50.0, 50.0]
    absent = [np.nan] * 4
    truth = np.array([box, box, box, absent, absent, box])
    clip = Clip(name="fake", frames=[None] * 6, ground_truth=truth)  # frames are never read
    model = _FixedModel({0: [box],                       # hit
                         1: [[40.0, 40.0, 90.0, 90.0]],  # a box elsewhere
                         4: [box],                       # a box where the object is absent
                         5: [[12.0, 12.0, 52.0, 52.0]]})  # close enough
    # frame 2: no box on a present object; frame 3: no box, object absent
    result = spline.score_segments(model, clip, own=(0, 3), far=(3, 6))
    np.testing.assert_array_equal(result.frames, np.arange(6))
    np.testing.assert_array_equal(result.correct, [True, False, False, True, False, True])
    assert result.iou[0] == pytest.approx(1.0)
    assert result.iou[2] == 0.0
    assert np.isnan(result.iou[[3, 4]]).all()
    assert np.isnan(result.boxes[[2, 3]]).all()
    np.testing.assert_array_equal(result.boxes[4], box)
    trained = spline.score_segments(model, clip, own=(0, 3), far=(3, 6), train_frames=[0, 5])
    np.testing.assert_array_equal(trained.frames, [1, 2, 3, 4])
    with pytest.raises(spline.SplineError, match="far must be"):
        spline.score_segments(model, clip, own=(0, 3), far=(3, 7))


def test_transfer_plots_render_without_training(ax):
    from microlab.datasets import demo_clip

    clip = demo_clip(n_frames=40, size=(192, 128))
    frames = np.array([0, 2, 4, 30, 32, 34])
    truth = clip.ground_truth[frames]
    boxes = truth.copy()
    boxes[3:] = truth[3:] + 40  # the far segment: boxes in the wrong place
    iou = np.array([0.9, 0.8, 0.85, 0.0, 0.1, 0.05])
    result = spline.TransferResult("demo", (0, 10), (30, 40), np.array([1, 5]), frames, iou,
                                   iou >= 0.5, boxes, 1.0)
    summary = result.summary()
    assert summary["own"]["correct_frac"] == 1.0
    assert summary["far"]["correct_frac"] == 0.0
    assert summary["far"]["mean_iou"] == pytest.approx(0.05)
    spline.plot_transfer(ax, result)
    fig, ax2 = plt.subplots()
    spline.plot_transfer_frame(ax2, clip, result, 30)
    assert "IoU 0.00" in ax2.get_title()
    with pytest.raises(spline.SplineError, match="was not scored"):
        spline.plot_transfer_frame(ax2, clip, result, 20)
    plt.close(fig)


# --------------------------------------------------------------------------- the notebook
@pytest.mark.notebook
@pytest.mark.slow
def test_spline_notebook_executes_headless():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, "store the notebook without outputs"
            assert cell.execution_count is None, "store the notebook without execution counts"
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.outputs)
    assert "labels to stay under" in printed
    assert "own" in printed
    assert "far" in printed
