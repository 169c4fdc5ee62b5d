"""The Tagger and TagDashboard driven without a browser: methods stand in for clicks, and
``keys`` sends the message the browser sends for a key press.

The projects train the fast nearest-colour fake (tests/fakes.py), so a step takes milliseconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fakes import nearest_colour_trainer

import microlab as ml
from microlab.datasets import demo_tag_clip
from microlab.errors import AnnotationError, FrameIndexError, StateError
from microlab.store import Store
from microlab.tagging import TagClip, TagProject
from microlab.widgets import TagDashboard, Tagger
from microlab.widgets._common import DEBOUNCE_S


class FakeClock:
    """The widgets' debounce clock, moved by the test instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def settle(self) -> None:
        self.now += DEBOUNCE_S + 0.05


def keys(tagger: Tagger, *pressed: str, clock: FakeClock | None = None) -> None:
    """What the browser sends when a person presses keys on the frame (a pause before each)."""
    for key in pressed:
        if clock is not None:
            clock.settle()
        tagger.surface._handle_custom_msg({"type": "key", "key": key}, [])


@pytest.fixture(scope="module")
def tag_clip(tmp_path_factory: pytest.TempPathFactory) -> TagClip:
    return demo_tag_clip(tmp_path_factory.mktemp("tagclip") / "demo", n_frames=120)


@pytest.fixture
def project(tag_clip: TagClip, tmp_path: Path):
    with TagProject.open(tmp_path / "tags.mlab", video=tag_clip.frames.path,
                         classes=list(tag_clip.classes), trainer=nearest_colour_trainer) as p:
        yield p


@pytest.fixture
def multi(tag_clip: TagClip, tmp_path: Path):
    with TagProject.open(tmp_path / "multi.mlab", video=tag_clip.frames.path,
                         classes=list(tag_clip.classes), multi_label=True,
                         trainer=nearest_colour_trainer) as p:
        yield p


def tag_first_frames(project: TagProject, truth: np.ndarray) -> None:
    for f in project.initial_frames():
        project.tag(f, int(truth[f]))


def test_the_tagger_shows_the_first_frames_and_a_key_per_class(project) -> None:
    expected = project.initial_frames()
    tagger = Tagger(project)
    assert tagger.frames == expected
    assert tagger.mode == "first frames"
    assert [b.description for b in tagger.class_buttons] == ["1 meadow", "2 beach", "3 harbour"]
    assert tagger.surface.image[:2] == b"\xff\xd8"  # the frame, as JPEG
    assert "frame 1 of 5" in tagger.header.value
    assert "No machine tag yet" in tagger.info.value
    assert "application/vnd.jupyter.widget-view+json" in tagger._repr_mimebundle_()


def test_a_key_press_tags_the_frame_committed_before_the_status_says_so(project) -> None:
    clock = FakeClock()
    tagger = Tagger(project, frames=[57, 80], clock=clock)
    seen_when_saved = []
    say = tagger.status.success

    def success(text: str) -> None:
        with Store.open(project.path) as other:  # another connection: only what is committed
            seen_when_saved.append([(r.frame, r.kind, r.classes, r.cost) for r in other.tag_log()])
        say(text)

    tagger.status.success = success
    keys(tagger, "2", clock=clock)
    assert seen_when_saved == [[(57, "tag", (1,), 1)]]
    assert tagger.status.text == "Saved frame 57: beach (1 action)."
    assert tagger.status.level == "success"
    assert tagger.frame == 80  # moved on
    assert project.human_tags() == {57: (1,)}
    assert project.action_totals() == {"actions": 1, "frames_viewed": 1}
    assert "1 action so far (1 here)" in tagger.header.value


def test_a_class_button_tags_the_frame(project) -> None:
    clock = FakeClock()
    tagger = Tagger(project, frames=[10, 11], clock=clock)
    clock.settle()
    tagger.class_buttons[2].click()
    assert project.human_tags() == {10: (2,)}
    assert tagger.status.text.startswith("Saved frame 10: harbour (1 action)")
    tagger.tag("meadow")  # by name from code
    assert project.human_tags() == {10: (2,), 11: (0,)}
    assert tagger.done
    assert "All 2 frames done" in tagger.status.text


def test_a_second_key_right_after_the_frame_changed_is_ignored(project) -> None:
    clock = FakeClock()
    tagger = Tagger(project, frames=[10, 11], clock=clock)
    keys(tagger, "1", clock=clock)
    keys(tagger, "1")  # pressed again at once: must not tag frame 11 unseen
    assert project.human_tags() == {10: (0,)}
    assert "Ignored" in tagger.status.text


def test_unknown_class_keys_and_tags_are_refused_naming_the_classes(project) -> None:
    clock = FakeClock()
    tagger = Tagger(project, frames=[10], clock=clock)
    with pytest.raises(AnnotationError, match="key 7 is not a class key"):
        tagger.press("7")
    assert tagger.status.level == "error"
    assert "1 meadow, 2 beach, 3 harbour" in tagger.status.text
    keys(tagger, "0", clock=clock)  # from the browser: shown, not raised into the comm
    assert tagger.status.level == "error"
    assert "key 0 is not a class key" in tagger.status.text
    with pytest.raises(AnnotationError, match="unknown tag 'dog'"):
        tagger.tag("dog")  # the engine's own message, in the status line too
    assert "['meadow', 'beach', 'harbour']" in tagger.status.text
    assert project.tag_log() == []
    assert tagger.frame == 10


def test_enter_before_any_prediction_shows_the_engines_error(project) -> None:
    clock = FakeClock()
    tagger = Tagger(project, frames=[10], clock=clock)
    keys(tagger, "Enter", clock=clock)
    assert tagger.status.level == "error"
    assert "StateError: frame 10 has no machine tag to accept yet" in tagger.status.text
    with pytest.raises(StateError, match="no machine tag"):
        tagger.accept()
    assert project.tag_log() == []


def test_navigation_records_nothing(project) -> None:
    clock = FakeClock()
    tagger = Tagger(project, frames=[10, 40, 70], clock=clock)
    keys(tagger, "ArrowRight", "ArrowRight", clock=clock)
    assert tagger.frame == 70
    keys(tagger, "ArrowLeft")  # navigation is not debounced
    assert tagger.frame == 40
    tagger.previous()
    tagger.previous()
    assert tagger.frame == 10
    assert "first frame of the list" in tagger.status.text
    tagger.next()
    assert tagger.frame == 40
    # Any clip frame: the scrubber, the filmstrip, go(); a class key then tags it.
    tagger.go(43)
    assert tagger.browsing
    assert "looking at clip frame 43 of 120" in tagger.header.value
    assert tagger.scrubber.value == 43
    tagger.scrub_by(1)
    assert tagger.frame == 44
    tagger.scrubber.value = 50
    assert tagger.frame == 50
    cells = {c[3].description: c for c in tagger._film}
    assert set(cells) == {str(f) for f in range(46, 55)}  # neighbours, 4 on each side
    assert cells["50"][0].layout.border == "3px solid #111"  # the frame on show
    assert cells["50"][3].button_style == "info"
    cells["52"][3].click()
    assert tagger.frame == 52
    tagger.next()  # back to the list's frame
    assert tagger.frame == 40
    tagger.go(70)  # a frame of the list: the place moves there
    assert tagger.position == 2
    with pytest.raises(FrameIndexError, match="out of range"):
        tagger.go(500)
    assert project.tag_log() == []
    assert project.action_totals() == {"actions": 0, "frames_viewed": 0}


def test_a_frame_looked_at_gets_tagged_then_the_list_resumes(project) -> None:
    tagger = Tagger(project, frames=[10, 40])
    tagger.go(12)
    tagger.tag(0)
    assert project.human_tags() == {12: (0,)}
    assert tagger.frame == 10  # the list's frame, not skipped
    bars = {c[3].description: c[2].value for c in tagger._film}
    assert "&#10003; meadow" in bars["12"]  # the filmstrip shows the new tag
    tagger.go(12)
    assert tagger.class_buttons[0].icon == "check"
    tagger.tag(0)  # the same tag again: nothing to record
    assert "already tagged meadow" in tagger.status.text
    assert len(project.tag_log()) == 1


def test_multi_label_keys_toggle_and_enter_saves(multi) -> None:
    clock = FakeClock()
    tagger = Tagger(multi, frames=[5, 6], clock=clock)
    assert [b.description for b in tagger.class_buttons] == ["1 meadow", "2 beach", "3 harbour"]
    assert tagger.save_button in tagger.ui.children[5].children
    keys(tagger, "1", "3", clock=clock)
    assert tagger.selected == {0, 2}
    assert [b.icon for b in tagger.class_buttons] == ["check-square", "square-o", "check-square"]
    assert multi.tag_log() == []  # toggles record nothing
    keys(tagger, "3", "Enter", clock=clock)
    assert multi.human_tags() == {5: (0,)}
    assert tagger.status.text == "Saved frame 5: meadow (1 action)."
    tagger.toggle("beach")
    clock.settle()
    tagger.class_buttons[2].click()
    clock.settle()
    tagger.save_button.click()
    assert multi.human_tags() == {5: (0,), 6: (1, 2)}
    assert multi.action_totals()["actions"] == 2
    assert tagger.done


def test_multi_label_review_preselects_the_machines_tags(multi, tag_clip) -> None:
    for f in multi.initial_frames():
        multi.tag(f, [int(tag_clip.tags[f])])
    multi.step(progress=False)
    clock = FakeClock()
    tagger = Tagger(multi, clock=clock)
    frame = tagger.frame
    shown = tuple(int(c) for c in np.flatnonzero(multi.prediction()["tags"][frame]))
    assert tagger.mode == "review"
    assert tagger.selected == set(shown)
    keys(tagger, "Enter", clock=clock)  # unchanged: an accept, 0 actions
    assert multi.tag_log()[-1].kind == "accept"
    assert multi.human_tags()[frame] == shown
    assert multi.action_totals()["actions"] == 5
    assert "(accepted, 0 actions)" in tagger.status.text


def test_toggle_and_save_are_for_multi_label_projects(project) -> None:
    tagger = Tagger(project, frames=[5])
    with pytest.raises(AnnotationError, match="toggle\\(\\) is for multi-label"):
        tagger.toggle("beach")
    with pytest.raises(AnnotationError, match="one tag per frame"):
        tagger.save()
    with pytest.raises(AnnotationError, match="exactly one tag per frame"):
        tagger.tag(["meadow", "beach"])
    assert project.tag_log() == []


def test_first_frames_then_the_review_queue_after_a_step(project, tag_clip) -> None:
    truth = tag_clip.tags
    clock = FakeClock()
    tagger = Tagger(project, clock=clock)
    first = list(tagger.frames)
    for f in first:
        keys(tagger, str(truth[f] + 1), clock=clock)
    assert tagger.done
    assert "project.step()" in tagger.status.text
    assert project.human_tags() == {f: (int(truth[f]),) for f in first}
    assert project.action_totals() == {"actions": 5, "frames_viewed": 5}

    project.step(progress=False)
    expected = project.review_queue()
    keys(tagger, "ArrowRight", clock=clock)  # at the end: the next batch
    assert tagger.mode == "review"
    assert tagger.frames == [item.frame for item in expected]
    assert not set(tagger.frames) & set(first)
    frame = tagger.frame
    machine = int(project.prediction()["tags"][frame])
    confidence = float(project.prediction()["confidence"][frame])
    # The machine's tag preselected, with its confidence and why the frame is here.
    assert f"Machine tag: <b>{tag_clip.classes[machine]}</b>" in tagger.info.value
    assert f"confidence {confidence:.2f}" in tagger.info.value
    assert expected[0].reason in tagger.info.value
    assert tagger.class_buttons[machine].icon == "star"
    assert "review: frame 1 of" in tagger.header.value

    keys(tagger, "Enter", clock=clock)  # accept: 0 actions
    assert project.human_tags()[frame] == (machine,)
    assert project.action_totals() == {"actions": 5, "frames_viewed": 6}
    assert tagger.status.text.startswith(f"Saved frame {frame}: {tag_clip.classes[machine]} "
                                         "(accepted, 0 actions)")
    frame = tagger.frame
    machine = int(project.prediction()["tags"][frame])
    keys(tagger, str(machine + 1), clock=clock)  # the machine's tag by its key: an accept too
    other = (int(project.prediction()["tags"][tagger.frame]) + 1) % 3
    keys(tagger, str(other + 1), clock=clock)  # a different tag: 1 action
    assert project.action_totals() == {"actions": 6, "frames_viewed": 8}
    kinds = [r.kind for r in project.tag_log()]
    assert kinds == ["tag"] * 5 + ["accept", "accept", "tag"]
    assert tagger.session_actions == 6


def test_a_step_while_a_batch_is_open_brings_its_queue_at_the_end(project, tag_clip) -> None:
    tagger = Tagger(project, frames=None, k=2)
    for f in list(tagger.frames):
        tagger.tag(int(tag_clip.tags[f]))
    tagger.previous()  # revisit the last one
    tag_first_frames(project, tag_clip.tags)
    project.step(progress=False)
    tagger.tag(int(tag_clip.tags[tagger.frame]))  # already tagged: nothing new, then the end
    assert tagger.mode == "review"
    assert "Review batch of iteration 1" in tagger.status.text


def test_the_next_batch_before_any_prediction_is_more_first_frames(project) -> None:
    tagger = Tagger(project, frames=[3])
    more = tagger.next_batch()
    assert tagger.mode == "first frames"
    assert more == project.initial_frames()
    assert "to tag first" in tagger.status.text


# ---------------------------------------------------------------------- dashboard
def test_tag_dashboard_before_and_after_a_step(project, tag_clip, tmp_path) -> None:
    dashboard = TagDashboard(project, truth=tag_clip, interactive=False)
    assert "iteration 0" in dashboard.header.value
    assert "No machine tags yet" in dashboard.header.value
    assert dashboard.view.widget.value[:4] == b"\x89PNG"
    dashboard.open_tagger()
    assert dashboard.tagger is not None
    for f in list(dashboard.tagger.frames):
        dashboard.tagger.tag(int(tag_clip.tags[f]))
    assert "5 actions" in dashboard.header.value  # updated by each answer
    report = dashboard.run_iteration()
    assert report.iteration == 1
    text = dashboard.header.value
    assert "iteration 1" in text
    assert "coverage" in text
    assert "(estimated)" in text
    correct = (project.labels().tags == tag_clip.tags).mean()
    assert f"{correct:.1%} measured" in text
    assert "Confident tags checked by a person: none yet" in text
    assert dashboard.status.text.startswith("Iteration 1: trained")
    assert len(dashboard.fig.axes) == 2  # tags and truth
    assert "frames wrong" in dashboard.fig.axes[1].get_title(loc="left")
    tagger = dashboard.open_frame(77)
    assert tagger.frame == 77
    (png,) = [dashboard.save_png(tmp_path)]
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_tag_dashboard_refuses_truth_of_the_wrong_shape(project) -> None:
    with pytest.raises(AnnotationError, match="shape \\(120,\\), but got \\(3,\\)"):
        TagDashboard(project, truth=np.zeros(3, int), interactive=False)
    dashboard = TagDashboard(project, interactive=False)
    assert len(dashboard.fig.axes) == 1  # no truth row


def test_a_failed_step_shows_in_the_dashboard(project) -> None:
    dashboard = TagDashboard(project, interactive=False)
    dashboard.run_button.click()  # nothing tagged: the engine refuses to train
    assert dashboard.status.level == "error"
    assert "ModelError: no tagged frames yet" in dashboard.status.text


def test_the_tag_widgets_and_project_are_exported() -> None:
    assert ml.Tagger is Tagger
    assert ml.TagDashboard is TagDashboard
    assert ml.TagProject is TagProject
