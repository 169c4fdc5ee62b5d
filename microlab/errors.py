"""Exceptions raised by microlab.

Every error says what was expected, what came, and how to fix the call.  They all derive
from :class:`MicrolabError` so a notebook or widget can catch the family in one place.
"""

from __future__ import annotations


class MicrolabError(Exception):
    """Base class of every error microlab raises on purpose."""


class FramesError(MicrolabError, OSError):
    """A video file or an image folder cannot be read (missing, empty, corrupt, truncated)."""


class AnnotationError(MicrolabError, ValueError):
    """A box, a frame index or a label is invalid (outside the image, NaN, unknown class...)."""


class FrameIndexError(AnnotationError, IndexError):
    """A frame index of the wrong type or out of range (still an ``IndexError`` for Python code)."""


class StoreError(MicrolabError):
    """The project file is missing, locked, from another program, or does not match its video."""


class FormatError(MicrolabError, ValueError):
    """A label file (ground truth, COCO, YOLO, ...) is malformed; the message names the line."""


class SettingsError(MicrolabError, ValueError):
    """An option has a value microlab cannot use (an unknown strategy or tracker, a threshold
    outside its range); still a ``ValueError`` for Python code."""


class StateError(MicrolabError, RuntimeError):
    """A verb called when it cannot apply (a widget whose frames are all done); still a
    ``RuntimeError`` for Python code."""


class ModelError(MicrolabError):
    """A micro-model cannot be built, trained or loaded (no labels, unknown backbone,
    bad weights)."""


class SplineError(MicrolabError, ValueError):
    """A bad argument to the spline analogy: an unknown curve, an x outside [0, 1], a simulation
    result that breaks the schema (:mod:`microlab.simulation_result`),
    a close-up outside the clip."""
