"""Store: create/open/reopen, refusing foreign files, the append-only log, label resolution."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from microlab.actions import (
    Accept,
    Action,
    Correct,
    Delete,
    Draw,
    Import,
    ImportAbsent,
    MarkAbsent,
    Skip,
)
from microlab.boxes import Detections, Source
from microlab.errors import AnnotationError, StoreError
from microlab.store import SCHEMA_VERSION, Store

META = {"frames_path": "/clips/x", "n_frames": 6, "frame_size": [64, 48], "classes": ["object"]}


@pytest.fixture
def store(tmp_path: Path):
    st = Store.create(tmp_path / "p.mlab", META)
    yield st
    st.close()


def _dets(*boxes: tuple, score: float = 0.8) -> Detections:
    return Detections(np.array(boxes, float).reshape(-1, 4), np.full(len(boxes), score))


def test_create_then_open(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "p.mlab"
    with Store.create(path, META) as st:
        assert st.meta["app"] == "microlab"
        assert st.meta["schema_version"] == SCHEMA_VERSION
        assert st.meta["classes"] == ["object"]
        assert st.n_frames == 6
        assert st.iteration == 0
        assert st.integrity_check() == "ok"
    assert sorted(p.name for p in path.parent.iterdir()) == ["p.mlab"]  # no temporary leftovers
    with pytest.raises(StoreError, match="already exists"):
        Store.create(path, META)
    with Store.open(path) as st:
        assert st.meta["frames_path"] == "/clips/x"


def test_everything_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "p.mlab"
    st = Store.create(path, META)
    drawn = st.apply_actions(1, [Draw((1, 2, 11, 12), class_id=0)])
    st.apply_actions(2, [MarkAbsent()])
    st.write_predictions({3: _dets((5, 5, 20, 20)), 4: _dets()}, model_version=None)
    version = st.save_model(config={"backbone": "tiny"}, weights=b"\x00safetensors\xff",
                            segment=(0, 5), train_s=1.5, n_labels=2)
    st.save_segments(0, [(0, 2, version), (3, 5, None)])
    st.set_meta("note", {"a": [1, 2]})
    it = st.start_iteration(model_versions=[version], train_s=1.5, predict_s=0.5, stats={"k": 1})
    st.apply_actions(3, [Accept(tuple(b.id for b in st.labels([3])[3].boxes))])
    before = (st.meta, st.labels(), st.actions(), st.iterations(), st.models(),
              st.load_model(), st.segments(0), st.verified_frames(), st.action_totals())
    st.close()

    with Store.open(path) as again:
        after = (again.meta, again.labels(), again.actions(), again.iterations(), again.models(),
                 again.load_model(), again.segments(0), again.verified_frames(),
                 again.action_totals())
        assert after == before
        assert again.iteration == it == 1
        assert again.load_model(version)[2] == b"\x00safetensors\xff"
        assert again.labels([1])[1].boxes[0].id == drawn[0]
        assert again.verified_frames() == [1, 2, 3]
        assert again.meta["note"] == {"a": [1, 2]}


def _plain_sqlite(path: Path) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE t(x)")
    db.execute("INSERT INTO t VALUES (1)")
    db.commit()
    db.close()


def _foreign_meta(path: Path, rows: list[tuple[str, str]]) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE meta(key TEXT, value TEXT)")
    db.executemany("INSERT INTO meta VALUES (?, ?)", rows)
    db.commit()
    db.close()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        pytest.param(lambda p: p.write_text("just some notes\n"), "not an SQLite database",
                     id="text"),
        pytest.param(lambda p: p.write_bytes(b""), "empty file", id="empty"),
        pytest.param(lambda p: p.write_bytes(b"SQLite format 3\x00" + bytes(50)),
                     "not a microlab project", id="damaged-sqlite"),
        pytest.param(_plain_sqlite, "not a microlab project", id="other-sqlite"),
        pytest.param(lambda p: _foreign_meta(p, [("app", "other")]), "not a microlab project",
                     id="other-app-meta"),
        pytest.param(lambda p: _foreign_meta(p, [("app", "microlab?")]), "not a microlab project",
                     id="meta-not-json"),
        pytest.param(lambda p: _foreign_meta(p, [("app", '"microlab"')]), "not a microlab project",
                     id="meta-without-schema"),
        pytest.param(lambda p: _foreign_meta(p, [("app", '"microlab"'), ("schema_version", "99")]),
                     "newer microlab", id="newer-schema"),
    ],
)
def test_open_refuses_foreign_files_and_leaves_them_alone(tmp_path: Path, make,
                                                          message: str) -> None:
    path = tmp_path / "x.mlab"
    make(path)
    before = path.read_bytes()
    with pytest.raises(StoreError, match=message) as info:
        Store.open(path)
    assert str(path) in str(info.value)
    # Refusing a file must not convert it (to WAL), grow it, or leave -wal/-shm files beside it.
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["x.mlab"]


def test_open_missing_or_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"nope\.mlab does not exist"):
        Store.open(tmp_path / "nope.mlab")
    with pytest.raises(StoreError, match="is a folder"):
        Store.open(tmp_path)


def test_action_log_is_append_only(store: Store) -> None:
    store.apply_actions(0, [Draw((1, 1, 5, 5))])
    db = sqlite3.connect(store.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE actions SET cost = 0")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM actions")
        db.rollback()
    finally:
        db.close()
    assert [(a.kind, a.cost) for a in store.actions()] == [("draw", 1)]
    assert store.integrity_check() == "ok"


@pytest.mark.parametrize(
    ("ops", "kinds", "cost"),
    [
        ([Draw((1, 1, 5, 5))], ["draw"], 1),
        ([MarkAbsent()], ["absent"], 1),
        ([Skip()], ["skip"], 0),
        ([Accept(())], ["accept"], 0),
        ([Draw((1, 1, 5, 5)), Draw((9, 9, 20, 20))],
         ["draw", "draw"], 2),
        ([Import((1, 1, 5, 5))], ["import"], 0),
    ],
)
def test_apply_actions_logs_kind_and_cost(store: Store, ops: list, kinds: list, cost: int) -> None:
    store.apply_actions(2, ops)
    log = store.actions()
    assert [a.kind for a in log] == kinds
    assert all(a.frame == 2 and a.iteration == 0 and a.ts > 0 for a in log)
    assert store.action_totals()["actions"] == cost


def test_a_failing_operation_rolls_back_the_whole_frame(store: Store) -> None:
    [box] = store.apply_actions(0, [Draw((1, 1, 5, 5))])
    snapshot = (store.labels(), store.actions(), store.verified_frames())
    with pytest.raises(AnnotationError, match="box 999 does not exist"):
        store.apply_actions(1, [Draw((1, 1, 5, 5)),
                                Delete(999)])
    with pytest.raises(AnnotationError, match=f"box {box} belongs to frame 0, not 1"):
        store.apply_actions(1, [Correct(box, (2, 2, 6, 6))])
    with pytest.raises(AnnotationError, match="unknown action 'paint'"):
        store.apply_actions(1, [MarkAbsent(), "paint"])
    assert (store.labels(), store.actions(), store.verified_frames()) == snapshot


@pytest.mark.parametrize(
    ("frame", "message"),
    [(-1, "frame -1 is out of range"), (6, "frame 6 is out of range: this project has frames 0..5"),
     (1.0, "1.0"), (True, "True"), ("2", "'2'"), (None, "None")],
)
def test_frame_indices_are_checked_everywhere(store: Store, frame: object, message: str) -> None:
    with pytest.raises(AnnotationError, match=message):
        store.apply_actions(frame, [MarkAbsent()])
    with pytest.raises(AnnotationError, match=message):
        store.labels([frame])
    with pytest.raises(AnnotationError, match=message):
        store.machine_boxes(frame)
    assert store.actions() == []


@pytest.mark.parametrize(
    ("box_id", "message"),
    [(999, "box 999 does not exist"), (1.0, "1.0"), (True, "True"), ("1", "'1'"), (None, "None")],
)
def test_box_ids_are_checked(store: Store, box_id: object, message: str) -> None:
    store.apply_actions(0, [Draw((1, 1, 5, 5))])  # box 1 exists
    with pytest.raises(AnnotationError, match=message):
        store.box(box_id)
    with pytest.raises(AnnotationError, match=message):
        store.apply_actions(0, [Delete(box_id)])
    assert len(store.actions()) == 1


def test_label_resolution_human_versus_machine(store: Store) -> None:
    store.write_predictions({f: _dets((10, 10, 20, 20)) for f in range(6)}, model_version=7)
    labels = store.labels()
    assert all(not lab.verified and len(lab.boxes) == 1 for lab in labels.values())
    assert labels[0].boxes[0].source == "model"
    assert labels[0].boxes[0].model_version == 7
    assert labels[0].boxes[0].score == pytest.approx(0.8)

    [human] = store.apply_actions(1, [Draw((30, 30, 40, 40))])
    store.apply_actions(2, [MarkAbsent()])
    model_box = labels[3].boxes[0].id
    store.apply_actions(3, [Accept((model_box,))])
    store.apply_actions(4, [Delete(labels[4].boxes[0].id)])
    [corrected] = store.apply_actions(
        5, [Correct(labels[5].boxes[0].id, (11, 11, 21, 21))])

    # A new prediction changes only the frames no human has touched.
    store.write_predictions({f: _dets((0, 0, 9, 9), score=0.3) for f in range(6)}, model_version=8)
    labels = store.labels()
    assert [lab.verified for lab in labels.values()] == [False, True, True, True, True, True]
    assert [b.xyxy for b in labels[0].boxes] == [(0, 0, 9, 9)]
    assert labels[0].boxes[0].model_version == 8
    assert [b.id for b in labels[1].boxes] == [human]  # the model's boxes do not count here
    assert labels[2].absent
    assert [(b.id, b.status) for b in labels[3].boxes] == [(model_box, "accepted")]
    assert labels[4].absent
    assert [(b.id, b.source) for b in labels[5].boxes] == [(corrected, "human")]
    assert store.box(corrected).xyxy == (11, 11, 21, 21)
    assert store.box(labels[5].boxes[0].id).class_id == 0
    # The machine's current opinion stays readable on verified frames (for metrics).
    assert [b.model_version for b in store.machine_boxes(1)] == [8]
    assert store.action_totals() == {"actions": 4, "frames_viewed": 5}


def test_absent_removes_human_and_accepted_boxes(store: Store) -> None:
    store.write_predictions({0: _dets((1, 1, 5, 5), (7, 7, 12, 12))})
    model_ids = [b.id for b in store.labels([0])[0].boxes]
    store.apply_actions(0, [Accept(tuple(model_ids[:1])),
                            Draw((20, 20, 30, 30))])
    assert len(store.labels([0])[0].boxes) == 2
    store.apply_actions(0, [MarkAbsent()])
    assert store.labels([0])[0].absent
    assert store.labels([0])[0].verified
    with pytest.raises(AnnotationError, match="already deleted"):
        store.apply_actions(0, [Delete(model_ids[0])])


def test_write_predictions_rejects_unknown_sources(store: Store) -> None:
    with pytest.raises(ValueError, match="'human'"):
        store.write_predictions({0: _dets((1, 1, 5, 5))}, source="human")
    assert store.labels([0])[0].boxes == ()


def test_load_model_errors(store: Store) -> None:
    with pytest.raises(StoreError, match="no model has been trained yet"):
        store.load_model()
    with pytest.raises(StoreError, match="model 3 does not exist"):
        store.load_model(3)



@pytest.mark.parametrize(
    ("op", "kind", "cost"),
    [
        (Draw((1, 1, 5, 5)), "draw", 1),
        (Correct(1, (1, 1, 5, 5)), "correct", 1),
        (Delete(1), "delete", 1),
        (MarkAbsent(), "absent", 1),
        (Accept((1, 2)), "accept", 0),
        (Skip(), "skip", 0),
        (Import((1, 1, 5, 5), 0), "import", 0),
        (ImportAbsent(), "import", 0),
    ],
)
def test_typed_actions_know_their_kind_and_cost(op: Action, kind: str, cost: int) -> None:
    assert (op.kind, op.cost) == (kind, cost)
    assert op == op.__class__(**{f.name: getattr(op, f.name) for f in dataclasses.fields(op)})
    with pytest.raises(AttributeError):
        op.kind = "paint"  # type: ignore[misc]


def test_typed_actions_normalise_and_check_boxes() -> None:
    assert Draw(np.array([1, 2, 3, 4])).xyxy == (1.0, 2.0, 3.0, 4.0)
    assert Accept([3, 4]).box_ids == (3, 4)
    with pytest.raises(AnnotationError, match="a box must be 4 numbers"):
        Draw((1, 2, 3))


def test_typed_actions_write_the_same_rows_as_before(store: Store) -> None:
    """The action log keeps its kinds, costs and details: old project files read the same."""
    [drawn] = store.apply_actions(0, [Draw((1, 1, 5, 5), class_id=0)])
    [fixed] = store.apply_actions(0, [Correct(drawn, (2, 2, 6, 6))])
    store.apply_actions(0, [Delete(fixed)])
    store.write_predictions({1: _dets((5, 5, 20, 20))})
    model_box = store.labels([1])[1].boxes[0].id
    store.apply_actions(1, [Accept((model_box,))])
    store.apply_actions(2, [MarkAbsent(), Skip()])
    [imported] = store.apply_actions(3, [Import((3, 3, 9, 9), 0)])
    store.apply_actions(4, [ImportAbsent()])
    log = [(a.kind, a.frame, a.box_id, a.cost, a.detail) for a in store.actions()]
    assert log == [
        ("draw", 0, drawn, 1, {"xyxy": [1.0, 1.0, 5.0, 5.0]}),
        ("correct", 0, fixed, 1, {"xyxy": [2.0, 2.0, 6.0, 6.0], "replaces": drawn}),
        ("delete", 0, fixed, 1, None),
        ("accept", 1, None, 0, {"box_ids": [model_box]}),
        ("absent", 2, None, 1, None),
        ("skip", 2, None, 0, None),
        ("import", 3, imported, 0, None),
        ("import", 4, None, 0, {"absent": True}),
    ]
    assert store.verified_frames() == [0, 1, 2, 3, 4]
    assert store.box(imported).source == "imported"
    assert store.box(fixed).source == Source.HUMAN


@pytest.mark.parametrize("op", [{"kind": "absent"}, "absent", None])
def test_apply_actions_refuses_what_is_not_an_action(store: Store, op: object) -> None:
    with pytest.raises(AnnotationError, match=r"unknown action .*expected one of Draw, Correct"):
        store.apply_actions(0, [op])  # type: ignore[list-item]
    assert store.actions() == []


def test_records_convert_to_detections(store: Store) -> None:
    store.write_predictions({0: _dets((1, 1, 5, 5), (7, 7, 12, 12))}, model_version=3)
    store.apply_actions(1, [Draw((2, 2, 4, 4), class_id=0)])
    labels = store.labels([0, 1])
    model = labels[0].detections()
    np.testing.assert_array_equal(model.xyxy, [[1, 1, 5, 5], [7, 7, 12, 12]])
    np.testing.assert_allclose(model.scores, [0.8, 0.8])
    assert list(model.sources) == [Source.MODEL, Source.MODEL]
    np.testing.assert_array_equal(model.data["box_id"], [b.id for b in labels[0].boxes])
    human = labels[1].boxes[0].to_detections()
    assert human == labels[1].detections()
    assert np.isnan(human.scores).all()
    assert list(human.sources) == [Source.HUMAN]
