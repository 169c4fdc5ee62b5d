"""Boxes: conversions, IoU and NMS against hand-computed values; validation of human boxes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from microlab.boxes import (
    HUMAN_SOURCES,
    MACHINE_SOURCES,
    Detections,
    Source,
    box_iou,
    class_index,
    interpolate_boxes,
    is_absent,
    nms,
    paired_giou,
    paired_iou,
    present_mask,
    validate_xyxy,
    xywh_to_xyxy,
    xyxy_to_xywh,
)
from microlab.errors import AnnotationError

NAN = math.nan


@pytest.mark.parametrize(
    ("xywh", "xyxy"),
    [
        ((10, 20, 30, 40), (10, 20, 40, 60)),
        ((0, 0, 1, 1), (0, 0, 1, 1)),
        ((-5.5, 2.25, 10, 0.5), (-5.5, 2.25, 4.5, 2.75)),
        ((NAN, NAN, NAN, NAN), (NAN, NAN, NAN, NAN)),
    ],
)
def test_xywh_xyxy_conversions(xywh: tuple, xyxy: tuple) -> None:
    np.testing.assert_array_equal(xywh_to_xyxy(xywh), xyxy)
    np.testing.assert_array_equal(xyxy_to_xywh(xyxy), xywh)


def test_conversions_work_on_arrays_and_do_not_modify_the_input() -> None:
    xywh = np.array([[10, 20, 30, 40], [0, 0, 5, 5]], dtype=np.float64)
    before = xywh.copy()
    xyxy = xywh_to_xyxy(xywh)
    np.testing.assert_array_equal(xyxy, [[10, 20, 40, 60], [0, 0, 5, 5]])
    np.testing.assert_array_equal(xywh, before)
    np.testing.assert_array_equal(xyxy_to_xywh(xyxy), xywh)
    assert xywh_to_xyxy([[1, 2, 3, 4]]).dtype == np.float64


@pytest.mark.parametrize(
    ("a", "b", "iou"),
    [
        pytest.param((0, 0, 10, 10), (0, 0, 10, 10), 1.0, id="identical"),
        pytest.param((0, 0, 10, 10), (5, 5, 15, 15), 25 / 175, id="quarter-overlap"),
        pytest.param((0, 0, 10, 10), (0, 0, 10, 5), 0.5, id="half"),
        pytest.param((0, 0, 10, 10), (2, 2, 4, 4), 4 / 100, id="contained"),
        pytest.param((0, 0, 10, 10), (10, 0, 20, 10), 0.0, id="touching-edges"),
        pytest.param((0, 0, 10, 10), (30, 30, 40, 40), 0.0, id="disjoint"),
        pytest.param((0, 0, 4, 2), (2, 0, 6, 2), 4 / 12, id="sideways"),
        pytest.param((0, 0, 10, 10), (NAN, NAN, NAN, NAN), 0.0, id="absent-label"),
        pytest.param((5, 5, 5, 5), (5, 5, 5, 5), 0.0, id="zero-area"),
    ],
)
def test_box_iou_hand_computed(a: tuple, b: tuple, iou: float) -> None:
    assert box_iou(a, b) == pytest.approx(iou)
    assert box_iou(b, a) == pytest.approx(iou)


def test_box_iou_pairwise_shape_and_values() -> None:
    a = np.array([[0, 0, 10, 10], [5, 5, 15, 15]])
    b = np.array([[0, 0, 10, 10], [0, 0, 10, 5], [100, 100, 110, 110]])
    iou = box_iou(a, b)
    assert iou.shape == (2, 3)
    np.testing.assert_allclose(iou, [[1.0, 0.5, 0.0], [25 / 175, 0.0, 0.0]])
    # Boxes 5..15 and 0..10x0..5 overlap in x (5..10) but y 5..15 vs 0..5 only touches.
    assert box_iou(np.zeros((0, 4)), b).shape == (0, 3)


@pytest.mark.parametrize(
    ("threshold", "kept"),
    [
        # D(.95) vs A: IoU 0.5 (kept at 0.5, suppressed below); A vs B: 90/110; C is far away.
        (0.5, [3, 0, 2]),
        (0.45, [3, 1, 2]),
        (0.9, [3, 0, 1, 2]),
        (0.0, [3, 2]),
    ],
)
def test_nms_hand_computed(threshold: float, kept: list[int]) -> None:
    xyxy = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [20, 20, 30, 30], [0, 0, 10, 5]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.95])
    # Hand values the table relies on.
    assert box_iou(xyxy[3], xyxy[0]) == pytest.approx(0.5)
    assert box_iou(xyxy[0], xyxy[1]) == pytest.approx(90 / 110)
    assert box_iou(xyxy[3], xyxy[1]) == pytest.approx(45 / 105)
    assert nms(xyxy, scores, iou_threshold=threshold).tolist() == kept


def test_nms_edge_cases() -> None:
    assert nms(np.zeros((0, 4)), np.zeros(0)).tolist() == []
    assert nms(np.array([[0, 0, 1, 1]]), np.array([0.1])).tolist() == [0]
    # Equal scores: the earlier box wins (stable order).
    same = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], float)
    assert nms(same, np.array([0.5, 0.5])).tolist() == [0]
    # Plain lists are accepted like arrays.
    assert nms([[0, 0, 10, 10], [0, 0, 10, 10], [50, 50, 60, 60]],
               [0.2, 0.9, 0.1]).tolist() == [1, 2]


@pytest.mark.parametrize(
    ("box", "expected"),
    [
        pytest.param((10, 20, 30, 40), (10, 20, 30, 40), id="inside"),
        pytest.param([0, 0, 100, 50], (0, 0, 100, 50), id="whole-image"),
        pytest.param(np.array([1.5, 2.5, 3.5, 4.5]), (1.5, 2.5, 3.5, 4.5), id="array"),
        pytest.param((-0.8, -1.0, 100.9, 51.0), (0, 0, 100, 50), id="clipped-within-tolerance"),
        pytest.param((np.int64(1), np.float32(2), 3, 4), (1, 2, 3, 4), id="numpy-scalars"),
    ],
)
def test_validate_xyxy_accepts_and_clips(box: object, expected: tuple) -> None:
    out = validate_xyxy(box, image_size=(100, 50))
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, expected)


@pytest.mark.parametrize(
    ("box", "message"),
    [
        pytest.param((10, 10, 5, 20), "width -5.00", id="negative-width"),
        pytest.param((10, 10, 20, 10.5), "height 0.50", id="too-thin"),
        pytest.param((NAN, 10, 20, 20), "nan", id="nan"),
        pytest.param((0, 0, math.inf, 20), "inf", id="infinite"),
        pytest.param((90, 10, 120, 20), "outside the 100x50 image", id="right-edge"),
        pytest.param((-30, -30, -10, -10), "outside the 100x50 image", id="fully-outside"),
        pytest.param((1, 2, 3), "got 3 values", id="three-numbers"),
        pytest.param((1, 2, 3, 4, 5), "got 5 values", id="five-numbers"),
        pytest.param(None, "None", id="none"),
        pytest.param("abcd", "abcd", id="string"),
        pytest.param(("1", "2", "30", "40"), "'30'", id="strings-of-digits"),
        pytest.param((True, True, True, True), "True", id="bools"),
        pytest.param({"x": 1}, "{'x': 1}", id="dict"),
        pytest.param([[1, 2], [3]], "[[1, 2], [3]]", id="ragged"),
        # Inside the tolerance but nothing left once clipped to the image.
        pytest.param((100, 10, 101, 20), "100x50", id="zero-width-after-clipping"),
        pytest.param((10, -1, 20, 0), "100x50", id="zero-height-after-clipping"),
    ],
)
def test_validate_xyxy_rejects_with_a_message_naming_the_box(box: object, message: str) -> None:
    with pytest.raises(AnnotationError) as info:
        validate_xyxy(box, image_size=(100, 50))
    assert message in str(info.value)
    assert "np.float64" not in str(info.value)  # numpy 2 reprs make messages unreadable


def test_validate_xyxy_without_image_size_checks_only_the_box() -> None:
    np.testing.assert_array_equal(validate_xyxy((-50, -50, -40, -40)), (-50, -50, -40, -40))
    with pytest.raises(AnnotationError, match="at least 2"):
        validate_xyxy((0, 0, 1.5, 10), min_size=2)


def test_detections_defaults_masks_best_merge() -> None:
    det = Detections(np.array([[0, 0, 1, 1], [2, 2, 3, 3], [4, 4, 5, 5]]), scores=[0.2, 0.9, 0.5])
    assert len(det) == 3
    np.testing.assert_array_equal(det.class_ids, [0, 0, 0])
    strong = det[det.scores > 0.4]
    np.testing.assert_array_equal(strong.xyxy, [[2, 2, 3, 3], [4, 4, 5, 5]])
    np.testing.assert_array_equal(det.best().xyxy, [[2, 2, 3, 3]])
    np.testing.assert_array_equal(det[2].scores, [0.5])
    assert len(Detections.empty()) == 0
    assert len(Detections.empty().best()) == 0
    np.testing.assert_array_equal(Detections(np.array([[0, 0, 1, 1]])).scores, [1.0])
    merged = Detections.merge([det, Detections.empty(), det[0]])
    assert len(merged) == 4
    np.testing.assert_array_equal(merged.scores, [0.2, 0.9, 0.5, 0.2])
    assert len(Detections.merge([])) == 0


def test_detections_rejects_mismatched_lengths() -> None:
    with pytest.raises(AnnotationError, match=r"shape \(2,\)"):
        Detections(np.zeros((2, 4)), scores=[0.5, 0.4, 0.3])


@pytest.mark.parametrize(
    ("box", "absent"),
    [((NAN, NAN, NAN, NAN), True), ((0, 0, 1, 1), False), (np.array([1.0, NAN, 2, 3]), True)],
)
def test_is_absent(box: object, absent: bool) -> None:
    assert is_absent(box) is absent


@pytest.mark.parametrize(
    ("a", "b", "iou"),
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
        ((0, 0, 10, 10), (5, 0, 15, 10), 50 / 150),
        ((0, 0, 10, 10), (20, 20, 30, 30), 0.0),
        ((0, 0, 10, 10), (NAN, NAN, NAN, NAN), 0.0),
        ((0, 0, 0, 0), (0, 0, 0, 0), 0.0),  # no area, no union: 0, not NaN
    ],
)
def test_paired_iou_is_the_diagonal_of_box_iou(a: tuple, b: tuple, iou: float) -> None:
    rows_a = np.array([a, (0, 0, 4, 4)], dtype=float)
    rows_b = np.array([b, (2, 2, 6, 6)], dtype=float)
    out = paired_iou(rows_a, rows_b)
    assert out.shape == (2,)
    assert out[0] == pytest.approx(iou)
    np.testing.assert_allclose(out, np.diag(box_iou(rows_a, rows_b)))


def test_paired_iou_needs_rows_on_both_sides() -> None:
    with pytest.raises(AnnotationError, match="2 and 3"):
        paired_iou(np.zeros((2, 4)), np.zeros((3, 4)))


@pytest.mark.parametrize(
    ("a", "b", "giou"),
    [
        ((0, 0, 10, 10), (0, 0, 10, 10), 1.0),
        ((0, 0, 10, 10), (5, 0, 15, 10), 50 / 150),  # the hull is the union: GIoU = IoU
        ((0, 0, 10, 10), (10, 0, 20, 10), 0.0),  # touching
        ((0, 0, 10, 10), (20, 0, 30, 10), -1 / 3),  # union 200 in a hull of 300
    ],
)
def test_paired_giou_hand_computed(a: tuple, b: tuple, giou: float) -> None:
    assert paired_giou([a], [b])[0] == pytest.approx(giou)


def test_paired_giou_keeps_falling_as_boxes_move_apart() -> None:
    near, far = paired_giou([(0, 0, 10, 10)] * 2, [(20, 0, 30, 10), (40, 0, 50, 10)])
    assert far < near < 0


@pytest.mark.parametrize(
    ("rows", "present"),
    [
        ([(0, 0, 1, 1), (NAN, NAN, NAN, NAN)], [True, False]),
        ([(0, 0, 1, NAN)], [False]),  # one NaN coordinate is enough
        (np.zeros((0, 4)), []),
        ((0, 0, 1, 1), [True]),  # one box reads as one row
    ],
)
def test_present_mask(rows: object, present: list[bool]) -> None:
    assert present_mask(rows).tolist() == present


@pytest.mark.parametrize(
    ("frames", "expected"),
    [
        ([0], [(0, 0, 10, 10)]),
        ([10], [(10, 20, 30, 50)]),
        ([5], [(5, 10, 20, 30)]),
        ([2, 8], [(2, 4, 14, 18), (8, 16, 26, 42)]),
    ],
)
def test_interpolate_boxes_is_linear_between_keyframes(frames: list[int],
                                                       expected: list[tuple]) -> None:
    out = interpolate_boxes(0, np.array([0, 0, 10, 10]), 10, np.array([10, 20, 30, 50]), frames)
    np.testing.assert_allclose(out, expected)


@pytest.mark.parametrize(
    ("label", "index"),
    [("cat", 0), ("dog", 1), (1, 1), (np.int64(0), 0)],
)
def test_class_index_accepts_names_and_indices(label: object, index: int) -> None:
    assert class_index(label, ["cat", "dog"]) == index


@pytest.mark.parametrize("label", ["bird", 2, -1, True, 1.0, None])
def test_class_index_names_the_known_classes(label: object) -> None:
    with pytest.raises(AnnotationError, match=r"unknown class .*\['cat', 'dog'\]"):
        class_index(label, ["cat", "dog"])


@pytest.mark.parametrize(
    ("xyxy", "message"),
    [
        (np.arange(8.0), "xyxy must be an array of shape (n, 4), but got shape (8,)"),
        ([[0, 0, 1]], "xyxy must be an array of shape (n, 4), but got shape (1, 3)"),
        (np.zeros((2, 2, 4)), "xyxy must be an array of shape (n, 4), but got shape (2, 2, 4)"),
        ([[0, 0, 1, 1], [0, 0, NAN, 1]], "box 1 of xyxy, (0.0, 0.0, nan, 1.0), has NaN"),
        ([[0, 0, math.inf, 1]], "box 0 of xyxy, (0.0, 0.0, inf, 1.0), has NaN or infinite"),
        ([[5, 0, 1, 1]], "box 0 of xyxy, (5.0, 0.0, 1.0, 1.0), needs x0 <= x1 and y0 <= y1"),
        ([[0, 0, 1, 1], [0, 3, 1, 2]], "box 1 of xyxy, (0.0, 3.0, 1.0, 2.0), needs x0 <= x1"),
        ([["a", 0, 1, 1]], "xyxy must be an array of shape (n, 4) of numbers"),
    ],
)
def test_detections_rejects_bad_xyxy_saying_expected_and_actual(xyxy: object, message: str) -> None:
    with pytest.raises(AnnotationError) as info:
        Detections(xyxy)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scores": [0.5, 0.4, 0.3]}, "scores must have shape (2,) like xyxy, but got shape (3,)"),
        ({"class_ids": [[0, 1]]}, "class_ids must have shape (2,) like xyxy, but got shape (1, 2)"),
        ({"track_ids": [1]}, "track_ids must have shape (2,) like xyxy, but got shape (1,)"),
        ({"sources": ["human", "robot"]}, "source must be one of human, imported, accepted"),
        ({"sources": ["human"]}, "sources must have shape (2,) like xyxy, but got shape (1,)"),
        ({"data": {"box_id": [1, 2, 3]}}, "data['box_id'] must have one entry per box (2)"),
    ],
)
def test_detections_rejects_per_box_arrays_of_the_wrong_length(kwargs: dict, message: str) -> None:
    with pytest.raises(AnnotationError) as info:
        Detections(np.zeros((2, 4)), **kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize("empty", [[], np.zeros(0), np.zeros((0, 4)), ()])
def test_detections_of_nothing_is_empty(empty: object) -> None:
    det = Detections(empty)
    assert len(det) == 0
    assert det.xyxy.shape == (0, 4)
    assert det == Detections.empty()


def test_detections_list_of_lists_and_defaults() -> None:
    det = Detections([[0, 0, 10, 10], [1, 2, 3, 4]])
    np.testing.assert_array_equal(det.xyxy, [[0, 0, 10, 10], [1, 2, 3, 4]])
    np.testing.assert_array_equal(det.scores, [1.0, 1.0])
    np.testing.assert_array_equal(det.class_ids, [0, 0])
    np.testing.assert_array_equal(det.track_ids, [-1, -1])
    assert list(det.sources) == [Source.MODEL, Source.MODEL]
    assert det.data == {}


def _three() -> Detections:
    return Detections(
        [[0, 0, 1, 1], [2, 2, 3, 3], [4, 4, 5, 5]],
        scores=[0.2, NAN, 0.5],
        class_ids=[0, 1, 2],
        track_ids=[7, -1, 9],
        sources=["model", Source.HUMAN, "tracker"],
        data={"box_id": np.array([10, 11, 12])},
    )


@pytest.mark.parametrize(
    ("index", "rows"),
    [
        (np.array([True, False, True]), [0, 2]),
        (np.array([2, 0]), [2, 0]),
        ([1], [1]),
        (slice(1, None), [1, 2]),
        (1, [1]),
        (-1, [2]),
        (np.array([], dtype=np.int64), []),
        (np.zeros(3, dtype=bool), []),
    ],
)
def test_indexing_slices_every_field(index: object, rows: list[int]) -> None:
    det = _three()
    got = det[index]
    np.testing.assert_array_equal(got.xyxy, det.xyxy[rows].reshape(-1, 4))
    np.testing.assert_array_equal(got.scores, det.scores[rows])
    np.testing.assert_array_equal(got.class_ids, det.class_ids[rows])
    np.testing.assert_array_equal(got.track_ids, det.track_ids[rows])
    assert list(got.sources) == [det.sources[r] for r in rows]
    np.testing.assert_array_equal(got.data["box_id"], det.data["box_id"][rows])


def test_int_index_out_of_range_and_iteration() -> None:
    det = _three()
    with pytest.raises(IndexError, match="box 3 is out of range: there are 3 boxes"):
        det[3]
    assert [len(d) for d in det] == [1, 1, 1]
    assert Detections.merge(list(det)) == det
    assert list(Detections.empty()) == []


def test_merge_concatenates_every_field_and_checks_data_keys() -> None:
    det = _three()
    merged = Detections.merge([det[:1], Detections.empty(), det[1:]])
    assert merged == det
    both = Detections.merge([det, det])
    assert len(both) == 6
    np.testing.assert_array_equal(both.track_ids, [7, -1, 9, 7, -1, 9])
    assert list(both.sources) == [Source.MODEL, Source.HUMAN, Source.TRACKER] * 2
    np.testing.assert_array_equal(both.data["box_id"], [10, 11, 12, 10, 11, 12])
    with pytest.raises(AnnotationError, match=r"data keys \['box_id'\] and \[\]"):
        Detections.merge([det, Detections([[0, 0, 1, 1]])])


def test_equality_treats_nan_scores_as_equal_and_compares_all_fields() -> None:
    det = _three()
    assert det == _three()
    assert det != Detections(det.xyxy, scores=det.scores, class_ids=det.class_ids)
    assert det != det[:2]
    shifted = Detections(det.xyxy + 0.01, scores=det.scores, class_ids=det.class_ids,
                         track_ids=det.track_ids, sources=det.sources, data=det.data)
    assert det != shifted
    assert det.equals(shifted, atol=0.05)
    assert det.best().class_ids.tolist() == [2]  # a NaN score ranks last
    np.testing.assert_array_equal(det.human_mask(), [False, True, False])


def test_from_records_keeps_ids_and_makes_missing_scores_nan() -> None:
    class Record:
        def __init__(self, id: int, source: str, score: float | None) -> None:
            self.id, self.xyxy, self.class_id, self.source, self.score = (
                id, (1.0, 2.0, 3.0, 4.0), 1, source, score)

    det = Detections.from_records([Record(5, "human", None), Record(6, "model", 0.7)])
    np.testing.assert_array_equal(det.scores, [NAN, 0.7])
    np.testing.assert_array_equal(det.class_ids, [1, 1])
    assert list(det.sources) == [Source.HUMAN, Source.MODEL]
    np.testing.assert_array_equal(det.data["box_id"], [5, 6])
    assert len(Detections.from_records([])) == 0


@pytest.mark.parametrize("source", list(Source))
def test_source_is_its_stored_string(source: Source) -> None:
    assert source == source.value
    assert str(source) == f"{source}" == source.value
    assert Source(source.value) is source
    assert Source.parse(source.value) is source
    assert source.is_human is (source in HUMAN_SOURCES)
    assert (source in HUMAN_SOURCES) != (source in MACHINE_SOURCES)


def test_source_groups_and_unknown_sources() -> None:
    assert {s.value for s in HUMAN_SOURCES} == {"human", "imported", "accepted"}
    assert {s.value for s in MACHINE_SOURCES} == {"model", "tracker", "interpolated"}
    with pytest.raises(AnnotationError, match=r"source must be one of human, .* but got 'robot'"):
        Source.parse("robot")
