"""Every export read by an independent reader: the format's own ecosystem, not microlab's code.

pycocotools reads COCO here.  datumaro (CVAT's format library: CVAT video XML, Pascal VOC, YOLO,
MOT) and label-studio-sdk (Label Studio's converter and validator) pin versions that clash with
microlab's runtime, so they run in their own virtualenv, ``.venv-readers`` (made by
``tests/interop/readers/setup.sh``), through ``readers/read_exports.py``.  Without it these tests
skip, unless ``MICROLAB_REQUIRE_READERS=1`` (CI) turns the skip into a failure.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from microlab.boxes import Detections
from microlab.interop import (
    ClipInfo,
    LabelSet,
    label_box,
    labels_from_project,
    labelstudio_config,
    load_labels,
)
from microlab.interop.labels import class_id_of
from microlab.project import Project

from .helpers import OUT_NAMES, assert_same_labels, human_labels

READERS_DIR = Path(__file__).parent / "readers"
REPO_ROOT = Path(__file__).resolve().parents[2]
DATUMARO_FORMATS = ("cvat_video", "voc", "yolo", "mot")


def readers_python() -> Path:
    """The independent readers' interpreter, or skip (fail under MICROLAB_REQUIRE_READERS)."""
    python = Path(os.environ.get("MICROLAB_READERS_PYTHON")
                  or REPO_ROOT / ".venv-readers" / "bin" / "python")
    if python.is_file():
        return python
    reason = ("the independent readers (datumaro, label-studio-sdk) "
              f"are not installed at {python}; "
              "run `bash tests/interop/readers/setup.sh` (needs PyPI, ~30 s)")
    if os.environ.get("MICROLAB_REQUIRE_READERS"):
        pytest.fail(f"MICROLAB_REQUIRE_READERS is set but {reason}")
    pytest.skip(reason)


def run_readers(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [str(readers_python()), str(READERS_DIR / "read_exports.py")],
        input=json.dumps(jobs), capture_output=True, text=True, timeout=300, check=False,
    )
    assert proc.returncode == 0, f"an independent reader failed:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout)


def as_labels(result: dict[str, Any], clip: ClipInfo) -> LabelSet:
    """A reader's items as a LabelSet (frame from the item's frame number or name)."""
    frames: dict[int, list[Detections]] = {}
    classes: list[str] = []
    for item in result["items"]:
        frame = (item["frame"] if isinstance(item.get("frame"), int)
                 else clip.frame_index(item["id"]))
        if frame is None:  # MOT items are 1-based frame numbers
            frame = int(item["id"]) - 1
        boxes = [b for b in item["boxes"] if not b["attributes"].get("outside")]
        frames.setdefault(frame, []).extend(
            label_box(tuple(b["xyxy"]), class_id_of(classes, b["label"]),
                      source=str(b["attributes"].get("source", "human")))
            for b in boxes
        )
    return LabelSet.from_boxes(clip, classes, frames)


def only_boxed(labels: LabelSet) -> LabelSet:
    return LabelSet(labels.clip, labels.classes, {f: b for f, b in labels.frames.items() if len(b)})


def export_all(project: Project, folder: Path, **options: Any) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return {fmt: project.export(fmt, folder / OUT_NAMES[fmt], **options)
            for fmt in (*DATUMARO_FORMATS, "labelstudio")}


#: Files written by datumaro's own writers from our exports, and the microlab format that reads
#: them: ``{our format: [(datumaro writer, folder name, microlab reader, file inside)]}``.
REWRITES = {
    "voc": [("voc", "dm_voc", "voc", ""), ("coco_instances", "dm_coco", "coco",
                                           "annotations/instances_default.json")],
    "cvat_video": [("cvat", "dm_cvat", "cvat_video", "annotations.xml")],
    "mot": [("mot_seq_gt", "dm_mot", "mot", "")],
}


def jobs_for(paths: dict[str, Path], classes: list[str]) -> list[dict[str, Any]]:
    jobs = [{"format": fmt, "path": str(paths[fmt]),
             "export_to": [[writer, str(paths[fmt].parent / folder)]
                           for writer, folder, _, _ in REWRITES.get(fmt, [])]}
            for fmt in DATUMARO_FORMATS]
    jobs.append({"format": "labelstudio", "path": str(paths["labelstudio"]),
                 "config": labelstudio_config(classes)})
    return jobs


@pytest.fixture(scope="module")
def read_back(request: pytest.FixtureRequest, demo_project: Project, mixed_project: Project,
              tmp_path_factory: pytest.TempPathFactory,
              ) -> dict[str, tuple[LabelSet, dict[str, Any]]]:
    """Exports of the real sequence (when present), the demo clip and the two-class project,
    read by datumaro and label-studio-sdk in one subprocess: ``{case: (ours, {fmt: result})}``."""
    readers_python()
    projects = {"demo": demo_project, "mixed": mixed_project}
    with contextlib.suppress(pytest.skip.Exception):
        projects["real"] = request.getfixturevalue("real_project")
    root = tmp_path_factory.mktemp("validation")
    cases, jobs = {}, []
    for name, project in projects.items():
        paths = export_all(project, root / name)
        ours = human_labels(project)
        cases[name] = (ours, len(jobs))
        jobs += jobs_for(paths, ours.classes)
    machine = export_all(mixed_project, root / "machine", verified_only=False, min_score=0.5)
    cases["machine"] = (labels_from_project(mixed_project, verified_only=False), len(jobs))
    jobs += jobs_for(machine, mixed_project.classes)
    results = run_readers(jobs)
    names = (*DATUMARO_FORMATS, "labelstudio")
    out = {}
    for case, (ours, start) in cases.items():
        found = dict(zip(names, results[start:start + len(names)]))
        found["folder"] = root / case  # type: ignore[assignment]
        out[case] = (ours, found)
    return out


CASES = ["real", "demo", "mixed"]


def _case(read_back, case: str):
    if case not in read_back:
        pytest.skip("the shared sequences are not available")
    return read_back[case]


@pytest.mark.parametrize("case", CASES)
def test_datumaro_reads_cvat_video_xml(read_back, case: str) -> None:
    ours, results = _case(read_back, case)
    result = results["cvat_video"]
    got = as_labels(result, ours.clip)
    assert_same_labels(got, ours)
    outside_keyframes = {i["frame"] for i in result["items"]
                         if i["boxes"] and all(b["attributes"]["outside"] for b in i["boxes"])}
    assert sorted(outside_keyframes) == ours.absent_frames
    assert all(b["attributes"]["keyframe"] for i in result["items"] for b in i["boxes"])


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fmt", ["voc", "yolo"])
def test_datumaro_reads_voc_and_yolo(read_back, case: str, fmt: str) -> None:
    ours, results = _case(read_back, case)
    assert_same_labels(as_labels(results[fmt], ours.clip), ours)


@pytest.mark.parametrize("case", CASES)
def test_datumaro_reads_mot(read_back, case: str) -> None:
    ours, results = _case(read_back, case)
    got = as_labels(results["mot"], ours.clip)
    # datumaro lists every frame of seqinfo.ini; labelled_frames.txt (microlab's) is not its concern
    assert len(got.frames) == ours.clip.n_frames
    assert_same_labels(only_boxed(got), only_boxed(ours))


@pytest.mark.parametrize("case", CASES)
def test_label_studio_sdk_reads_and_validates(read_back, case: str) -> None:
    ours, results = _case(read_back, case)
    result = results["labelstudio"]
    assert result["errors"] == []
    # The converter yields the annotated tasks (an empty result: object absent), not the others.
    assert_same_labels(as_labels(result, ours.clip), ours)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("ours_fmt", "rewrite"),
                         [(fmt, r) for fmt, rewrites in REWRITES.items() for r in rewrites],
                         ids=lambda v: v if isinstance(v, str) else v[0])
def test_microlab_reads_what_datumaro_writes(read_back, case: str, ours_fmt: str, rewrite) -> None:
    """Files as another tool writes them (datumaro's writers, CVAT's library) import the same."""
    ours, results = _case(read_back, case)
    _, folder, reader, inside = rewrite
    path = results["folder"] / folder / inside
    got = load_labels(reader, path, ours.clip)
    if reader == "mot":  # datumaro writes gt.txt alone: only frames with rows are known
        assert_same_labels(got, only_boxed(ours))
    else:
        assert_same_labels(got, ours)


def test_machine_labels_read_by_the_independent_readers(read_back) -> None:
    ours, results = read_back["machine"]
    boxed = only_boxed(ours)
    assert_same_labels(as_labels(results["cvat_video"], ours.clip), ours)
    assert_same_labels(as_labels(results["voc"], ours.clip), ours)
    sources = {b["attributes"]["source"] for i in results["voc"]["items"] for b in i["boxes"]}
    assert sources == {"human", "accepted", "model"}
    assert results["labelstudio"]["errors"] == [], "predictions with scores must validate"
    assert_same_labels(only_boxed(as_labels(results["mot"], ours.clip)), boxed)


@pytest.mark.parametrize("case", CASES)
def test_pycocotools_reads_coco(request: pytest.FixtureRequest, case: str, tmp_path: Path) -> None:
    pycocotools_coco = pytest.importorskip("pycocotools.coco")
    fixture = {"real": "real_project", "demo": "demo_project", "mixed": "mixed_project"}[case]
    project: Project = request.getfixturevalue(fixture)
    ours = human_labels(project)
    path = project.export("coco", tmp_path / "labels.json")
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints progress
        coco = pycocotools_coco.COCO(str(path))
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    frames: dict[int, list[Detections]] = {}
    classes: list[str] = []
    for image in coco.loadImgs(coco.getImgIds()):
        frame = ours.clip.frame_index(image["file_name"])
        assert frame is not None
        assert (image["width"], image["height"]) == ours.clip.size
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]]))
        frames[frame] = [label_box((a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2],
                                    a["bbox"][1] + a["bbox"][3]),
                                   class_id_of(classes, names[a["category_id"]])) for a in anns]
    assert_same_labels(LabelSet.from_boxes(ours.clip, classes, frames), ours)


def test_pycocotools_scores_a_machine_export_as_results(mixed_project: Project,
                                                        tmp_path: Path) -> None:
    """The machine export's annotations, with their scores, load as a COCO results file."""
    pytest.importorskip("pycocotools.coco")
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    path = mixed_project.export("coco", tmp_path / "all.json", verified_only=False)
    doc = json.loads(path.read_text())
    results = [dict(a, score=a.get("score", 1.0)) for a in doc["annotations"]]
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO(str(path))
        evaluation = COCOeval(gt, gt.loadRes(results), "bbox")
        evaluation.evaluate()
        evaluation.accumulate()
        evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)  # every box matches itself: AP = 1
    assert np.isclose(min(r["score"] for r in results), 0.6)



def test_label_studio_sdk_validates_video_tracks(tmp_path: Path) -> None:
    """The video task of a two-object clip (one object leaves and returns, one machine box):
    label-studio-sdk accepts its annotation and prediction, every region's labels are in the
    config, and its keyframes are the boxes and identities of the project, frame for frame."""
    from microlab.interop import labelstudio_video_config, save_labels

    from .test_labelstudio_video import CLIP
    from .test_labelstudio_video import _labels as two_tracks

    labels = two_tracks()
    path = save_labels(labels, "labelstudio_video", tmp_path / "video.json")
    (result,) = run_readers([{"format": "labelstudio_video", "path": str(path),
                              "config": labelstudio_video_config(labels.classes, fps=CLIP.fps),
                              "size": list(CLIP.size)}])
    assert result["errors"] == []
    shown = {(k["kind"], k["track"], k["frame"] - 1): (k["label"], k["xyxy"])
             for k in result["keyframes"] if k["enabled"]}
    want = {}
    for frame, boxes in labels.frames.items():
        for xyxy, c, t, human in zip(boxes.xyxy.tolist(), boxes.class_ids, boxes.track_ids,
                                     boxes.human_mask()):
            kind = "annotation" if human else "prediction"
            want[(kind, int(t), frame)] = (labels.classes[int(c)], xyxy)
    assert shown.keys() == want.keys()
    for key, (label, xyxy) in want.items():
        assert shown[key][0] == label
        assert shown[key][1] == pytest.approx(xyxy)
    # Where the person's object left the view, its region ends (a disabled keyframe).
    ends = sorted(k["frame"] for k in result["keyframes"] if not k["enabled"] and k["track"] == 5)
    assert ends == [4, 8]
