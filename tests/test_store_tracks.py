"""Schema 2: tracks (object identities) on boxes, and opening a schema-1 file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from microlab.boxes import Detections
from microlab.errors import AnnotationError
from microlab.project import Project
from microlab.store import SCHEMA_VERSION, Store

FIXTURE = Path(__file__).parent / "fixtures" / "v1_project.mlab"


def test_a_schema_1_file_opens_migrated_with_every_label_kept(small_clip, tmp_path) -> None:
    path = Path(shutil.copy(FIXTURE, tmp_path / "old.mlab"))
    with Store.open(path) as store:
        assert store.meta["schema_version"] == SCHEMA_VERSION == 3
    with Project.open(path, video=small_clip.frames.path) as project:
        # What the schema-1 code wrote (tests/fixtures: a box drawn on 0, frame 5 absent, a
        # correction on 3, an accept on 7, machine boxes elsewhere) reads back the same.
        assert project.human_frames() == [0, 3, 5, 7]
        assert np.allclose(project.label(0).boxes[0].xyxy, (10, 10, 30, 40))
        assert project.label(5).absent
        assert np.allclose(project.label(3).boxes[0].xyxy, (14, 11, 34, 41))
        assert np.allclose(project.label(7).boxes[0].xyxy, (19, 10, 39, 40))
        assert project.label(9).boxes[0].track_id is None
        assert project.action_totals() == {"actions": 3, "frames_viewed": 4}
        # ... and the migrated file takes tracks.
        box = project.draw_box(10, (5, 5, 25, 25), track=4)
        assert project.store.box(box).track_id == 4


def test_a_schema_2_file_opens_migrated_with_its_tracks_and_every_frame_complete(
        small_clip, tmp_path) -> None:
    path = Path(shutil.copy(FIXTURE.with_name("v2_project.mlab"), tmp_path / "v2.mlab"))
    with Project.open(path, video=small_clip.frames.path) as project:
        # What the schema-2 code wrote (tests/fixtures: two tracks boxed on frames 0 and 2, the
        # dog left the view on 2, frame 4 absent, frame 3's machine box accepted).
        assert project.store.meta["schema_version"] == SCHEMA_VERSION
        assert project.classes == ["person", "dog"]
        assert project.human_frames() == [0, 2, 3, 4]
        assert sorted(b.track_id for b in project.label(0).boxes) == [1, 2]
        assert [b.track_id for b in project.label(2).boxes] == [1]
        assert project.label(4).absent
        assert project.label(3).settled
        assert project.partial_frames() == []  # an older file's frames were boxed whole
        assert project.action_totals() == {"actions": 6, "frames_viewed": 4}
        project.mark_partial(0)  # ... and the migrated file takes partly boxed frames
        assert project.partial_frames() == [0]


def test_tracks_are_stored_corrected_and_read_as_detections(project) -> None:
    a = project.draw_box(0, (5, 5, 25, 25), track=1)
    project.draw_box(0, (40, 5, 60, 25), track=2)
    det = project.label(0).detections()
    assert sorted(det.track_ids.tolist()) == [1, 2]
    fixed = project.correct_box(a, track=3)  # an identity switch fixed: geometry kept
    assert project.store.box(fixed).track_id == 3
    assert project.store.box(fixed).xyxy == (5, 5, 25, 25)
    moved = project.correct_box(fixed, (6, 6, 26, 26))  # a geometry fix keeps the track
    assert project.store.box(moved).track_id == 3
    assert project.action_totals()["actions"] == 4


def test_one_track_has_one_box_per_frame(project) -> None:
    project.draw_box(1, (5, 5, 25, 25), track=1)
    with pytest.raises(AnnotationError, match="track 1 would have 2 boxes in frame 1"):
        project.draw_box(1, (40, 5, 60, 25), track=1)
    assert len(project.label(1).boxes) == 1  # the refused draw left nothing behind
    assert project.action_totals()["actions"] == 1


def test_an_object_leaving_the_view_removes_only_its_box(project) -> None:
    project.draw_box(2, (5, 5, 25, 25), track=1)
    project.draw_box(2, (40, 5, 60, 25), track=2)
    project.mark_left(2, 1)
    assert [b.track_id for b in project.label(2).boxes] == [2]
    assert project.action_totals()["actions"] == 3


def test_machine_boxes_keep_their_tracks(project) -> None:
    project.store.write_predictions({4: Detections([[1, 1, 9, 9], [20, 1, 30, 9]],
                                                   track_ids=[5, -1])})
    assert [b.track_id for b in project.label(4).boxes] == [5, None]


@pytest.mark.parametrize("track", [-1, 1.5, True, "a"])
def test_a_track_is_a_whole_number(project, track) -> None:
    with pytest.raises(AnnotationError, match="whole number"):
        project.draw_box(0, (5, 5, 25, 25), track=track)


def test_track_exports_keep_the_tracks_people_gave(project, tmp_path) -> None:
    from microlab.interop import export_project

    # Two objects that swap places between frames: nearest-centre linking would swap them
    # too; the person's tracks say who is who.
    project.draw_box(0, (5, 5, 25, 25), track=7)
    project.draw_box(0, (60, 5, 80, 25), track=3)
    project.draw_box(1, (60, 5, 80, 25), track=7)
    project.draw_box(1, (5, 5, 25, 25), track=3)
    export_project(project, "mot", tmp_path / "mot")
    rows = [line.split(",") for line in (tmp_path / "mot" / "gt" / "gt.txt").read_text().split()]
    ids = {(int(r[0]), float(r[2])): int(r[1]) for r in rows}
    assert ids[(1, 5.0)] == ids[(2, 60.0)]  # track 7 in both frames
    assert ids[(1, 60.0)] == ids[(2, 5.0)]  # track 3 in both frames
    assert ids[(1, 5.0)] != ids[(1, 60.0)]


def test_coco_exports_carry_identities_back_into_a_project(project, small_clip, tmp_path) -> None:
    import json

    from microlab.interop import export_project, import_labels

    project.draw_box(0, (5, 5, 25, 25), track=7)
    project.draw_box(0, (60, 5, 80, 25), track=3)
    project.draw_box(1, (60, 5, 80, 25), track=7)
    out = export_project(project, "coco", tmp_path / "coco.json")
    doc = json.loads(Path(out).read_text())
    assert sorted(a["attributes"]["track_id"] for a in doc["annotations"]) == [3, 7, 7]
    with Project.open(tmp_path / "again.mlab", video=small_clip.path) as again:
        import_labels(again, "coco", out)
        tracks = {f: sorted(d.track_ids.tolist()) for f, d in again.human_labels().items()}
    assert tracks == {0: [3, 7], 1: [7]}


def test_submit_names_tracks_and_fixes_a_swap_for_one_action_per_box(project) -> None:
    left, right = (5, 5, 25, 25), (60, 5, 80, 25)
    project.submit(0, [{"xyxy": left, "track": 1}, {"xyxy": right, "track": 2}])
    tracks = {tuple(b.xyxy): b.track_id for b in project.label(0).boxes}
    assert tracks == {left: 1, right: 2}
    assert project.action_totals()["actions"] == 2
    # the same boxes with their identities swapped: two corrections, geometry kept
    result = project.submit(0, [{"xyxy": left, "track": 2}, {"xyxy": right, "track": 1}])
    assert result.kinds == ("correct", "correct")
    tracks = {tuple(b.xyxy): b.track_id for b in project.label(0).boxes}
    assert tracks == {left: 2, right: 1}
    # no track given keeps the shown one, at no cost
    assert project.submit(0, [{"xyxy": left}, {"xyxy": right}]).kinds == ("skip",)
    with pytest.raises(AnnotationError, match="track 4 is given to several boxes"):
        project.submit(1, [{"xyxy": left, "track": 4}, {"xyxy": right, "track": 4}])
    assert 1 not in project.human_frames()


# ---------------------------------------------------------------------- partly boxed frames
def test_a_partly_boxed_frame_shows_the_models_other_boxes_until_accepted(project) -> None:
    mine = project.draw_box(0, (5, 5, 25, 25), track=1)
    project.mark_partial(0)  # 0 actions: more objects are there, not boxed
    project.store.write_predictions({0: Detections(
        [[6, 5, 26, 25], [40, 5, 60, 25], [70, 30, 90, 50]], scores=[0.9, 0.8, 0.7],
        track_ids=[1, 2, 3])}, model_version=None)
    label = project.label(0)
    assert label.verified
    assert not label.complete
    assert not label.settled
    # The person's box, then the model's boxes of the others (its copy of box 1 is left out).
    assert [b.track_id for b in label.boxes] == [1, 2, 3]
    assert [b.id for b in label.human_boxes] == [mine]
    assert len(project.human_labels()[0]) == 1  # training sees the person's box only
    assert project.partial_frames() == [0]
    coco = json.loads(project.export("coco", project.path.parent / "c.json").read_text())
    assert len(coco["annotations"]) == 1  # exported as labelled: the person's box only
    both = project.export("coco", project.path.parent / "all.json", verified_only=False)
    assert len(json.loads(both.read_text())["annotations"]) == 3
    project.accept(0)  # all three right: the frame is complete, the model's boxes accepted
    label = project.label(0)
    assert label.settled
    assert len(label.boxes) == 3
    assert project.partial_frames() == []
    assert project.action_totals() == {"actions": 1, "frames_viewed": 1}


def test_only_a_frame_with_a_persons_box_can_be_partly_boxed(project) -> None:
    with pytest.raises(AnnotationError, match=r"frame 2 has no box of a person.*draw the objects"):
        project.mark_partial(2)
    assert project.human_frames() == []
    assert project.action_totals()["frames_viewed"] == 0
    project.mark_absent(3)
    with pytest.raises(AnnotationError, match="frame 3 has no box"):
        project.mark_partial(3)


def test_submit_marks_a_frame_partly_boxed_and_a_full_submit_completes_it(project) -> None:
    project.submit(4, [{"xyxy": (5, 5, 25, 25), "track": 1}], complete=False)
    assert project.partial_frames() == [4]
    project.store.write_predictions({4: Detections([[40, 5, 60, 25]], scores=[0.8],
                                                   track_ids=[2])}, model_version=None)
    # Shown: the person's box and the model's; the person keeps both and moves nothing.
    shown = [{"xyxy": b.xyxy, "track": b.track_id} for b in project.label(4).boxes]
    result = project.submit(4, shown)
    assert result.kinds[0] == "accept"
    assert project.partial_frames() == []
    assert len(project.label(4).boxes) == 2
    project.mark_partial(4)
    project.mark_complete(4)  # said outright, without a review
    assert project.partial_frames() == []
    assert project.action_totals()["actions"] == 1


def test_marking_a_frame_absent_makes_it_complete(project) -> None:
    project.draw_box(6, (5, 5, 25, 25), track=1)
    project.mark_partial(6)
    project.mark_absent(6)
    assert project.label(6).settled
    assert project.label(6).absent
