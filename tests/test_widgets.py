"""The widgets driven without a browser: their methods stand in for clicks and key presses.

The jupyter-bbox-widget's own Submit/Skip (Enter/Space in the browser) arrive as custom
messages; ``press`` sends the same message, so the callback path is exercised too.
"""

from __future__ import annotations

import numpy as np
import pytest
from fakes import BOX, fake_prediction, fake_simulation_result

from microlab.errors import AnnotationError
from microlab.project import Project
from microlab.widgets import Annotator, Dashboard, Review
from microlab.widgets._common import (
    DEBOUNCE_S,
    bbox_widget_to_boxes,
    boxes_to_bbox_widget,
    describe_kinds,
    encode_image,
)


def press(widget, key: str) -> None:
    """What the browser sends when a person presses Enter ("submit") or Space ("skip")."""
    widget.bbox._handle_custom_msg({"type": key}, [])


class FakeClock:
    """The widgets' debounce clock, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def settle(self) -> None:
        """As if a person waited long enough after a new frame appeared."""
        self.now += DEBOUNCE_S + 0.05


def reopen(project: Project) -> Project:
    """A second connection to the project file: sees only what was committed."""
    return Project.open(project.path)


# ---------------------------------------------------------------------- conversions
def test_box_conversions_round_trip(project: Project) -> None:
    project.draw_box(0, BOX)
    shown = boxes_to_bbox_widget(project.label(0).boxes, project.classes)
    assert shown == [{"x": 10.0, "y": 10.0, "width": 30.0, "height": 40.0, "label": "object"}]
    assert bbox_widget_to_boxes(shown) == [{"xyxy": list(BOX), "label": "object"}]


def test_box_dragged_up_left_has_positive_size() -> None:
    drawn = [{"x": 40, "y": 50, "width": -30, "height": -40, "label": "object"}]
    assert bbox_widget_to_boxes(drawn) == [{"xyxy": [10.0, 10.0, 40.0, 50.0], "label": "object"}]


def test_malformed_drawn_box_names_itself() -> None:
    with pytest.raises(AnnotationError, match="numeric x, y, width and height"):
        bbox_widget_to_boxes([{"x": 1, "y": 2}])


@pytest.mark.parametrize(
    ("kinds", "text"),
    [(("accept",), "accepted"), (("draw", "draw"), "2 boxes drawn"),
     (("correct", "delete"), "1 correction, 1 box deleted")],
)
def test_describe_kinds(kinds: tuple[str, ...], text: str) -> None:
    assert describe_kinds(kinds) == text


def test_encode_image_is_jpeg_or_png() -> None:
    image = np.zeros((8, 8, 3), np.uint8)
    assert encode_image(image)[:2] == b"\xff\xd8"
    assert encode_image(image, fmt="png")[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="jpeg' or 'png"):
        encode_image(image, fmt="gif")


# ---------------------------------------------------------------------- annotator
def test_annotator_defaults_to_the_samplers_frames(project: Project) -> None:
    annotator = Annotator(project, k=3)
    assert annotator.frames == project.initial_frames(3)
    assert "frame 1 of 3" in annotator.header.value
    assert annotator.bbox.image_bytes[:2] == b"\xff\xd8"


def test_annotator_submit_is_committed_before_it_moves_on(project: Project) -> None:
    annotator = Annotator(project, frames=[2, 5])
    result = annotator.submit([BOX])
    assert result.kinds == ("draw",)
    assert result.actions == 1
    with reopen(project) as other:  # committed: another connection sees it
        assert [b.xyxy for b in other.label(2).boxes] == [BOX]
    assert annotator.frame == 5
    assert annotator.status.level == "success"
    assert "Saved frame 2" in annotator.status.text
    assert "frame 2 of 2" in annotator.header.value
    assert "1 action so far" in annotator.header.value


def test_annotator_enter_in_the_browser_submits_the_drawn_box(project: Project) -> None:
    clock = FakeClock()
    annotator = Annotator(project, frames=[1, 3], clock=clock)
    clock.settle()
    annotator.bbox.bboxes = [{"x": 10, "y": 10, "width": 30, "height": 40, "label": "object"}]
    press(annotator, "submit")
    assert [b.xyxy for b in project.label(1).boxes] == [BOX]
    assert annotator.frame == 3


def test_a_second_enter_right_after_the_frame_changed_is_ignored(project: Project) -> None:
    clock = FakeClock()
    annotator = Annotator(project, frames=[1, 3, 4], clock=clock)
    clock.settle()
    annotator.boxes = [BOX]
    press(annotator, "submit")
    press(annotator, "submit")  # the same key pressed twice: must not mark frame 3 absent
    assert annotator.frame == 3
    assert not project.label(3).verified
    assert "Ignored" in annotator.status.text


def test_space_skips_without_actions(project: Project) -> None:
    clock = FakeClock()
    annotator = Annotator(project, frames=[1, 3], clock=clock)
    clock.settle()
    press(annotator, "skip")
    assert annotator.frame == 3
    assert project.action_totals() == {"actions": 0, "frames_viewed": 1}
    assert not project.label(1).verified


def test_absent_back_and_free_resubmit(project: Project) -> None:
    annotator = Annotator(project, frames=[1, 3])
    annotator.mark_absent()
    assert project.label(1).verified
    assert project.label(1).absent
    annotator.back()
    assert annotator.frame == 1
    assert annotator.boxes == []
    assert annotator.submit().kinds == ("skip",)  # nothing changed: no action
    assert project.action_totals()["actions"] == 1
    annotator.submit([BOX])
    assert annotator.done
    assert "all 2 frames done" in annotator.header.value
    with pytest.raises(RuntimeError, match="all 2 frames are done"):
        annotator.submit()


def test_engine_errors_show_in_the_status_and_keep_the_frame(project: Project) -> None:
    annotator = Annotator(project, frames=[1, 3])
    with pytest.raises(AnnotationError, match="outside the 96x64 image"):
        annotator.submit([(10, 10, 500, 50)])
    assert annotator.status.level == "error"
    assert "AnnotationError" in annotator.status.text
    assert "outside the 96x64 image" in annotator.status.widget.value
    assert annotator.frame == 1
    assert not project.label(1).verified


def test_errors_from_a_key_press_are_shown_not_raised(project: Project) -> None:
    clock = FakeClock()
    annotator = Annotator(project, frames=[1], clock=clock)
    clock.settle()
    annotator.bbox.bboxes = [{"x": 10, "y": 10, "width": 500, "height": 40, "label": "object"}]
    press(annotator, "submit")  # must not raise inside the comm callback
    assert annotator.status.level == "error"
    assert annotator.frame == 1


def test_unknown_class_is_refused(project: Project) -> None:
    annotator = Annotator(project, frames=[1])
    with pytest.raises(AnnotationError, match="unknown class 'dog'"):
        annotator.boxes = [{"xyxy": BOX, "label": "dog"}]
    assert annotator.status.level == "error"


def test_setting_boxes_assigns_a_new_list(project: Project) -> None:
    annotator = Annotator(project, frames=[1])
    before = annotator.bbox.bboxes
    annotator.boxes = [BOX]
    assert annotator.bbox.bboxes is not before
    assert annotator.boxes == [{"xyxy": list(BOX), "label": "object"}]


def test_annotator_with_nothing_left_to_label(project: Project) -> None:
    annotator = Annotator(project, frames=[])
    assert annotator.done
    assert "Nothing to label" in annotator.status.text


def test_annotator_displays_as_its_box(project: Project) -> None:
    annotator = Annotator(project, frames=[1])
    bundle = annotator._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


# ---------------------------------------------------------------------- review
def test_review_shows_model_boxes_scores_and_reason(predicted: Project) -> None:
    review = Review(predicted, frames=[2, 6, 9])
    assert review.boxes == [{"xyxy": list(BOX), "label": "object"}]
    assert "score 0.60 (model)" in review.info.value
    assert "low score" in review.info.value
    assert len(review.filmstrip.children) == 3
    assert review.clip_bar.value.count('title="frame') == 3


def test_review_accept_correct_delete_draw_cost(predicted: Project) -> None:
    review = Review(predicted, frames=[2, 6, 9, 4])
    assert review.accept().actions == 0
    assert review.submit([(22, 12, 52, 52)]).kinds == ("correct",)  # adjusted box
    assert review.submit([]).kinds == ("delete",)  # a false positive
    assert review.submit([BOX]).kinds in (("draw",), ("correct",))
    assert review.done
    assert predicted.action_totals()["actions"] == 1 + 3  # the human frame, then 0 + 1 + 1 + 1
    assert "Batch done" in review.info.value
    assert [b.source for b in predicted.label(2).boxes] == ["model"]  # accepted as is
    assert predicted.label(2).verified


def test_review_unchanged_enter_is_an_accept(predicted: Project) -> None:
    clock = FakeClock()
    review = Review(predicted, frames=[2], clock=clock)
    clock.settle()
    press(review, "submit")
    assert review.results[2].kinds == ("accept",)
    assert predicted.action_totals()["actions"] == 1


def test_review_filmstrip_buttons_jump_and_show_state(predicted: Project) -> None:
    review = Review(predicted, frames=[2, 6, 9])
    review.accept()
    review._film_buttons[9].click()
    assert review.frame == 9
    assert review._film_buttons[2].button_style == "success"
    assert review._film_buttons[9].button_style == "info"


def test_review_default_queue_and_open(predicted: Project) -> None:
    review = Review(predicted, n=2)
    queue = [item.frame for item in predicted.review_queue(2)]
    assert review.frames == queue
    assert 0 not in review.frames  # human frames are not proposed
    review.open(11)
    assert review.frame == 11
    assert review.frames == [*queue, 11]
    assert len(review.filmstrip.children) == len(queue) + 1


def test_review_before_any_prediction_says_so(project: Project) -> None:
    review = Review(project)
    assert review.done
    assert "Nothing to review" in review.status.text


# ---------------------------------------------------------------------- dashboard and plots
def test_dashboard_renders_png_figures_and_verdicts(predicted: Project) -> None:
    dashboard = Dashboard(predicted, interactive=False)
    for view in (dashboard.clip_view, dashboard.progress_view):
        assert view.widget.value[:4] == b"\x89PNG"
        assert len(view.widget.value) > 10_000
    assert "iteration 1" in dashboard.header.value
    assert "continue" in dashboard.verdict_table.value


def test_dashboard_with_truth_shows_correctness(predicted: Project, tmp_path) -> None:
    truth = np.tile(np.array(BOX), (predicted.n_frames, 1))
    dashboard = Dashboard(predicted, truth=truth, interactive=False)
    assert "<th>correct</th>" in dashboard.verdict_table.value
    # Estimates say so; the measured share of confident labels right is beside them.
    assert "coverage" in dashboard.header.value
    assert "(estimated)" in dashboard.header.value
    assert "checked by a person: none yet" in dashboard.header.value
    assert dashboard.reliability_view is not None  # the reliability diagram, with the truth
    assert dashboard.reliability_view.widget.value[:4] == b"\x89PNG"
    assert "reliability" in [p.stem.split("_")[-1] for p in dashboard.save_png(tmp_path)]
    assert Dashboard(predicted, interactive=False).reliability_view is None  # none without
    with pytest.raises(ValueError, match="one xyxy row per frame"):
        Dashboard(predicted, truth=truth[:3], interactive=False)


def test_dashboard_opens_frames_in_review(predicted: Project) -> None:
    dashboard = Dashboard(predicted, interactive=False)
    review = dashboard.open_frame(6)
    assert review.frame == 6
    assert dashboard.review_area.children == (review.ui,)
    dashboard.open_frame(9)
    assert review.frames == [6, 9]
    review.accept()
    assert "2 frames viewed" in dashboard.header.value  # updated when Review records an answer


def test_dashboard_timeline_click_opens_review(predicted: Project) -> None:
    dashboard = Dashboard(predicted, interactive=True)
    assert dashboard.clip_view.canvas is not None

    class Click:
        inaxes = dashboard.clip_fig.axes[1]
        xdata = 8.3

    dashboard._on_clip_click(Click())
    assert dashboard.review is not None
    assert dashboard.review.frame == 8


def test_dashboard_run_iteration_steps_and_redraws(predicted: Project,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from microlab.loop import IterationReport

    def fake_step(progress: bool = True) -> IterationReport:
        it = fake_prediction(predicted, {f: BOX for f in range(1, 12)}, confidence=0.9)
        return IterationReport(it, [], 1.0, 2.0, 1, 1.0, [])

    monkeypatch.setattr(predicted, "step", fake_step)
    dashboard = Dashboard(predicted, interactive=False)
    before = dashboard.clip_view.widget.value
    report = dashboard.run_iteration()
    assert report.iteration == 2
    assert "Iteration 2" in dashboard.status.text
    assert "iteration 2" in dashboard.header.value
    assert dashboard.clip_view.widget.value != before
    assert not dashboard.run_button.disabled


def test_dashboard_shows_a_failed_iteration(predicted: Project,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from microlab.errors import ModelError

    def failing_step(progress: bool = True) -> None:
        raise ModelError("no human boxes yet")

    monkeypatch.setattr(predicted, "step", failing_step)
    dashboard = Dashboard(predicted, interactive=False)
    dashboard.run_button.click()  # from the UI: shown, not raised
    assert dashboard.status.level == "error"
    assert "ModelError: no human boxes yet" in dashboard.status.text
    assert not dashboard.run_button.disabled


def test_dashboard_takes_baselines_from_a_simulation_result(predicted: Project) -> None:
    dashboard = Dashboard(predicted, truth=fake_simulation_result(), interactive=False)
    assert set(dashboard.baselines) == {"interpolation", "tracker"}
    labels = [t.get_text() for ax in dashboard.progress_fig.axes
              for t in ax.get_legend().get_texts()]
    assert any("tracker" in label for label in labels)


# ---------------------------------------------------------------------- engine helpers they use
def test_review_items_carry_doubt_and_reason(predicted: Project) -> None:
    from microlab.errors import FrameIndexError
    from microlab.loop import review_items

    items = review_items(predicted, [6, 0])
    assert [(i.frame, round(i.priority, 2), i.reason) for i in items] == [
        (6, 0.6, "low score"), (0, 0.0, "labelled by a person")]
    with pytest.raises(FrameIndexError, match=r"0\.\.11"):
        review_items(predicted, [12])


# ---------------------------------------------------------------------- scrubber and zoom
def test_scrubber_looks_at_any_frame_and_boxes_it(project: Project) -> None:
    annotator = Annotator(project, frames=[1, 3])
    annotator.scrub_to(7)
    assert annotator.browsing == 7
    assert annotator.frame == 1  # the list is where it was
    assert annotator.scrubber.value == 7
    assert annotator.bbox.view_only  # a look only: drawing here would land on the wrong frame
    assert "looking at clip frame 7" in annotator.header.value
    with pytest.raises(AnnotationError, match="Box this frame"):
        annotator.submit([BOX])
    assert project.action_totals() == {"actions": 0, "frames_viewed": 0}
    annotator.scrub_by(1)
    assert annotator.browsing == 8
    annotator.box_this_frame()
    assert annotator.frames == [8, 1, 3]
    assert annotator.frame == 8
    assert not annotator.bbox.view_only
    annotator.submit([BOX])
    assert [b.xyxy for b in project.label(8).boxes] == [BOX]
    assert annotator.frame == 1


def test_play_moves_the_scrubber_in_the_browser(project: Project) -> None:
    annotator = Annotator(project, frames=[1, 3])
    link = annotator._play_link
    assert link.source == (annotator.play, "value")
    assert link.target == (annotator.scrubber, "value")
    assert (annotator.play.min, annotator.play.max) == (0, project.n_frames - 1)
    assert any(annotator.play in getattr(row, "children", ()) for row in annotator.ui.children)
    annotator.scrubber.value = 4  # a tick of Play moves the slider: a look at that frame
    assert annotator.browsing == 4


def test_scrubber_slider_and_back(project: Project) -> None:
    annotator = Annotator(project, frames=[1, 3])
    annotator.scrubber.value = 10  # what dragging the slider in the browser does
    assert annotator.browsing == 10
    annotator.back()  # back from the look, to the list's frame
    assert annotator.browsing is None
    assert annotator.frame == 1
    assert annotator.scrubber.value == 1
    annotator.scrub_to(1)  # the list's current frame is shown as itself, open for drawing
    assert annotator.browsing is None
    assert not annotator.bbox.view_only
    with pytest.raises(AnnotationError, match="out of range"):
        annotator.scrub_to(12)
    with pytest.raises(AnnotationError, match="must be an int"):
        annotator.scrub_to(True)
    assert annotator.status.level == "error"  # shown in the widget too
    assert annotator.frame == 1


def test_review_box_this_frame_joins_the_batch(predicted: Project) -> None:
    review = Review(predicted, frames=[2, 6])
    review.scrub_to(11)
    review.box_this_frame()
    assert review.frame == 11
    assert review.frames == [2, 6, 11]
    assert len(review.filmstrip.children) == 3


def test_zoomed_boxes_are_stored_in_frame_pixels(project: Project) -> None:
    annotator = Annotator(project, frames=[2, 4])
    small = (60.0, 30.0, 66.0, 42.0)  # 6x12 px in a 96x64 frame
    annotator.zoom(4, centre=(63, 36))
    assert annotator.view.factor == 4
    assert annotator.zoom_buttons.value == 4
    assert "zoom 4x" in annotator.header.value
    x0, y0 = annotator.view.x, annotator.view.y
    # What a drag on the enlarged crop sends: view pixels, 4x the frame's.
    annotator.bbox.bboxes = [{"x": (small[0] - x0) * 4, "y": (small[1] - y0) * 4,
                              "width": 24, "height": 48, "label": "object"}]
    assert annotator.boxes == [{"xyxy": list(small), "label": "object"}]
    annotator.submit()
    assert [b.xyxy for b in project.label(2).boxes] == [small]


def test_zoom_keeps_boxes_outside_the_view(project: Project) -> None:
    project.draw_box(5, BOX)
    project.draw_box(5, (70, 40, 90, 60))
    annotator = Annotator(project, frames=[5])
    annotator.zoom(4, centre=(80, 50))
    assert len(annotator.bbox.bboxes) == 1  # only the box near (80, 50) is drawn
    assert sorted(b["xyxy"][0] for b in annotator.boxes) == [10.0, 70.0]  # none is lost
    assert annotator.submit().kinds == ("skip",)  # unchanged: no action, nothing deleted
    assert len(project.label(5).boxes) == 2


def test_zoom_follows_the_object_and_pans(project: Project) -> None:
    project.draw_box(0, (70, 40, 90, 60))
    annotator = Annotator(project, frames=[1, 2])
    annotator.zoom(2)  # no box on frame 1: centred on the nearest human box (frame 0)
    cx, cy = annotator.view.centre(project.frame_size)
    assert (cx, cy) == pytest.approx((72, 48))  # (80, 50), kept inside the frame
    annotator.pan(-0.5, 0)
    assert annotator.view.x == pytest.approx(annotator.view.size(project.frame_size)[0] * 0.5,
                                             abs=1)
    annotator.zoom(1)
    assert (annotator.view.x, annotator.view.y) == (0, 0)
    with pytest.raises(AnnotationError, match="zoom must be one of"):
        annotator.zoom(5)


def test_annotator_looks_for_the_object_in_unseen_shots_while_no_box_exists(
        project: Project) -> None:
    annotator = Annotator(project, k=2)
    first = list(annotator.frames)
    annotator.mark_absent()
    annotator.mark_absent()  # every proposed frame was absent: more are proposed
    assert not annotator.done
    assert len(annotator.frames) > 2
    assert not set(annotator.frames[2:]) & set(first)
    assert "No box yet" in annotator.status.text
    annotator.submit([BOX])  # a box exists now: the list ends as planned
    while not annotator.done:
        annotator.skip()
    assert project.has_boxes()


def test_training_without_a_box_says_where_to_find_frames(project: Project) -> None:
    from microlab.errors import ModelError

    project.mark_absent(0)
    with pytest.raises(ModelError, match=r"search_frames\(\)"):
        project.train(progress=False)


def test_with_tracks_each_label_names_an_object_and_new_boxes_get_a_proposed_one(project) -> None:
    project.draw_box(0, (5, 5, 25, 25), track=1)
    project.draw_box(0, (60, 5, 80, 25), track=2)
    annotator = Annotator(project, [1])
    assert annotator.tracks  # the project has tracks: labels name objects
    assert annotator.bbox.classes == ["object", "object #1", "object #2"]
    # frame 1: one box drawn without an identity near track 2, one named explicitly
    result = annotator.submit([{"xyxy": (61, 5, 81, 25), "label": "object"},
                               {"xyxy": (6, 5, 26, 25), "label": "object #1"}])
    assert result.kinds == ("draw", "draw")
    tracks = sorted((b.xyxy[0], b.track_id) for b in project.label(1).boxes)
    assert tracks == [(6.0, 1), (61.0, 2)]
    assert "track 2" in annotator.status.text
    # shown again, the drawing's labels carry the tracks
    annotator.go_to(1)
    assert sorted(b["label"] for b in annotator.bbox.bboxes) == ["object #1", "object #2"]
    # a far-away box becomes a new object, offered in the label list from then on
    annotator.submit([*annotator.boxes, {"xyxy": (40, 40, 50, 55), "label": "object"}])
    assert sorted(b.track_id for b in project.label(1).boxes) == [1, 2, 3]
    assert annotator.bbox.classes[-1] == "object #3"


def test_unticking_every_object_is_boxed_saves_a_partly_boxed_frame(project) -> None:
    from microlab.boxes import Detections

    one_object = Annotator(project, [3])  # no tracks: one object per frame, always complete
    assert one_object.complete_box not in one_object.ui.children[-2].children
    project.draw_box(0, (5, 5, 25, 25), track=1)
    annotator = Annotator(project, [1, 2])
    assert annotator.complete_box in annotator.ui.children[-2].children  # with tracks only
    annotator.complete_box.value = False  # two more objects there; boxed later
    annotator.submit([{"xyxy": (6, 5, 26, 25), "label": "object #1"}])
    assert project.partial_frames() == [1]
    assert annotator.complete_box.value  # the next frame starts ticked (it is not partial)
    annotator.go_to(1)
    assert not annotator.complete_box.value  # shown again: as saved
    # In review every box is on show: the box starts ticked, and a submit completes the frame.
    project.store.write_predictions({1: Detections([[60, 5, 80, 25]], scores=[0.8],
                                                   track_ids=[2])}, model_version=None)
    review = Review(project, [1])
    assert review.complete_box.value
    review.submit(review.boxes)
    assert project.partial_frames() == []
    assert len(project.label(1).boxes) == 2


def test_dashboard_of_several_objects_scores_identities_and_drives_the_given_loop(
        small_clip, tmp_path) -> None:
    """A MOT clip as the truth: the header says how many boxes are right with their identity;
    "Run next iteration" and the review queue come from the loop passed in."""
    from microlab.boxes import Detections, Source
    from microlab.multi.clip import MultiClip, load_multi_clip
    from microlab.widgets.dashboard import Dashboard as DashboardWidget

    n = len(small_clip)
    folder = tmp_path / "mot"
    folder.mkdir()
    (folder / "img").symlink_to(small_clip.path)
    rows = [f"{f + 1},{t},{x},5,20,20,1,1,1\n" for f in range(n) for t, x in ((1, 5), (2, 60))]
    (folder / "gt.txt").write_text("".join(rows))
    clip = load_multi_clip(folder)
    project = Project.open(tmp_path / "multi.mlab", video=small_clip.path)
    project.draw_box(0, (5, 5, 25, 25), track=1)
    project.draw_box(0, (60, 5, 80, 25), track=2)
    # machine boxes: track 1 right everywhere, track 2 swapped onto object 1's place on frame 3
    machine = {}
    for f in range(1, n):
        second = (5, 5, 25, 25) if f == 3 else (60, 5, 80, 25)
        machine[f] = Detections(np.array([(5, 5, 25, 25), second], float), np.array([0.9, 0.8]),
                                track_ids=np.array([1, 2]), sources=[Source.MODEL] * 2)
    project.store.write_predictions({f: d for f, d in machine.items()}, model_version=None)
    project.store.start_iteration(model_versions=[], train_s=1.0, predict_s=1.0, stats={})

    class Loop:
        steps = 0

        def step(self, project, *, progress=True):
            self.steps += 1
            from microlab.multi.loop import MultiReport

            return MultiReport(project.iteration + 1, 1, 2, 2.0, 1.0, 1.0)

        def review_queue(self, project):
            from microlab.sampling import ReviewItem

            return [ReviewItem(3, 0.9, "identity switch? track 2")]

    loop = Loop()
    dashboard = DashboardWidget(project, truth=clip, loop=loop, interactive=False)
    assert "right with their identity" in dashboard.header.value
    assert dashboard.track_fig is not None  # one row per track
    review = dashboard.open_review()
    assert review.frames == [3]
    dashboard.run_iteration()
    assert loop.steps == 1
    assert "Iteration" in dashboard.status.text
    short = MultiClip(clip.name, clip.frames, clip.truth[:2], clip.classes)
    with pytest.raises(AnnotationError, match="pass the clip the project"):
        DashboardWidget(project, truth=short, interactive=False)
    project.close()
