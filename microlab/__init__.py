"""microlab: micro-models for labelling video in Jupyter.

A person boxes a handful of frames, a small detector is overfit to that one clip, it labels the
rest, and an active-learning loop asks the person to check only the frames most likely wrong.
"""

from __future__ import annotations

import os

# On a 2-core laptop a notebook kernel shares the CPU with the browser: OpenMP spin-waiting then
# makes a forward pass many times slower.  Must be set before torch starts its thread pool.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from microlab._version import __version__
from microlab.boxes import Detections, Source, box_iou, xywh_to_xyxy, xyxy_to_xywh
from microlab.datasets import demo_clip, edited_scene
from microlab.errors import (
    AnnotationError,
    FormatError,
    FrameIndexError,
    FramesError,
    MicrolabError,
    ModelError,
    SettingsError,
    StateError,
    StoreError,
)
from microlab.frames import ImageFolderFrames, VideoFrames, open_frames
from microlab.project import Project
from microlab.sequences import Clip, load_sequence
from microlab.tagging import TagProject

# Loaded on first use: the widgets import ipywidgets, the loop imports torch; `import microlab`
# itself needs neither.
_LAZY = {"Annotator": "microlab.widgets", "Dashboard": "microlab.widgets",
         "Review": "microlab.widgets", "TagDashboard": "microlab.widgets",
         "Tagger": "microlab.widgets", "Loop": "microlab.loop", "LoopSettings": "microlab.loop",
         "CollectionDashboard": "microlab.widgets", "Collection": "microlab.collection",
         "simulate_many": "microlab.collection", "MultiLoop": "microlab.multi.loop",
         "MultiSettings": "microlab.multi.loop"}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'microlab' has no attribute {name!r}")


__all__ = [
    "AnnotationError",
    "Annotator",
    "Clip",
    "Collection",
    "CollectionDashboard",
    "Dashboard",
    "Detections",
    "FormatError",
    "FrameIndexError",
    "FramesError",
    "ImageFolderFrames",
    "Loop",
    "LoopSettings",
    "MicrolabError",
    "ModelError",
    "MultiLoop",
    "MultiSettings",
    "Project",
    "Review",
    "SettingsError",
    "Source",
    "StateError",
    "StoreError",
    "TagDashboard",
    "TagProject",
    "Tagger",
    "VideoFrames",
    "__version__",
    "box_iou",
    "demo_clip",
    "edited_scene",
    "load_sequence",
    "open_frames",
    "simulate_many",
    "xywh_to_xyxy",
    "xyxy_to_xywh",
]
