"""Store: one SQLite file per project, the single source of truth.

Every human action is written and committed (WAL, ``synchronous=FULL``) before the method that
records it returns, so a killed kernel loses nothing that was acknowledged.  The ``actions`` table
is append-only (triggers refuse updates and deletes).  Model checkpoints are stored as
safetensors bytes: opening a project file from someone else never runs code.

A frame's *label* is resolved like this: once a human has touched a frame (drawn, corrected,
deleted, accepted or marked absent) only the boxes the human made or accepted count, and a
verified frame without such boxes means "object absent".  Otherwise the latest machine boxes
(model, tracker or interpolation) are the label.

Several objects per clip (schema 2): a box may carry a ``track_id``, the object it shows; a
person's boxes of one frame never share a track (the store refuses it), and "left the view"
removes one track's box.  A file of an older schema is brought up to date when it is opened.

A verified frame is *complete* (every object boxed) unless a person marked it partly boxed
(schema 3, :class:`~microlab.actions.MarkComplete`): then its label is the human boxes plus the
machine boxes of objects no person boxed there, until someone accepts the frame.
"""

from __future__ import annotations

import io
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from microlab.actions import (
    ACTION_COSTS,
    ACTIONS,
    Accept,
    Action,
    Correct,
    Delete,
    Draw,
    Import,
    ImportAbsent,
    MarkAbsent,
    MarkComplete,
    Skip,
)
from microlab.boxes import HUMAN_SOURCES, MACHINE_SOURCES, Detections, Source, box_iou
from microlab.errors import AnnotationError, StoreError
from microlab.frames import frame_index

SCHEMA_VERSION = 3
APP_ID = "microlab"

# What each schema version adds to the one before; a project file is created with ``_SCHEMA``
# (version 1, byte-identical to the first release) and brought up to date by the same steps an
# old file takes when it is opened.  Each step only adds, so nothing a person labelled changes.
_MIGRATIONS = {
    # 2: several objects per clip: a box's track (object identity); NULL = none.
    2: "ALTER TABLE boxes ADD COLUMN track_id INTEGER;",
    # 3: a frame a person boxed only partly (some objects, not all); 0 = every object boxed.
    3: "ALTER TABLE frames ADD COLUMN partial INTEGER NOT NULL DEFAULT 0;",
}

# The sources as SQL lists, for queries (the schema below spells them out: it must not change).
_HUMAN_SQL = ", ".join(f"'{s.value}'" for s in HUMAN_SOURCES)
#: a live box a person made, imported or accepted (the SQL twin of :attr:`BoxRecord.by_person`)
_PERSON_BOX_SQL = (f"status IN ('active', 'accepted') AND (source IN ({_HUMAN_SQL}) OR "
                   "status = 'accepted')")
_MACHINE_SQL = ", ".join(f"'{s.value}'" for s in MACHINE_SOURCES)

_SCHEMA = """
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE frames(
    idx INTEGER PRIMARY KEY,
    verified INTEGER NOT NULL DEFAULT 0,
    verified_at REAL
);
CREATE TABLE boxes(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    frame INTEGER NOT NULL REFERENCES frames(idx),
    x0 REAL NOT NULL, y0 REAL NOT NULL, x1 REAL NOT NULL, y1 REAL NOT NULL,
    class_id INTEGER NOT NULL DEFAULT 0,
    source TEXT NOT NULL CHECK (source IN ('human', 'imported', 'model', 'interpolated', 'tracker')),
    model_version INTEGER,
    score REAL,
    status TEXT NOT NULL CHECK (status IN ('active', 'accepted', 'replaced', 'deleted')),
    iteration INTEGER NOT NULL,
    created_at REAL NOT NULL,
    replaces INTEGER REFERENCES boxes(id)
);
CREATE INDEX boxes_by_frame ON boxes(frame, status);
CREATE TABLE actions(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    iteration INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('draw', 'correct', 'delete', 'absent', 'accept', 'skip', 'import')),
    frame INTEGER NOT NULL,
    box_id INTEGER,
    cost INTEGER NOT NULL,
    detail TEXT
);
CREATE TRIGGER actions_append_only_update BEFORE UPDATE ON actions
    BEGIN SELECT RAISE(ABORT, 'the action log is append-only'); END;
CREATE TRIGGER actions_append_only_delete BEFORE DELETE ON actions
    BEGIN SELECT RAISE(ABORT, 'the action log is append-only'); END;
CREATE TABLE iterations(
    idx INTEGER PRIMARY KEY,
    started_at REAL NOT NULL,
    model_versions TEXT,
    train_s REAL,
    predict_s REAL,
    stats TEXT
);
CREATE TABLE models(
    version INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at REAL NOT NULL,
    iteration INTEGER NOT NULL,
    config TEXT NOT NULL,
    segment_start INTEGER,
    segment_end INTEGER,
    weights BLOB NOT NULL,
    train_s REAL,
    n_labels INTEGER
);
CREATE TABLE arrays(
    iteration INTEGER NOT NULL,
    name TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (iteration, name)
);
CREATE TABLE segments(
    iteration INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    model_version INTEGER,
    PRIMARY KEY (iteration, idx)
);
"""  # noqa: E501 (SQL data: the schema text stays byte-identical)

# Frame classification projects (``meta["task"] == "classify"``) add one append-only table: each
# row is one human answer about a frame's tags.  ``tag`` sets them (1 action), ``accept`` confirms
# the tags the machine showed (0), ``skip`` records a frame viewed and left alone (0), ``import``
# brings tags from a file (0, and not a frame viewed).  ``shown`` is what the machine proposed
# when the person answered (the calibration's evidence).
_TAG_SCHEMA = """
CREATE TABLE IF NOT EXISTS tag_actions(
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    iteration INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('tag', 'accept', 'skip', 'import')),
    frame INTEGER NOT NULL REFERENCES frames(idx),
    classes TEXT NOT NULL,
    shown TEXT,
    cost INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS tag_actions_by_frame ON tag_actions(frame, id);
CREATE TRIGGER IF NOT EXISTS tag_actions_append_only_update BEFORE UPDATE ON tag_actions
    BEGIN SELECT RAISE(ABORT, 'the tag log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS tag_actions_append_only_delete BEFORE DELETE ON tag_actions
    BEGIN SELECT RAISE(ABORT, 'the tag log is append-only'); END;
"""
TAG_COSTS = {"tag": 1, "accept": 0, "skip": 0, "import": 0}


@dataclass(frozen=True)
class BoxRecord:
    """One stored box (a row of the ``boxes`` table); see :meth:`to_detections`."""

    id: int
    frame: int
    xyxy: tuple[float, float, float, float]
    class_id: int
    source: Source
    model_version: int | None
    score: float | None
    status: str
    iteration: int
    track_id: int | None = None

    @property
    def by_person(self) -> bool:
        """True for a box a person made, imported or accepted."""
        return self.source in HUMAN_SOURCES or self.status == "accepted"

    def to_detections(self) -> Detections:
        """This box alone as :class:`~microlab.boxes.Detections` (``data["box_id"]`` = its id)."""
        return Detections.from_records([self])


@dataclass(frozen=True)
class FrameLabel:
    """The resolved label of one frame (see the module docstring)."""

    frame: int
    verified: bool
    boxes: tuple[BoxRecord, ...]
    complete: bool = True

    @property
    def human_boxes(self) -> tuple[BoxRecord, ...]:
        """The boxes a person made, imported or accepted (all of a complete verified frame's;
        none of an unverified frame's)."""
        if not self.verified:
            return ()
        return tuple(b for b in self.boxes if b.by_person)

    @property
    def settled(self) -> bool:
        """True when a person has decided this frame whole: verified and complete."""
        return self.verified and self.complete

    @property
    def absent(self) -> bool:
        """True when the label says "no object here" (verified, or predicted, with no box)."""
        return not self.boxes

    def detections(self) -> Detections:
        """The label's boxes (see :meth:`~microlab.boxes.Detections.from_records`)."""
        return Detections.from_records(self.boxes)


@dataclass(frozen=True)
class TagRecord:
    """One entry of the tag log: a human answer about the tags of a frame."""

    id: int
    ts: float
    iteration: int
    kind: str
    frame: int
    classes: tuple[int, ...]
    shown: tuple[int, ...] | None
    cost: int


@dataclass(frozen=True)
class ActionRecord:
    """One entry of the append-only action log."""

    id: int
    ts: float
    iteration: int
    kind: str
    frame: int
    box_id: int | None
    cost: int
    detail: dict[str, Any] | None


def _box_id(box_id: object) -> int:
    # int() alone would make correct_box(1.7, ...) or correct_box(True, ...) edit box 1.
    if isinstance(box_id, bool) or not isinstance(box_id, (int, np.integer)):
        raise AnnotationError(f"a box id must be an int, but got {box_id!r}")
    if not 0 < int(box_id) < 2**63:  # ids are positive; SQLite overflows past 64 bits
        raise AnnotationError(f"box {box_id} does not exist in this project")
    return int(box_id)


def _box_from_row(row: sqlite3.Row) -> BoxRecord:
    return BoxRecord(
        id=row["id"],
        frame=row["frame"],
        xyxy=(row["x0"], row["y0"], row["x1"], row["y1"]),
        class_id=row["class_id"],
        source=Source(row["source"]),
        model_version=row["model_version"],
        score=row["score"],
        status=row["status"],
        iteration=row["iteration"],
        track_id=row["track_id"],
    )


def _with_proposals(human: Sequence[BoxRecord],
                    machine: Sequence[BoxRecord]) -> tuple[BoxRecord, ...]:
    """A partly boxed frame's label: the person's boxes, then the machine boxes of the other
    objects (a machine box on a person's box, or of one of its tracks, is left out)."""
    tracks = {b.track_id for b in human if b.track_id is not None}
    kept = [b for b in machine if b.track_id is None or b.track_id not in tracks]
    if human and kept:
        overlap = box_iou(np.array([b.xyxy for b in kept]), np.array([b.xyxy for b in human]))
        kept = [b for b, o in zip(kept, overlap.max(axis=1)) if o < 0.5]
    return (*human, *kept)


class Store:
    """The project database.  Use :meth:`create` or :meth:`open`; close with :meth:`close`."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection
        self._lock = threading.RLock()

    # ------------------------------------------------------------------ opening
    @staticmethod
    def _connect(path: Path, *, wal: bool = True) -> sqlite3.Connection:
        db = sqlite3.connect(str(path), timeout=30.0, isolation_level=None, check_same_thread=False)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout = 30000")
        if wal:
            db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        return db

    @classmethod
    def create(cls, path: str | Path, meta: Mapping[str, Any]) -> Store:
        """Create a new project file at ``path`` (it must not exist) with the given metadata."""
        path = Path(path)
        if path.exists():
            raise StoreError(f"{path} already exists; open it with Store.open() instead")
        path.parent.mkdir(parents=True, exist_ok=True)
        # Built under a temporary name and renamed, so a crash never leaves half a project.
        tmp = path.with_name(path.name + ".creating")
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)
        db = cls._connect(tmp)
        try:
            db.executescript(_SCHEMA)
            for version in sorted(_MIGRATIONS):
                db.executescript(_MIGRATIONS[version])
            if meta.get("task") == "classify":
                db.executescript(_TAG_SCHEMA)
            db.execute("BEGIN IMMEDIATE")
            rows = {"app": APP_ID, "schema_version": SCHEMA_VERSION, "created_at": time.time(),
                    **meta}
            db.executemany(
                "INSERT INTO meta(key, value) VALUES (?, ?)",
                [(k, json.dumps(v)) for k, v in rows.items()],
            )
            n_frames = int(meta["n_frames"])
            db.executemany("INSERT INTO frames(idx) VALUES (?)", [(i,) for i in range(n_frames)])
            db.execute("INSERT INTO iterations(idx, started_at) VALUES (0, ?)", (time.time(),))
            db.execute("COMMIT")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
        tmp.replace(path)
        return cls.open(path)

    @classmethod
    def open(cls, path: str | Path) -> Store:
        """Open an existing project file; refuses files that are not microlab projects."""
        path = Path(path)
        if path.is_dir():
            raise StoreError(f"{path} is a folder, not a project file")
        if not path.is_file():
            raise StoreError(f"project file {path} does not exist")
        with open(path, "rb") as fh:
            header = fh.read(16)
        if not header:
            raise StoreError(
                f"{path} is an empty file, not a microlab project; remove it or choose another path"
            )
        if header != b"SQLite format 3\x00":
            raise StoreError(f"{path} is not a microlab project file (not an SQLite database)")
        # Look before writing: switching to WAL converts the file, and must not happen to a
        # database of another program that we are about to refuse.
        try:
            db = cls._connect(path, wal=False)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a microlab project file: {exc}") from exc
        try:
            version = cls._check_project(path, db)
            db.execute("PRAGMA journal_mode = WAL")
            if version < SCHEMA_VERSION:
                cls._migrate(path, db, version)
        except sqlite3.Error as exc:
            db.close()
            raise StoreError(f"{path} cannot be opened: {exc}") from exc
        except BaseException:
            db.close()
            raise
        return cls(path, db)

    @staticmethod
    def _migrate(path: Path, db: sqlite3.Connection, version: int) -> None:
        """Bring a project file written by an older microlab up to :data:`SCHEMA_VERSION`, in
        one transaction (all steps or none)."""
        try:
            db.execute("BEGIN IMMEDIATE")
            for step in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[step].split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
                       (json.dumps(SCHEMA_VERSION),))
            db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise StoreError(
                f"{path} was written by an older microlab (schema {version}) and must be "
                f"updated to schema {SCHEMA_VERSION} to open, but that failed ({exc}); make the "
                "file writable, or open a copy"
            ) from exc

    @staticmethod
    def _check_project(path: Path, db: sqlite3.Connection) -> int:
        """The schema version of ``db``; :class:`StoreError` unless it is a microlab project
        this version reads."""
        try:
            rows = dict(db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a microlab project file: {exc}") from exc
        try:
            app = json.loads(rows.get("app", "null"))
            version = json.loads(rows["schema_version"])
        except (KeyError, TypeError, ValueError):
            app = version = None
        if app != APP_ID or not isinstance(version, int):
            raise StoreError(f"{path} is an SQLite file but not a microlab project")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} was written by a newer microlab (schema {version}, this one reads "
                f"{SCHEMA_VERSION}); upgrade microlab"
            )
        return version

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def snapshot(self) -> bytes:
        """A consistent copy of the whole project file, as bytes (SQLite's online backup: it
        sees every committed write and nothing half-done).  A worker process opens it as a
        project of its own to train on, and hands back what it made; this store stays the only
        one a person's actions are written to."""
        import tempfile

        with tempfile.TemporaryDirectory(prefix="microlab-snapshot-") as tmp:
            target = Path(tmp) / "snapshot.mlab"
            copy = sqlite3.connect(target)
            try:
                with self._lock:
                    self._db.backup(copy)
                copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            finally:
                copy.close()
            return target.read_bytes()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self):
        """One atomic, durable write: committed when the block exits, rolled back on error.

        Nested blocks join the outer one (as a savepoint), so a caller can make several writes,
        e.g. one :meth:`apply_actions` per frame of an imported file, all-or-nothing.
        """
        with self._lock:
            if self._db.in_transaction:
                self._db.execute("SAVEPOINT nested")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK TO nested")
                    self._db.execute("RELEASE nested")
                    raise
                self._db.execute("RELEASE nested")
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # ------------------------------------------------------------------ metadata
    @property
    def meta(self) -> dict[str, Any]:
        return {row["key"]: json.loads(row["value"]) for row in self._query("SELECT * FROM meta")}

    def set_meta(self, key: str, value: Any) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                       (key, json.dumps(value)))

    @property
    def n_frames(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM frames")[0][0])

    def integrity_check(self) -> str:
        return str(self._query("PRAGMA integrity_check")[0][0])

    # ------------------------------------------------------------------ iterations
    @property
    def iteration(self) -> int:
        """The current iteration: 0 while the first labels are drawn, +1 after each prediction."""
        return int(self._query("SELECT MAX(idx) FROM iterations")[0][0])

    def start_iteration(
        self,
        *,
        model_versions: Sequence[int],
        train_s: float,
        predict_s: float,
        stats: Mapping[str, Any] | None = None,
    ) -> int:
        """Close the current iteration's review and open the next one; returns its index."""
        with self.transaction() as db:
            idx = int(db.execute("SELECT MAX(idx) FROM iterations").fetchone()[0]) + 1
            db.execute(
                "INSERT INTO iterations(idx, started_at, "
                "model_versions, train_s, predict_s, stats) VALUES (?, ?, ?, ?, ?, ?)",
                (idx, time.time(), json.dumps(list(model_versions)), train_s, predict_s,
                 json.dumps(dict(stats or {}))),
            )
        return idx

    def iterations(self) -> list[dict[str, Any]]:
        rows = self._query("SELECT * FROM iterations ORDER BY idx")
        out = []
        for r in rows:
            out.append({
                "iteration": r["idx"],
                "started_at": r["started_at"],
                "model_versions": json.loads(r["model_versions"] or "[]"),
                "train_s": r["train_s"],
                "predict_s": r["predict_s"],
                "stats": json.loads(r["stats"] or "{}"),
            })
        return out

    # ------------------------------------------------------------------ human actions
    def _check_frame(self, db: sqlite3.Connection, frame: int) -> int:
        return frame_index(frame, db.execute("SELECT COUNT(*) FROM frames").fetchone()[0])

    def _box_row(self, db: sqlite3.Connection, box_id: int) -> sqlite3.Row:
        row = db.execute("SELECT * FROM boxes WHERE id = ?", (_box_id(box_id),)).fetchone()
        if row is None:
            raise AnnotationError(f"box {box_id} does not exist in this project")
        if row["status"] in ("replaced", "deleted"):
            raise AnnotationError(f"box {box_id} was already {row['status']}; reload the frame")
        return row

    def _log(
        self,
        db: sqlite3.Connection,
        kind: str,
        frame: int,
        iteration: int,
        box_id: int | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        cur = db.execute(
            "INSERT INTO actions(ts, iteration, kind, frame, box_id, cost, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (time.time(), iteration, kind, frame, box_id, ACTION_COSTS[kind],
             json.dumps(dict(detail)) if detail else None),
        )
        return int(cur.lastrowid)

    def _verify(self, db: sqlite3.Connection, frame: int) -> None:
        db.execute("UPDATE frames SET verified = 1, verified_at = ? WHERE idx = ?",
                   (time.time(), frame))

    def _insert_box(
        self,
        db: sqlite3.Connection,
        frame: int,
        xyxy: Sequence[float],
        *,
        class_id: int,
        source: str,
        iteration: int,
        status: str = "active",
        model_version: int | None = None,
        score: float | None = None,
        replaces: int | None = None,
        track_id: int | None = None,
    ) -> int:
        x0, y0, x1, y1 = (float(v) for v in xyxy)
        cur = db.execute(
            "INSERT INTO boxes(frame, x0, y0, x1, y1, class_id, source, model_version, score, "
            "status, iteration, created_at, replaces, track_id) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (frame, x0, y0, x1, y1, int(class_id), str(source), model_version,
             None if score is None else float(score), status, iteration, time.time(), replaces,
             None if track_id is None else int(track_id)),
        )
        return int(cur.lastrowid)

    def _own_box(self, db: sqlite3.Connection, box_id: int, frame: int) -> sqlite3.Row:
        """A live box of ``frame``, or :class:`AnnotationError`."""
        row = self._box_row(db, box_id)
        if row["frame"] != frame:
            raise AnnotationError(f"box {box_id} belongs to frame {row['frame']}, not {frame}")
        return row

    def apply_actions(self, frame: int, operations: Sequence[Action]) -> list[int]:
        """Record a frame's review as one atomic transaction; returns the new box ids.

        Each operation is an :mod:`microlab.actions` dataclass: :class:`~microlab.actions.Draw`,
        ``Correct``, ``Delete``, ``MarkAbsent``, ``Accept``, ``Skip``, ``Import`` or
        ``ImportAbsent``.  Boxes must already be validated by the caller.
        """
        new_ids: list[int] = []
        with self.transaction() as db:
            frame = self._check_frame(db, frame)
            it = int(db.execute("SELECT MAX(idx) FROM iterations").fetchone()[0])
            for op in operations:
                box_id = self._apply(db, frame, it, op)
                if box_id is not None:
                    new_ids.append(box_id)
            self._check_identities(db, frame)
        return new_ids

    @staticmethod
    def _check_identities(db: sqlite3.Connection, frame: int) -> None:
        """One object is one box: refuse (and so roll back) a frame where a person's boxes give
        one track to two boxes."""
        rows = db.execute(
            "SELECT track_id, COUNT(*) FROM boxes WHERE frame = ? AND track_id IS NOT NULL AND "
            f"{_PERSON_BOX_SQL} GROUP BY track_id HAVING COUNT(*) > 1", (frame,)).fetchall()
        if rows:
            track, count = rows[0]
            raise AnnotationError(
                f"track {track} would have {count} boxes in frame {frame}; one track is one "
                "object: give the other box its own track (or none), or correct the first")

    def _apply(self, db: sqlite3.Connection, frame: int, it: int, op: Action) -> int | None:
        """Record one action; returns the id of the box it made, if any."""
        match op:
            case (Draw(xyxy=xyxy, class_id=class_id, track_id=track)
                  | Import(xyxy=xyxy, class_id=class_id, track_id=track)):
                source = Source.HUMAN if isinstance(op, Draw) else Source.IMPORTED
                box_id = self._insert_box(db, frame, xyxy, class_id=class_id, source=source,
                                          iteration=it, track_id=track)
                detail = {"xyxy": list(xyxy)} if isinstance(op, Draw) else None
                if track is not None and detail is not None:
                    detail["track_id"] = int(track)
                self._log(db, op.kind, frame, it, box_id, detail)
            case Correct(box_id=old_id, xyxy=xyxy, class_id=class_id, track_id=track):
                old = self._own_box(db, old_id, frame)
                db.execute("UPDATE boxes SET status = 'replaced' WHERE id = ?", (old["id"],))
                box_id = self._insert_box(
                    db, frame, xyxy, source=Source.HUMAN, iteration=it, replaces=old["id"],
                    class_id=old["class_id"] if class_id is None else class_id,
                    track_id=old["track_id"] if track is None else track,
                )
                detail = {"xyxy": list(xyxy), "replaces": old["id"]}
                if track is not None:
                    detail["track_id"] = int(track)
                self._log(db, op.kind, frame, it, box_id, detail)
            case Delete(box_id=old_id):
                old = self._own_box(db, old_id, frame)
                db.execute("UPDATE boxes SET status = 'deleted' WHERE id = ?", (old["id"],))
                self._log(db, op.kind, frame, it, old["id"])
                box_id = None
            case MarkAbsent(track_id=None):
                db.execute(
                    f"UPDATE boxes SET status = 'deleted' WHERE frame = ? AND {_PERSON_BOX_SQL}",
                    (frame,),
                )
                db.execute("UPDATE frames SET partial = 0 WHERE idx = ?", (frame,))
                self._log(db, op.kind, frame, it)
                box_id = None
            case MarkAbsent(track_id=track):
                # One object left the view: only its boxes go; the frame's others stay.
                db.execute(
                    "UPDATE boxes SET status = 'deleted' WHERE frame = ? AND track_id = ? AND "
                    f"{_PERSON_BOX_SQL}",
                    (frame, int(track)),
                )
                self._log(db, op.kind, frame, it, None, {"track_id": int(track)})
                box_id = None
            case Accept(box_ids=box_ids):
                for bid in box_ids:
                    old = self._own_box(db, bid, frame)
                    db.execute("UPDATE boxes SET status = 'accepted' WHERE id = ?", (old["id"],))
                self._log(db, op.kind, frame, it, None, {"box_ids": [int(b) for b in box_ids]})
                db.execute("UPDATE frames SET partial = 0 WHERE idx = ?", (frame,))
                box_id = None
            case MarkComplete(complete=complete):
                if not complete:
                    n_human = db.execute(
                        f"SELECT COUNT(*) FROM boxes WHERE frame = ? AND {_PERSON_BOX_SQL}",
                        (frame,)).fetchone()[0]
                    if not n_human:
                        raise AnnotationError(
                            f"frame {frame} has no box of a person, so it cannot be partly "
                            "boxed: draw the objects you know first (or mark the frame absent)")
                db.execute("UPDATE frames SET partial = ? WHERE idx = ?",
                           (0 if complete else 1, frame))
                self._log(db, op.kind, frame, it, None, {"complete": bool(complete)})
                box_id = None
            case Skip():
                self._log(db, op.kind, frame, it)
                return None  # looked at, not verified
            case ImportAbsent():
                self._log(db, op.kind, frame, it, None, {"absent": True})
                box_id = None
            case _:
                hint = (" (action dicts were replaced by microlab.actions.Draw(xyxy, class_id) "
                        "and its siblings)" if isinstance(op, Mapping) else "")
                names = ", ".join(a.__name__ for a in ACTIONS)
                raise AnnotationError(f"unknown action {op!r}{hint}; expected one of {names}")
        self._verify(db, frame)
        return box_id

    # ------------------------------------------------------------------ machine labels
    def write_predictions(
        self,
        predictions: Mapping[int, Detections],
        *,
        source: str = "model",
        model_version: int | None = None,
        box_sources: Mapping[int, Sequence[str]] | None = None,
    ) -> None:
        """Replace the machine boxes of the given frames (one transaction).

        Human and accepted boxes are never touched; on verified frames the new boxes are kept
        for metrics but do not change the label.  ``box_sources`` gives a source per box of a
        frame where they differ (a labeller mixes model, tracker and interpolated boxes).
        """
        for name in [source, *(n for names in (box_sources or {}).values() for n in names)]:
            if name not in MACHINE_SOURCES:
                raise AnnotationError(
                    f"source must be one of {', '.join(MACHINE_SOURCES)}, but got {str(name)!r}"
                )
        now = time.time()
        with self.transaction() as db:
            it = int(db.execute("SELECT MAX(idx) FROM iterations").fetchone()[0])
            frames = [int(f) for f in predictions]
            db.executemany(
                "UPDATE boxes SET status = 'replaced' WHERE frame = ? AND status = 'active' "
                f"AND source IN ({_MACHINE_SQL})",
                [(f,) for f in frames],
            )
            rows = []
            for f, det in predictions.items():
                names = (box_sources or {}).get(f) or [source] * len(det)
                for box, score, cls, name, track in zip(det.xyxy, det.scores, det.class_ids,
                                                        names, det.track_ids):
                    rows.append((int(f), *map(float, box), int(cls), str(name), model_version,
                                 float(score), "active", it, now,
                                 int(track) if track >= 0 else None))
            db.executemany(
                "INSERT INTO boxes(frame, x0, y0, x1, y1, class_id, source, model_version, score, "
                "status, iteration, created_at, track_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )

    # ------------------------------------------------------------------ reading labels
    def labels(self, frames: Iterable[int] | None = None) -> dict[int, FrameLabel]:
        """The resolved label of every frame (or of the given frames)."""
        state = {r[0]: (bool(r[1]), bool(r[2]))
                 for r in self._query("SELECT idx, verified, partial FROM frames")}
        # Frames are 0..n-1, so the dict of all frames also gives n.
        wanted = (sorted(state) if frames is None
                  else [frame_index(f, len(state)) for f in frames])
        live = "SELECT * FROM boxes WHERE status IN ('active', 'accepted')"
        if frames is None or len(wanted) > 200:
            rows = self._query(f"{live} ORDER BY frame, id")
        else:  # a few frames (the widgets ask for one): read only their boxes
            rows = self._query(f"{live} AND frame IN ({','.join('?' * len(wanted))}) "
                               "ORDER BY frame, id", tuple(wanted))
        human: dict[int, list[BoxRecord]] = {}
        machine: dict[int, list[BoxRecord]] = {}
        for row in rows:
            box = _box_from_row(row)
            if box.by_person:
                human.setdefault(box.frame, []).append(box)
            else:
                machine.setdefault(box.frame, []).append(box)
        out = {}
        for f in wanted:
            verified, partial = state[f]
            if verified and partial:
                out[f] = FrameLabel(f, True, _with_proposals(human.get(f, []),
                                                             machine.get(f, [])), complete=False)
            elif verified:
                out[f] = FrameLabel(f, True, tuple(human.get(f, ())))
            else:
                out[f] = FrameLabel(f, False, tuple(machine.get(f, ())))
        return out

    def partial_frames(self) -> list[int]:
        """Verified frames a person marked partly boxed (not every object boxed)."""
        return [r[0] for r in self._query(
            "SELECT idx FROM frames WHERE verified = 1 AND partial = 1 ORDER BY idx")]

    def machine_boxes(self, frame: int) -> list[BoxRecord]:
        """The current (active) machine boxes of a frame, even on a verified frame."""
        rows = self._query(
            "SELECT * FROM boxes WHERE frame = ? AND status = 'active' "
            f"AND source IN ({_MACHINE_SQL}) ORDER BY id",
            (frame_index(frame, self.n_frames),),
        )
        return [_box_from_row(r) for r in rows]

    def box(self, box_id: int) -> BoxRecord:
        rows = self._query("SELECT * FROM boxes WHERE id = ?", (_box_id(box_id),))
        if not rows:
            raise AnnotationError(f"box {box_id} does not exist in this project")
        return _box_from_row(rows[0])

    def verified_frames(self) -> list[int]:
        return [r[0] for r in self._query("SELECT idx FROM frames WHERE verified = 1 ORDER BY idx")]

    def actions(self, iteration: int | None = None) -> list[ActionRecord]:
        sql, params = "SELECT * FROM actions", ()
        if iteration is not None:
            sql, params = sql + " WHERE iteration = ?", (int(iteration),)
        return [
            ActionRecord(r["id"], r["ts"], r["iteration"], r["kind"], r["frame"], r["box_id"],
                         r["cost"], json.loads(r["detail"]) if r["detail"] else None)
            for r in self._query(sql + " ORDER BY id", params)
        ]

    def action_totals(self, *, up_to_iteration: int | None = None) -> dict[str, int]:
        """Human actions (cost) and frames viewed, in all or up to an iteration (inclusive)."""
        where, params = "WHERE kind != 'import'", []
        if up_to_iteration is not None:
            where += " AND iteration <= ?"
            params.append(int(up_to_iteration))
        row = self._query(
            "SELECT COALESCE(SUM(cost), 0), COUNT(DISTINCT iteration || ':' || frame) "
            f"FROM actions {where}",
            params,
        )[0]
        return {"actions": int(row[0]), "frames_viewed": int(row[1])}

    # ------------------------------------------------------------------ models and segments
    def save_model(
        self,
        *,
        config: Mapping[str, Any],
        weights: bytes,
        segment: tuple[int, int] | None = None,
        train_s: float | None = None,
        n_labels: int | None = None,
    ) -> int:
        with self.transaction() as db:
            it = int(db.execute("SELECT MAX(idx) FROM iterations").fetchone()[0])
            cur = db.execute(
                "INSERT INTO models(created_at, iteration, config, "
                "segment_start, segment_end, weights, train_s, n_labels) VALUES (?,?,?,?,?,?,?,?)",
                (time.time(), it, json.dumps(dict(config)), *(segment or (None, None)),
                 sqlite3.Binary(weights), train_s, n_labels),
            )
            return int(cur.lastrowid)

    def load_model(self, version: int | None = None) -> tuple[int, dict[str, Any], bytes]:
        """``(version, config, safetensors bytes)`` of a checkpoint (the latest by default)."""
        if version is None:
            rows = self._query("SELECT * FROM models ORDER BY version DESC LIMIT 1")
        else:
            rows = self._query("SELECT * FROM models WHERE version = ?", (int(version),))
        if not rows:
            what = ("no model has been trained yet" if version is None
                    else f"model {version} does not exist")
            raise StoreError(f"{self.path}: {what}")
        r = rows[0]
        return int(r["version"]), json.loads(r["config"]), bytes(r["weights"])

    def models(self) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT version, created_at, iteration, config, "
            "segment_start, segment_end, train_s, n_labels FROM models ORDER BY version"
        )
        return [
            {**dict(r), "config": json.loads(r["config"])} for r in rows
        ]

    def save_arrays(self, iteration: int, name: str, arrays: Mapping[str, np.ndarray]) -> None:
        """Keep named numpy arrays (candidates, confidences...) with an iteration, as ``.npz``."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **{k: np.asarray(v) for k, v in arrays.items()})
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO arrays(iteration, name, data) VALUES (?, ?, ?)",
                (int(iteration), name, sqlite3.Binary(buffer.getvalue())),
            )

    def load_arrays(self, iteration: int, name: str) -> dict[str, np.ndarray] | None:
        """Arrays saved by :meth:`save_arrays` (never unpickled), or ``None``."""
        rows = self._query("SELECT data FROM arrays WHERE iteration = ? AND name = ?",
                           (int(iteration), name))
        if not rows:
            return None
        with np.load(io.BytesIO(bytes(rows[0][0])), allow_pickle=False) as data:
            return {k: data[k] for k in data.files}

    def save_segments(self, iteration: int,
                      segments: Sequence[tuple[int, int, int | None]]) -> None:
        """Record the segments ``(start, end, model_version)`` used for an iteration."""
        with self.transaction() as db:
            db.execute("DELETE FROM segments WHERE iteration = ?", (iteration,))
            db.executemany(
                "INSERT INTO segments(iteration, idx, start, end, model_version) "
                "VALUES (?,?,?,?,?)",
                [(iteration, i, s, e, m) for i, (s, e, m) in enumerate(segments)],
            )

    def segments(self, iteration: int) -> list[tuple[int, int, int | None]]:
        rows = self._query(
            "SELECT start, end, model_version FROM segments WHERE iteration = ? ORDER BY idx",
            (iteration,)
        )
        return [(r[0], r[1], r[2]) for r in rows]

    # ------------------------------------------------------------------ frame tags
    def record_tags(self, answers: Sequence[tuple[int, str, Sequence[int], Sequence[int] | None]]
                    ) -> list[int]:
        """Append human tag answers ``(frame, kind, class_ids, shown)``, all or none, committed
        before this returns; returns their ids.  ``kind`` is a key of :data:`TAG_COSTS`."""
        now = time.time()
        ids = []
        with self.transaction() as db:
            it = int(db.execute("SELECT MAX(idx) FROM iterations").fetchone()[0])
            for frame, kind, classes, shown in answers:
                if kind not in TAG_COSTS:
                    raise AnnotationError(f"a tag answer is one of {sorted(TAG_COSTS)}, "
                                          f"not {kind!r}")
                cur = db.execute(
                    "INSERT INTO tag_actions(ts, iteration, kind, frame, classes, shown, cost) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (now, it, kind, self._check_frame(db, frame),
                     json.dumps([int(c) for c in classes]),
                     None if shown is None else json.dumps([int(c) for c in shown]),
                     TAG_COSTS[kind]),
                )
                ids.append(int(cur.lastrowid))
        return ids

    def tag_log(self) -> list[TagRecord]:
        """Every tag answer, oldest first."""
        return [
            TagRecord(r["id"], r["ts"], r["iteration"], r["kind"], r["frame"],
                      tuple(json.loads(r["classes"])),
                      None if r["shown"] is None else tuple(json.loads(r["shown"])), r["cost"])
            for r in self._query("SELECT * FROM tag_actions ORDER BY id")
        ]

    def human_tags(self) -> dict[int, tuple[int, ...]]:
        """``{frame: class ids}``: the latest tag or accept of each frame a person answered."""
        out: dict[int, tuple[int, ...]] = {}
        for r in self.tag_log():
            if r.kind != "skip":
                out[r.frame] = r.classes
        return dict(sorted(out.items()))

    def tag_totals(self, *, up_to_iteration: int | None = None) -> dict[str, int]:
        """Tag actions (cost) and frames viewed, in all or up to an iteration (inclusive);
        imported tags are neither."""
        where, params = "WHERE kind != 'import'", []
        if up_to_iteration is not None:
            where += " AND iteration <= ?"
            params.append(int(up_to_iteration))
        row = self._query(
            "SELECT COALESCE(SUM(cost), 0), COUNT(DISTINCT iteration || ':' || frame) "
            f"FROM tag_actions {where}", params)[0]
        return {"actions": int(row[0]), "frames_viewed": int(row[1])}
