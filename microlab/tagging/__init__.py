"""Frame classification: tags for every frame of a clip, from a few tagged frames.

The other half of micro-models (the method began here): a classifier overfit to one clip,
smoothed in time with cut-aware transitions, reviewed where it is most likely wrong.
:class:`TagProject` holds the verbs; :mod:`~microlab.tagging.simulate` replays it with an
oracle against change-point and keyframe tagging (:mod:`~microlab.tagging.baselines`).
"""

from microlab.tagging.interop import export_tags, import_tags
from microlab.tagging.labels import TagClip, load_tag_clip, parse_labels, write_labels
from microlab.tagging.project import TagIterationReport, TagLabels, TagProject, TagSettings
from microlab.tagging.smoothing import SmoothingSettings

__all__ = [
    "SmoothingSettings",
    "TagClip",
    "TagIterationReport",
    "TagLabels",
    "TagProject",
    "TagSettings",
    "export_tags",
    "import_tags",
    "load_tag_clip",
    "parse_labels",
    "write_labels",
]
