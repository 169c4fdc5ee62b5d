"""Labels in and out: COCO, YOLO, Pascal VOC, CVAT for video, MOT, Label Studio and OTB.

Each format is a module of plain functions, ``save_<format>(labels, path)`` and
``load_<format>(path, clip)``, over one plain intermediate, :class:`LabelSet` (in
:mod:`~microlab.interop.labels`).  :mod:`~microlab.interop.registry` binds them to format names
(:func:`register_format`, :func:`list_formats`); :mod:`~microlab.interop.project_io` holds the
project verbs, thin wrappers over both.  A frame's boxes are a :class:`~microlab.boxes.Detections`:

>>> labels = LabelSet(clip, ["cat"], {0: label_box((10, 20, 60, 90), 0), 1: Detections.empty()})
>>> save_labels(labels, "coco", "labels.json")

and on a project:

>>> project.export("cvat_video", "labels.xml")                    # human-verified labels
>>> project.export("coco", "all.json", verified_only=False, min_score=0.6)
>>> project.import_labels("otb", "SEQ_DIR/groundtruth.txt")

A new project made from a label file is a project verb, so it lives in :mod:`microlab.project`
(this package sits below it):
``import_project("new.mlab", "SEQ_DIR", "otb", "SEQ_DIR/groundtruth.txt")``.

Each module's docstring says what its format preserves and what it loses.
"""

from __future__ import annotations

from microlab.boxes import HUMAN_SOURCES, MACHINE_SOURCES
from microlab.interop.coco import load_coco, save_coco
from microlab.interop.cvat_video import load_cvat_video, save_cvat_video
from microlab.interop.labels import ClipInfo, LabelSet, label_box
from microlab.interop.labelstudio import labelstudio_config, load_labelstudio, save_labelstudio
from microlab.interop.labelstudio_video import (
    labelstudio_video_config,
    load_labelstudio_video,
    save_labelstudio_video,
)
from microlab.interop.mot import load_mot, save_mot
from microlab.interop.otb import load_otb, save_otb
from microlab.interop.project_io import (
    DEFAULT_MIN_SCORE,
    ImportSummary,
    apply_labels,
    export_project,
    import_labels,
    labels_from_project,
)
from microlab.interop.registry import (
    FORMATS,
    FormatSpec,
    LabelFormat,
    get_format,
    list_formats,
    load_labels,
    register_format,
    save_labels,
)
from microlab.interop.voc import load_voc, save_voc
from microlab.interop.yolo import load_yolo, save_yolo

__all__ = [
    "DEFAULT_MIN_SCORE",
    "FORMATS",
    "HUMAN_SOURCES",
    "MACHINE_SOURCES",
    "ClipInfo",
    "FormatSpec",
    "ImportSummary",
    "LabelFormat",
    "LabelSet",
    "apply_labels",
    "export_project",
    "get_format",
    "import_labels",
    "label_box",
    "labels_from_project",
    "labelstudio_config",
    "labelstudio_video_config",
    "list_formats",
    "load_coco",
    "load_cvat_video",
    "load_labels",
    "load_labelstudio",
    "load_labelstudio_video",
    "load_mot",
    "load_otb",
    "load_voc",
    "load_yolo",
    "register_format",
    "save_coco",
    "save_cvat_video",
    "save_labels",
    "save_labelstudio",
    "save_labelstudio_video",
    "save_mot",
    "save_otb",
    "save_voc",
    "save_yolo",
]
