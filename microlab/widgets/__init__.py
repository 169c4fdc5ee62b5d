"""Jupyter widgets over the engine: :class:`Annotator`, :class:`Review`, :class:`Dashboard` for
boxes; :class:`Tagger`, :class:`TagDashboard` for frame tags; :class:`CollectionDashboard` for
many clips.

They hold no labelling logic: every answer goes through :meth:`microlab.Project.submit` (or
its verbs, or :class:`~microlab.tagging.TagProject`'s), and every number comes from the
engine.  Each button has a method of the same name, so code can drive a widget where no
browser is attached (tests, CI, headless runs).
"""

from __future__ import annotations

from microlab.widgets.annotator import Annotator
from microlab.widgets.collection import CollectionDashboard
from microlab.widgets.dashboard import Dashboard
from microlab.widgets.review import Review
from microlab.widgets.tag_dashboard import TagDashboard
from microlab.widgets.tagger import Tagger

__all__ = ["Annotator", "CollectionDashboard", "Dashboard", "Review", "TagDashboard", "Tagger"]
