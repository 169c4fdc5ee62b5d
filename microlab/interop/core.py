"""The names ``microlab.interop.core`` held before it was split; import them from their modules.

* :mod:`microlab.interop.labels`: :class:`LabelSet`, :class:`ClipInfo`, :func:`label_box` and
  the helpers format modules build and write label sets with;
* :mod:`microlab.interop.checks`: the checks format modules run on what they read;
* :mod:`microlab.interop.registry`: :func:`register_format`, :func:`get_format`,
  :func:`save_labels`, :func:`load_labels`;
* :mod:`microlab.interop.project_io`: :func:`export_project`, :func:`import_labels`,
  :func:`apply_labels`, :func:`labels_from_project`.

The public ones are also in :mod:`microlab.interop` itself.
"""

from __future__ import annotations

from microlab.boxes import HUMAN_SOURCES, MACHINE_SOURCES
from microlab.interop.checks import (
    check_box,
    check_frame,
    check_score,
    check_source,
    frame_from_name,
)
from microlab.interop.labels import (
    ALL_SOURCES,
    ClipInfo,
    LabelSet,
    class_id_of,
    fmt_number,
    label_box,
    link_tracks,
    score_or_none,
    video_frame_name,
)
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

__all__ = [
    "ALL_SOURCES",
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
    "check_box",
    "check_frame",
    "check_score",
    "check_source",
    "class_id_of",
    "export_project",
    "fmt_number",
    "frame_from_name",
    "get_format",
    "import_labels",
    "label_box",
    "labels_from_project",
    "link_tracks",
    "list_formats",
    "load_labels",
    "register_format",
    "save_labels",
    "score_or_none",
    "video_frame_name",
]
