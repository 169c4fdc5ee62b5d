"""Project: the human verbs and their action accounting, label resolution, reopening, moving."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from microlab.boxes import Detections
from microlab.errors import AnnotationError, FramesError, StoreError
from microlab.project import Project

BOX = (10.0, 10.0, 30.0, 40.0)
OTHER = (50.0, 5.0, 80.0, 30.0)


def _predict(project: Project, boxes: dict[int, list[tuple]], *,
             next_iteration: bool = True) -> None:
    """Stand in for a model: write machine boxes, then open the next iteration like predict()."""
    project.store.write_predictions(
        {f: Detections(np.array(b, float).reshape(-1, 4), np.full(len(b), 0.9))
         for f, b in boxes.items()},
        model_version=None,
    )
    if next_iteration:
        project.store.start_iteration(model_versions=[], train_s=0.0, predict_s=0.0)


def _costs(project: Project) -> list[tuple[str, int]]:
    return [(a.kind, a.cost) for a in project.actions()]


# ------------------------------------------------------------------ single verbs


def test_new_project_facts(project: Project, small_clip) -> None:
    assert project.n_frames == len(small_clip) == 12
    assert project.frame_size == (96, 64)
    assert project.iteration == 0
    assert project.classes == ["object"]
    assert project.human_frames() == []
    assert project.action_totals() == {"actions": 0, "frames_viewed": 0}
    np.testing.assert_array_equal(project.frame(3), small_clip.frames[3])
    assert "frames=12" in repr(project)


def test_draw_correct_delete_absent_accept_skip_accounting(project: Project) -> None:
    drawn = project.draw_box(0, BOX)
    corrected = project.correct_box(drawn, (12, 10, 32, 40))
    second = project.draw_box(1, OTHER)
    project.delete_box(second)
    project.mark_absent(2)
    _predict(project, {3: [BOX], 4: [OTHER]})
    project.accept(3)
    project.skip(4)
    assert _costs(project) == [("draw", 1), ("correct", 1), ("draw", 1), ("delete", 1),
                               ("absent", 1), ("accept", 0), ("skip", 0)]
    assert project.action_totals() == {"actions": 5, "frames_viewed": 5}
    assert project.human_frames() == [0, 1, 2, 3]  # a skip is no verdict
    labels = project.labels()
    assert [b.id for b in labels[0].boxes] == [corrected]
    assert labels[0].boxes[0].xyxy == (12, 10, 32, 40)
    assert labels[1].absent
    assert labels[1].verified
    assert labels[2].absent
    assert labels[2].verified
    assert [b.xyxy for b in labels[3].boxes] == [BOX]
    assert labels[3].verified
    assert [b.xyxy for b in labels[4].boxes] == [OTHER]  # still the machine's, unverified
    assert not labels[4].verified
    with pytest.raises(AnnotationError, match=f"box {drawn} was already replaced"):
        project.correct_box(drawn, BOX)
    with pytest.raises(AnnotationError, match=f"box {second} was already deleted"):
        project.delete_box(second)


def test_boxes_outside_the_image_are_clipped_within_tolerance(project: Project) -> None:
    box_id = project.draw_box(0, (-0.5, -1, 96.5, 64))
    assert project.store.box(box_id).xyxy == (0, 0, 96, 64)


def test_labels_by_name_or_index(small_clip, tmp_path: Path) -> None:
    with Project.open(tmp_path / "p.mlab", video=small_clip.path, classes=("cat", "dog")) as p:
        a = p.draw_box(0, BOX, label="dog")
        b = p.draw_box(0, OTHER, label=0)
        assert [p.store.box(a).class_id, p.store.box(b).class_id] == [1, 0]
        c = p.correct_box(a, BOX, label="cat")
        assert p.store.box(c).class_id == 0
        d = p.correct_box(b, OTHER)  # the class is kept when no label is given
        assert p.store.box(d).class_id == 0
        with pytest.raises(AnnotationError, match=r"unknown class 'bird'.*\['cat', 'dog'\]"):
            p.draw_box(1, BOX, label="bird")
        with pytest.raises(AnnotationError, match="unknown class 2"):
            p.draw_box(1, BOX, label=2)


# ------------------------------------------------------------------ submit


def _submit_case(project: Project, shown: list[tuple], *, verified_with: list[tuple] | None,
                 predicted: bool) -> None:
    if verified_with is not None:
        for box in verified_with:
            project.draw_box(5, box)
        if not verified_with:
            project.mark_absent(5)
    if shown or predicted:
        _predict(project, {5: shown}, next_iteration=predicted)


MOVED = (14.0, 12.0, 34.0, 42.0)


@pytest.mark.parametrize(
    ("shown", "verified_with", "predicted", "submitted", "kinds", "actions"),
    [
        pytest.param([], None, False, [], ("absent",), 1, id="nothing-shown-nothing-given"),
        pytest.param([], None, True, [], ("accept",), 0, id="accept-predicted-absent"),
        pytest.param([], None, False, [BOX], ("draw",), 1, id="draw"),
        pytest.param([BOX], None, True, [BOX], ("accept",), 0, id="accept-prediction"),
        pytest.param([BOX], None, True, [(10.3, 9.8, 30.2, 40.4)], ("accept",), 0,
                     id="sub-pixel-jitter-is-accept"),
        pytest.param([BOX], None, True, [MOVED], ("correct",), 1, id="correct"),
        pytest.param([BOX], None, True, [OTHER], ("correct",), 1, id="far-move-is-one-correct"),
        pytest.param([BOX], None, True, [], ("delete",), 1, id="delete-false-positive"),
        pytest.param([BOX, OTHER], None, True, [], ("absent",), 1, id="clear-several-is-absent"),
        pytest.param([], [BOX, OTHER], False, [], ("absent",), 1, id="clear-verified-boxes"),
        pytest.param([BOX], None, True, [BOX, OTHER], ("accept", "draw"), 1, id="accept-and-draw"),
        pytest.param([BOX, OTHER], None, True, [OTHER], ("accept", "delete"), 1,
                     id="accept-and-delete"),
        pytest.param([BOX, OTHER], None, True, [MOVED, OTHER], ("accept", "correct"), 1,
                     id="accept-and-correct"),
        pytest.param([], [BOX], False, [BOX], ("skip",), 0, id="verified-unchanged"),
        pytest.param([], [BOX], False, [MOVED], ("correct",), 1, id="verified-corrected"),
        pytest.param([], [], False, [], ("skip",), 0, id="verified-absent-unchanged"),
        pytest.param([OTHER], [BOX], True, [BOX], ("skip",), 0,
                     id="machine-boxes-hidden-on-verified-frame"),
    ],
)
def test_submit_records_the_fewest_actions(
    project: Project, shown: list, verified_with: list | None, predicted: bool,
    submitted: list, kinds: tuple, actions: int,
) -> None:
    _submit_case(project, shown, verified_with=verified_with, predicted=predicted)
    before = len(project.actions())
    result = project.submit(5, submitted)
    assert result.kinds == kinds
    assert result.actions == actions
    assert [a.kind for a in project.actions()[before:]] == list(kinds)
    # Whatever was submitted is now the frame's verified label.
    label = project.label(5)
    assert label.verified
    got = sorted(b.xyxy for b in label.boxes)
    np.testing.assert_allclose(np.array(got).reshape(-1, 4),
                               np.array(sorted(submitted)).reshape(-1, 4), atol=0.5)


def test_submit_dicts_with_labels_and_class_changes(small_clip, tmp_path: Path) -> None:
    with Project.open(tmp_path / "p.mlab", video=small_clip.path, classes=("cat", "dog")) as p:
        _predict(p, {0: [BOX]})  # a "cat" box
        result = p.submit(0, [{"xyxy": BOX, "label": "dog"}])
        assert result.kinds == ("correct",)
        assert [b.class_id for b in p.label(0).boxes] == [1]
        with pytest.raises(AnnotationError, match="needs an 'xyxy' entry"):
            p.submit(1, [{"box": BOX}])


def test_submit_with_one_bad_box_records_nothing(project: Project) -> None:
    _predict(project, {6: [BOX, OTHER]})
    before = project.actions()
    # The second box is invalid: the correction of the first must not be recorded either.
    with pytest.raises(AnnotationError):
        project.submit(6, [MOVED, (1, 1, 0, 0)])
    assert project.actions() == before
    assert not project.label(6).verified


# ------------------------------------------------------------------ labels and reopening


def test_labels_human_versus_machine(project: Project) -> None:
    human = project.draw_box(1, BOX)
    project.mark_absent(2)
    _predict(project, {f: [OTHER] for f in range(project.n_frames)})
    labels = project.labels()
    assert [b.id for b in labels[1].boxes] == [human]
    assert labels[2].absent
    assert all(lab.boxes[0].source == "model" for f, lab in labels.items() if f not in (1, 2))
    human_labels = project.human_labels()
    assert sorted(human_labels) == [1, 2]
    np.testing.assert_array_equal(human_labels[1].xyxy, [BOX])
    assert len(human_labels[2]) == 0


def test_reopen_keeps_everything(small_clip, tmp_path: Path) -> None:
    path = tmp_path / "p.mlab"
    with Project.open(path, video=small_clip.path) as p:
        p.draw_box(0, BOX)
        p.mark_absent(1)
        _predict(p, {2: [OTHER], 3: [BOX]})
        p.accept(2)
        p.submit(3, [MOVED])
        before = (p.labels(), p.actions(), p.human_frames(), p.action_totals(), p.iteration)
    with Project.open(path) as again:  # no video: the clip is found where it was
        assert (again.labels(), again.actions(), again.human_frames(), again.action_totals(),
                again.iteration) == before
        assert again.frame_size == (96, 64)


def test_moved_clip_is_a_clear_error_and_video_relocates_it(clip_copy: Path,
                                                            tmp_path: Path) -> None:
    path = tmp_path / "projects" / "p.mlab"
    with Project.open(path, video=clip_copy) as p:
        p.draw_box(0, BOX)
    moved = Path(shutil.move(clip_copy, tmp_path / "elsewhere"))
    with pytest.raises(StoreError, match=r"not at .*clip any more.*video=NEW_PATH"):
        Project.open(path)
    assert not Path(f"{path}-wal").exists()  # the refused open closed its connection
    with Project.open(path, video=moved) as p:
        assert p.store.meta["frames_path"] == str(moved.resolve())
        assert len(p.human_frames()) == 1
    with Project.open(path) as p:  # the new place is remembered
        assert p.frames.path.resolve() == (moved / "img").resolve()


def test_clip_moved_together_with_the_project_is_found(clip_copy: Path, tmp_path: Path) -> None:
    with Project.open(tmp_path / "clip.mlab", video=clip_copy) as p:
        p.draw_box(0, BOX)
    # Move the whole folder holding the project and its clip (as when sharing a directory).
    moved = Path(shutil.move(tmp_path, tmp_path.parent / (tmp_path.name + "-moved")))
    try:
        with Project.open(moved / "clip.mlab") as p:
            assert p.frames.path == (moved / "clip" / "img").resolve()
            assert len(p.actions()) == 1
    finally:
        shutil.move(moved, tmp_path)  # let pytest clean up where it expects


def test_opening_with_the_wrong_clip(project: Project, tmp_path: Path) -> None:
    from microlab.datasets import demo_clip

    path = project.path
    project.close()
    other = demo_clip(tmp_path / "other", n_frames=5, size=(96, 64), seed=1)
    with pytest.raises(StoreError, match=r"has 5 frames of 96x64, but project .* 12 frames"):
        Project.open(path, video=other.path)
    with Project.open(path) as again:  # the failed attempt changed nothing
        assert again.n_frames == 12


@pytest.mark.parametrize(
    ("make_video", "error", "message"),
    [
        pytest.param(lambda d: d / "missing.mp4", FramesError, "does not exist", id="missing"),
        pytest.param(lambda d: (d / "empty").mkdir() or d / "empty", FramesError, "holds no images",
                     id="empty-folder"),
    ],
)
def test_open_with_a_bad_video_leaves_the_project_usable(
    project: Project, tmp_path: Path, make_video, error: type, message: str
) -> None:
    path = project.path
    project.draw_box(0, BOX)
    project.close()
    with pytest.raises(error, match=message):
        Project.open(path, video=make_video(tmp_path))
    # The failed open closed its connection (the last one closing removes the WAL file).
    assert not Path(f"{path}-wal").exists()
    with Project.open(path) as again:
        assert len(again.actions()) == 1


def test_new_project_needs_a_video_and_valid_classes(small_clip, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="pass video=PATH"):
        Project.open(tmp_path / "new.mlab")
    with pytest.raises(AnnotationError, match="distinct names"):
        Project.open(tmp_path / "dup.mlab", video=small_clip.path, classes=("a", "a"))
    with pytest.raises(AnnotationError, match="distinct names"):
        Project.open(tmp_path / "none.mlab", video=small_clip.path, classes=())
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing half-created
    # A single name is one class, not one class per letter.
    with Project.open(tmp_path / "one.mlab", video=small_clip.path, classes="person") as p:
        assert p.classes == ["person"]


def test_a_class_added_later_is_saved_and_boxes_can_name_it(small_clip, tmp_path: Path) -> None:
    with Project.open(tmp_path / "p.mlab", video=small_clip.path, classes=["walker"]) as p:
        p.draw_box(0, (10, 10, 30, 40))
        assert p.add_class("cart") == 1
        p.draw_box(1, (5, 5, 25, 20), label="cart")
        with pytest.raises(AnnotationError, match="exists already"):
            p.add_class("walker")
        with pytest.raises(AnnotationError, match="non-empty name"):
            p.add_class(" ")
    with Project.open(tmp_path / "p.mlab") as p:
        assert p.classes == ["walker", "cart"]
        assert [b.class_id for b in p.label(0).boxes] == [0]
        assert [b.class_id for b in p.label(1).boxes] == [1]


def test_project_file_that_is_not_a_project(small_clip, tmp_path: Path) -> None:
    (tmp_path / "notes.mlab").write_text("hello")
    with pytest.raises(StoreError, match="not an SQLite database"):
        Project.open(tmp_path / "notes.mlab", video=small_clip.path)
    assert (tmp_path / "notes.mlab").read_text() == "hello"
