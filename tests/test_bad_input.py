"""Bad input at the public entry points (hypothesis): every case raises a microlab error whose
message names the offending value or file, and leaves the project's store exactly as it was.
"""

from __future__ import annotations

import math
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from media import synthetic_frames

from microlab.boxes import Detections
from microlab.errors import AnnotationError, FramesError, MicrolabError
from microlab.frames import open_frames
from microlab.project import Project

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CLASSES = ("object", "other")
SNAPSHOT_TABLES = ("meta", "frames", "boxes", "actions", "iterations", "models", "segments")


# ------------------------------------------------------------------ fixtures and checks


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bad-input")


@pytest.fixture(scope="module")
def project(small_clip, workdir: Path) -> Iterator[Project]:
    """A project with some of everything: human boxes, an absent frame, machine boxes."""
    proj = Project.open(workdir / "bad.mlab", video=small_clip.path, classes=CLASSES)
    proj.draw_box(0, (10, 10, 30, 40))
    proj.mark_absent(1)
    proj.store.write_predictions(
        {f: Detections(np.array([[20.0, 15.0, 45.0, 50.0]]), np.array([0.7])) for f in (2, 3, 4)}
    )
    proj.store.start_iteration(model_versions=[], train_s=0.0, predict_s=0.0)
    yield proj
    proj.close()


def snapshot(project: Project) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the store, read through a separate connection (committed data only)."""
    db = sqlite3.connect(project.path)
    try:
        return {t: db.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall()
                for t in SNAPSHOT_TABLES}
    finally:
        db.close()


def expect_error(
    project: Project | None,
    call: Callable[[], object],
    *,
    error: type[MicrolabError] = AnnotationError,
    names: Callable[[str], bool],
) -> str:
    """Run ``call``: it must raise ``error`` whose message ``names`` accepts; no store change."""
    before = snapshot(project) if project is not None else None
    with pytest.raises(error) as info:
        call()
    message = str(info.value)
    assert names(message), f"the message does not name the bad input: {message!r}"
    if project is not None:
        assert not project.store._db.in_transaction
        assert snapshot(project) == before
    return message


_NUMBER = re.compile(r"-?(?:\d+\.?\d*(?:e[+-]?\d+)?|nan|inf)", re.IGNORECASE)


def names_box(box: tuple[float, ...]) -> Callable[[str], bool]:
    """The message shows the box: each coordinate (rounded to 2 decimals) appears in it."""

    def check(message: str) -> bool:
        shown = [float(m) for m in _NUMBER.findall(message)]
        for v in box:
            if math.isnan(v):
                ok = any(math.isnan(s) for s in shown)
            else:
                ok = any(s == v or abs(s - v) <= 0.006 + 1e-9 * abs(v) for s in shown)
            if not ok:
                return False
        return True

    return check


def names_value(value: object) -> Callable[[str], bool]:
    return lambda message: repr(value) in message or str(value) in message


def mentions(text: str) -> Callable[[str], bool]:
    return lambda message: text in message


# ------------------------------------------------------------------ strategies

WIDTH, HEIGHT = 96, 64  # the small clip (conftest)
coord = st.floats(min_value=-200, max_value=300, allow_nan=False, allow_infinity=False)


@st.composite
def too_small_boxes(draw: st.DrawFn) -> tuple[float, float, float, float]:
    """Negative, zero or sub-pixel width or height (inside the image otherwise)."""
    x0 = draw(st.floats(0, WIDTH - 2))
    y0 = draw(st.floats(0, HEIGHT - 2))
    w = draw(st.floats(-80, 0.99))
    h = draw(st.floats(1, 30))
    if draw(st.booleans()):
        w, h = h, w
    return (x0, y0, x0 + w, y0 + h)


@st.composite
def non_finite_boxes(draw: st.DrawFn) -> tuple[float, ...]:
    box = [10.0, 10.0, 30.0, 40.0]
    for i in draw(st.sets(st.integers(0, 3), min_size=1)):
        box[i] = draw(st.sampled_from([math.nan, math.inf, -math.inf]))
    return tuple(box)


@st.composite
def outside_boxes(draw: st.DrawFn) -> tuple[float, float, float, float]:
    """A box of fine size that crosses an image edge by more than the 1 px tolerance."""
    w = draw(st.floats(2, 60))
    h = draw(st.floats(2, 40))
    over = draw(st.floats(1.01, 500))
    x0 = draw(st.floats(0, WIDTH - 2))
    y0 = draw(st.floats(0, HEIGHT - 2))
    side = draw(st.sampled_from(["left", "top", "right", "bottom"]))
    if side == "left":
        x0 = -over
    elif side == "top":
        y0 = -over
    elif side == "right":
        x0 = WIDTH + over - w
    else:
        y0 = HEIGHT + over - h
    return (x0, y0, x0 + w, y0 + h)


bad_numeric_boxes = st.one_of(too_small_boxes(), non_finite_boxes(), outside_boxes())
wrong_type_boxes = st.one_of(
    st.none(),
    st.text(max_size=8),
    st.booleans(),
    st.integers(),
    st.dictionaries(st.text(max_size=3), coord, max_size=3),
    st.lists(coord, max_size=3),
    st.lists(coord, min_size=5, max_size=8),
    st.tuples(*[st.text(max_size=4)] * 4),
    st.tuples(*[st.booleans()] * 4),
    st.lists(st.lists(coord, min_size=1, max_size=3), min_size=2, max_size=3).filter(
        lambda rows: len({len(r) for r in rows}) > 1  # ragged
    ),
)
GOOD_BOX = (40.0, 20.0, 60.0, 50.0)

N_FRAMES = 12
bad_frames = st.one_of(
    st.integers(max_value=-1),
    st.integers(min_value=N_FRAMES),
    st.floats(),
    st.booleans(),
    st.text(max_size=5),
    st.none(),
    st.sampled_from([np.float64(2.0), np.int64(N_FRAMES), (1,), [2]]),
)
unknown_labels = st.one_of(
    st.text(max_size=10).filter(lambda t: t not in CLASSES),
    st.integers().filter(lambda i: not 0 <= i < len(CLASSES)),
    st.floats(),
    st.none(),
    st.booleans(),
)


# ------------------------------------------------------------------ boxes


@SETTINGS
@given(box=bad_numeric_boxes)
def test_draw_box_rejects_bad_geometry(project: Project, box: tuple[float, ...]) -> None:
    expect_error(project, lambda: project.draw_box(5, box), names=names_box(box))


@SETTINGS
@given(box=wrong_type_boxes)
def test_draw_box_rejects_wrong_types(project: Project, box: object) -> None:
    expect_error(project, lambda: project.draw_box(5, box), names=names_value(box))


@SETTINGS
@given(box=bad_numeric_boxes, which=st.sampled_from(["human", "machine"]))
def test_correct_box_rejects_bad_geometry(project: Project, box: tuple[float, ...],
                                          which: str) -> None:
    frame = 0 if which == "human" else 2
    box_id = project.label(frame).boxes[0].id
    expect_error(project, lambda: project.correct_box(box_id, box), names=names_box(box))


@SETTINGS
@given(
    good=st.lists(st.just(GOOD_BOX), max_size=2),
    bad=st.one_of(bad_numeric_boxes, wrong_type_boxes),
    as_dict=st.booleans(),
    frame=st.sampled_from([0, 1, 2, 5]),
)
def test_submit_rejects_any_bad_box_and_records_nothing(
    project: Project, good: list, bad: object, as_dict: bool, frame: int
) -> None:
    item = {"xyxy": bad} if as_dict else bad
    names = names_box(bad) if isinstance(bad, tuple) and len(bad) == 4 and all(
        isinstance(v, float) for v in bad) else names_value(bad)
    expect_error(project, lambda: project.submit(frame, [*good, item]), names=names)


@SETTINGS
@given(boxes=st.one_of(st.none(), st.integers(), st.floats(), st.text(min_size=1, max_size=5),
                       st.just({"xyxy": GOOD_BOX})))
def test_submit_rejects_a_non_list_of_boxes(project: Project, boxes: object) -> None:
    expect_error(project, lambda: project.submit(5, boxes), names=names_value(boxes))


# ------------------------------------------------------------------ frame indices


FRAME_VERBS: dict[str, Callable[[Project, object], object]] = {
    "draw_box": lambda p, f: p.draw_box(f, GOOD_BOX),
    "mark_absent": lambda p, f: p.mark_absent(f),
    "submit": lambda p, f: p.submit(f, [GOOD_BOX]),
    "submit-empty": lambda p, f: p.submit(f, []),
    "accept": lambda p, f: p.accept(f),
    "skip": lambda p, f: p.skip(f),
    "label": lambda p, f: p.label(f),
}


@SETTINGS
@given(frame=bad_frames, verb=st.sampled_from(sorted(FRAME_VERBS)))
def test_bad_frame_indices(project: Project, frame: object, verb: str) -> None:
    message = expect_error(project, lambda: FRAME_VERBS[verb](project, frame),
                           names=names_value(frame))
    assert "frame" in message


@SETTINGS
@given(frame=bad_frames.filter(lambda f: not (isinstance(f, int) and -N_FRAMES <= f < 0)))
def test_bad_frame_indices_when_reading_pixels(project: Project, frame: object) -> None:
    # Project.frame follows Python indexing (-1 is the last frame); anything else is refused.
    expect_error(project, lambda: project.frame(frame), names=names_value(frame))


# ------------------------------------------------------------------ box ids and labels


bad_box_ids = st.one_of(
    st.integers(min_value=10_000),
    st.just(2**63),  # beyond SQLite's integers
    st.integers(max_value=0),
    st.floats(),
    st.booleans(),
    st.text(max_size=5),
    st.none(),
)


@SETTINGS
@given(box_id=bad_box_ids, verb=st.sampled_from(["correct", "delete"]))
def test_bad_box_ids(project: Project, box_id: object, verb: str) -> None:
    def call() -> object:
        if verb == "correct":
            return project.correct_box(box_id, GOOD_BOX)
        return project.delete_box(box_id)

    expect_error(project, call, names=names_value(box_id))


@SETTINGS
@given(label=unknown_labels, verb=st.sampled_from(["draw", "correct", "submit"]))
def test_unknown_class_labels(project: Project, label: object, verb: str) -> None:
    assume(not (verb == "correct" and label is None))  # None there means "keep the class"

    def call() -> object:
        if verb == "draw":
            return project.draw_box(5, GOOD_BOX, label=label)
        if verb == "correct":
            return project.correct_box(project.label(0).boxes[0].id, GOOD_BOX, label=label)
        return project.submit(5, [{"xyxy": GOOD_BOX, "label": label}])

    message = expect_error(project, call, names=names_value(label))
    assert "object" in message  # the message lists the classes there are


# ------------------------------------------------------------------ files


def _fresh_dir(workdir: Path) -> Path:
    return Path(tempfile.mkdtemp(dir=workdir))


def _png_bytes() -> bytes:
    ok, data = cv2.imencode(".png", synthetic_frames(1, (WIDTH, HEIGHT))[0])
    assert ok
    return data.tobytes()


PNG = _png_bytes()
corrupt_images = st.one_of(
    st.integers(0, len(PNG) - 1).map(lambda n: PNG[:n]),  # truncated anywhere
    st.binary(max_size=300).filter(
        lambda b: not b or cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR) is None
    ),
    st.text(max_size=100).map(str.encode),
)


@SETTINGS
@given(data=corrupt_images, suffix=st.sampled_from([".png", ".jpg", ".bmp"]), first=st.booleans())
def test_corrupt_image_in_a_frame_folder(
    project: Project, workdir: Path, data: bytes, suffix: str, first: bool
) -> None:
    folder = _fresh_dir(workdir)
    (folder / "frame_1.png").write_bytes(PNG)
    bad = folder / (f"frame_{0 if first else 2}{suffix}")
    bad.write_bytes(data)
    names_file = mentions(bad.name)
    if first:  # read at open time (to learn the frame size)
        expect_error(None, lambda: open_frames(folder), error=FramesError, names=names_file)
        expect_error(None, lambda: Project.open(folder / "new.mlab", video=folder),
                     error=FramesError, names=names_file)
        assert not (folder / "new.mlab").exists()
        # An existing project pointed at it is refused and left as it was.
        expect_error(project, lambda: Project.open(project.path, video=folder),
                     error=FramesError, names=names_file)
    else:
        frames = open_frames(folder)
        expect_error(None, lambda: frames[1], error=FramesError, names=names_file)


@SETTINGS
@given(content=st.one_of(st.text(max_size=200).map(str.encode), st.just(b"")),
       suffix=st.sampled_from([".mp4", ".avi", ".mov"]))
def test_text_file_named_as_a_video(
    project: Project, workdir: Path, content: bytes, suffix: str
) -> None:
    path = _fresh_dir(workdir) / f"clip{suffix}"
    path.write_bytes(content)
    names_file = mentions(path.name)
    expect_error(None, lambda: open_frames(path), error=FramesError, names=names_file)
    expect_error(None, lambda: Project.open(path.with_name("new.mlab"), video=path),
                 error=FramesError, names=names_file)
    assert not path.with_name("new.mlab").exists()
    expect_error(project, lambda: Project.open(project.path, video=path),
                 error=FramesError, names=names_file)


@SETTINGS
@given(others=st.lists(st.sampled_from(["notes.txt", "gt.csv", ".DS_Store", "readme"]),
                       unique=True, max_size=3),
       use_img=st.booleans())
def test_folder_without_images(project: Project, workdir: Path, others: list[str],
                               use_img: bool) -> None:
    folder = _fresh_dir(workdir)
    target = folder / "img" if use_img else folder
    target.mkdir(exist_ok=True)
    for name in others:
        (target / name).write_text("x")
    names_folder = mentions(str(target))
    expect_error(None, lambda: open_frames(folder), error=FramesError, names=names_folder)
    expect_error(project, lambda: Project.open(project.path, video=folder),
                 error=FramesError, names=names_folder)


@SETTINGS
@given(name=st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=12),
       suffix=st.sampled_from(["", ".mp4", ".avi", "/img"]))
def test_missing_paths(project: Project, workdir: Path, name: str, suffix: str) -> None:
    path = workdir / "missing" / (name + suffix)
    names_path = mentions(str(path))
    expect_error(None, lambda: open_frames(path), error=FramesError, names=names_path)
    expect_error(None, lambda: Project.open(workdir / "missing.mlab", video=path),
                 error=FramesError, names=names_path)
    assert not (workdir / "missing.mlab").exists()
    expect_error(project, lambda: Project.open(project.path, video=path),
                 error=FramesError, names=names_path)


# ------------------------------------------------------------------ the error family
def _bad_strategy() -> None:
    from microlab.loop import LoopSettings

    LoopSettings(strategy="shots")


def _bad_tracker() -> None:
    from microlab.tracking import create_tracker

    create_tracker("mosse")


def _frame_in_no_segment() -> None:
    from microlab.segments import Segment, segment_of

    segment_of([Segment(0, 9)], 10)


def _bad_image_format() -> None:
    from microlab.widgets._common import encode_image

    encode_image(np.zeros((4, 4, 3), np.uint8), fmt="gif")


@pytest.mark.parametrize(
    ("call", "builtin", "message"),
    [
        (_bad_strategy, ValueError, "strategy must be 'clip' or 'segments'"),
        (_bad_tracker, ValueError, "tracker kind must be 'csrt' or 'kcf'"),
        (_frame_in_no_segment, IndexError, r"frame 10 is in no segment \(segments cover 0\.\.9\)"),
        (_bad_image_format, ValueError, "fmt must be 'jpeg' or 'png'"),
    ],
)
def test_user_errors_are_microlab_errors_and_still_builtins(
    call: Callable[[], None], builtin: type[Exception], message: str
) -> None:
    # The widgets show a MicrolabError as the user's mistake and anything else as a bug to report.
    with pytest.raises(MicrolabError, match=message) as info:
        call()
    assert isinstance(info.value, builtin)
