"""TagProject: the verbs, their accounting, the loop with a fast fake model, and bad input."""

from __future__ import annotations

import itertools
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


def test_segment_verdicts_need_a_clean_answer_after_a_prediction(tag_project, tag_clip) -> None:
    truth = tag_clip.tags
    assert {v.verdict for v in tag_project.segment_verdicts()} == {"label"}
    for f in tag_project.initial_frames(4):
        tag_project.tag(f, int(truth[f]))
    tag_project.step(progress=False)
    verdicts = tag_project.segment_verdicts()
    assert [(v.start, v.end) for v in verdicts] == [(s.start, s.end)
                                                    for s in tag_project.segments()]
    # nothing answered after the prediction: no segment is "done" on the model's word alone
    assert "done" not in {v.verdict for v in verdicts}
    seg = next(v for v in verdicts if v.coverage >= 0.95)
    frame = next(f for f in range(seg.start, seg.end + 1)
                 if not tag_project.labels().human[f])
    shown = int(tag_project.labels().tags[frame])
    if shown == truth[frame]:
        tag_project.accept(frame)
        expected = "done"
    else:
        tag_project.tag(frame, int(truth[frame]))
        expected = "continue"
    after = next(v for v in tag_project.segment_verdicts() if v.start == seg.start)
    assert (after.verdict, after.reviewed, after.review_iteration) == (expected, 1, 1)


def test_local_models_label_their_pieces_and_the_clip_model_the_rest(tag_clip, tmp_path) -> None:
    from microlab.tagging import TagSettings
    from microlab.tagging.project import PiecewiseTagModel

    with TagProject.open(tmp_path / "p.mlab", video=tag_clip.frames.path,
                         classes=list(tag_clip.classes), trainer=nearest_colour_trainer,
                         settings=TagSettings(pieces=3)) as project:
        pieces = project.pieces()
        assert len(pieces) in (2, 3, 4)
        assert pieces[0][0] == 0
        assert pieces[-1][1] == project.n_frames - 1
        assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(pieces))  # they tile the clip
        starts = {s.start for s in project.segments()}
        assert {a for a, _ in pieces} <= starts  # made of whole segments
        truth = tag_clip.tags
        def classes_in(piece):
            found: dict[int, int] = {}
            for f in range(piece[0], piece[1] + 1):
                found.setdefault(int(truth[f]), f)
            return found

        # two classes tagged inside one piece, one class inside another
        first = next(p for p in pieces if len(classes_in(p)) >= 2)
        second = next(p for p in pieces if p != first)
        for f in list(classes_in(first).values())[:2]:
            project.tag(f, int(truth[f]))
        project.tag(second[0], int(truth[second[0]]))
        model = project.train(progress=False)
        assert isinstance(model, PiecewiseTagModel)
        assert [(a, b) for a, b, _ in model.local] == [first]
        stored = project.store.models()
        assert [(m["segment_start"], m["segment_end"]) for m in stored] == [(None, None), first]
        report = project.step(progress=False)
        assert project.store.iterations()[-1]["model_versions"] == [m["version"] for m in
                                                                    project.store.models()[-2:]]
        assert report.iteration == 1
    with pytest.raises(ValueError, match="pieces"):
        TagSettings(pieces=0)
