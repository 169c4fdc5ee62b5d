"""TagProject: the verbs, their accounting, the loop with a fast fake model, and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fakes import nearest_colour_trainer

from microlab.datasets import demo_tag_clip
from microlab.errors import AnnotationError, ModelError, StateError, StoreError
from microlab.project import Project
from microlab.store import Store
from microlab.tagging import TagClip, TagProject
from microlab.tagging.project import MODEL, PROPAGATED, evidence_kinds


@pytest.fixture(scope="module")
def tag_clip(tmp_path_factory: pytest.TempPathFactory) -> TagClip:
    return demo_tag_clip(tmp_path_factory.mktemp("tags") / "demo", n_frames=120,
                         size=(96, 64), seed=1)


@pytest.fixture
def tag_project(tag_clip: TagClip, tmp_path: Path):
    with TagProject.open(tmp_path / "t.mlab", video=tag_clip.frames.path,
                         classes=list(tag_clip.classes), trainer=nearest_colour_trainer) as p:
        yield p


def test_each_tag_costs_one_action_and_accepting_costs_none(tag_project, tag_clip) -> None:
    truth = tag_clip.tags
    for f in tag_project.initial_frames(4):
        tag_project.tag(f, tag_clip.classes[truth[f]])
    assert tag_project.action_totals() == {"actions": 4, "frames_viewed": 4}
    tag_project.step(progress=False)
    queue = tag_project.review_queue()
    spent = [tag_project.answer(item.frame, int(truth[item.frame])) for item in queue]
    totals = tag_project.action_totals()
    assert totals["actions"] == 4 + sum(spent)
    assert totals["frames_viewed"] == 4 + len(queue)
    # every answered frame is now a human tag, right by definition
    labels = tag_project.labels()
    assert labels.human.sum() == 4 + len(queue)
    assert (labels.tags[labels.human] == truth[labels.human]).all()


def test_a_tag_is_committed_before_the_verb_returns(tag_project, tag_clip) -> None:
    tag_project.tag(7, tag_clip.classes[1])
    with Store.open(tag_project.path) as other:  # a second connection sees it at once
        assert other.human_tags() == {7: (1,)}


def test_the_loop_labels_the_demo_clip_from_a_few_tags(tag_project, tag_clip) -> None:
    truth = tag_clip.tags
    n_shots = len(tag_project.segments())
    for f in tag_project.initial_frames(3):
        tag_project.tag(f, int(truth[f]))
    assert n_shots > 3
    assert len({int(truth[f]) for f in tag_project.human_tags()}) == 3
    report = tag_project.step(progress=False)
    labels = tag_project.labels()
    assert (labels.tags == truth).mean() > 0.95
    assert report.iteration == 1
    assert "Iteration 1" in repr(report)
    # Nobody has checked the model yet: tags it alone stands behind are not confident.
    arrays = tag_project.prediction()
    model_only = arrays["kinds"] == MODEL
    assert model_only.any()
    assert (labels.confidence[model_only] < tag_project.settings.confident).all()


def test_confidence_of_the_model_is_earned_by_checked_answers(tag_project, tag_clip) -> None:
    truth = tag_clip.tags
    for f in tag_project.initial_frames(3):
        tag_project.tag(f, int(truth[f]))
    tag_project.step(progress=False)
    assert tag_project.prediction()["untagged_shot_cap"] == 0.0
    # A person checks 30 model-only tags and finds them right: the cap rises with them.
    arrays = tag_project.prediction()
    frames = np.flatnonzero((arrays["kinds"] == MODEL) & (arrays["tags"] == truth))[:30]
    for f in frames:
        tag_project.answer(int(f), int(truth[f]))
    tag_project.step(progress=False)
    cap = float(tag_project.prediction()["untagged_shot_cap"])
    assert 0.8 < cap < 1.0
    assert tag_project.calibration().n_answers == len(frames)


def test_evidence_kinds_follow_runs_inside_shots() -> None:
    tags = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2])
    kinds = evidence_kinds(tags, cuts=[5], human={1: (0,), 6: (1,)})
    assert kinds.tolist() == [PROPAGATED] * 3 + [MODEL] * 2 + [PROPAGATED] * 2 + [MODEL] * 2


def test_multi_label_tags(tag_clip, tmp_path: Path) -> None:
    with TagProject.open(tmp_path / "m.mlab", video=tag_clip.frames.path,
                         classes=["walker", "bright"], multi_label=True,
                         trainer=nearest_colour_trainer) as p:
        p.tag(0, ["walker", "bright"])
        p.tag(1, [])
        p.tag(2, "bright")
        assert p.human_tags() == {0: (0, 1), 1: (), 2: (1,)}
        p.step(progress=False)
        labels = p.labels()
        assert labels.tags.shape == (len(tag_clip), 2)
        assert labels.tags.dtype == bool
        assert labels.names(p.classes)[0] == "walker+bright"
        assert labels.names(p.classes)[1] == ""


@pytest.mark.parametrize(
    ("tags", "words"),
    [("lake", ["unknown tag 'lake'", "meadow"]), (9, ["tag id 9"]),
     (["meadow", "beach"], ["exactly one tag"]), ([], ["exactly one tag"]),
     (True, ["not True"])],
    ids=["unknown-name", "unknown-id", "two-tags", "no-tag", "bool"],
)
def test_bad_tags_are_refused_and_nothing_is_stored(tag_project, tags, words) -> None:
    with pytest.raises(AnnotationError) as info:
        tag_project.tag(3, tags)
    for word in words:
        assert word in str(info.value)
    assert tag_project.human_tags() == {}
    assert tag_project.tag_log() == []


def test_training_needs_two_classes_and_accepting_needs_a_prediction(tag_project) -> None:
    with pytest.raises(ModelError, match="no tagged frames"):
        tag_project.step(progress=False)
    tag_project.tag(0, 0)
    with pytest.raises(ModelError, match="another class"):
        tag_project.step(progress=False)
    with pytest.raises(StateError, match="tag it instead"):
        tag_project.accept(5)


def test_projects_of_the_two_tasks_refuse_each_other(tag_clip, tag_project, tmp_path) -> None:
    with pytest.raises(StoreError, match=r"TagProject\.open"):
        Project.open(tag_project.path)
    with Project.open(tmp_path / "boxes.mlab", video=tag_clip.frames.path):
        pass
    with pytest.raises(StoreError, match=r"Project\.open"):
        TagProject.open(tmp_path / "boxes.mlab")


@pytest.mark.parametrize(("classes", "multi"), [(["one"], False), (["a", "a"], False),
                                                 ([], True), (["a", ""], False)])
def test_new_projects_need_distinct_class_names(tag_clip, tmp_path, classes, multi) -> None:
    with pytest.raises(AnnotationError, match="distinct non-empty names"):
        TagProject.open(tmp_path / "x.mlab", video=tag_clip.frames.path, classes=classes,
                        multi_label=multi)
    assert not (tmp_path / "x.mlab").exists()


def test_a_project_reopens_with_its_tags(tag_project, tag_clip) -> None:
    tag_project.tag(4, 2)
    path = tag_project.path
    tag_project.close()
    with TagProject.open(path) as again:
        assert again.human_tags() == {4: (2,)}
        assert again.classes == list(tag_clip.classes)
    with pytest.raises(AnnotationError, match="leave classes out"):
        TagProject.open(path, classes=["x", "y"])
