"""The format registry: which ``save``/``load`` functions a format name stands for.

Each format module is plain functions (``save_coco(labels, path)``, ``load_coco(path, clip)``);
this module binds them to a name once, in :data:`FORMATS`, so :func:`save_labels`,
:func:`load_labels`, ``Project.export``, ``Project.import_labels`` and the ``microlab
export/import --format`` commands all look formats up in one place.  A format of your own is
one :func:`register_format` call away:

>>> register_format("my_csv", save=save_my_csv, load=load_my_csv,
...                 description="one x0,y0,x1,y1 line per frame (one file)")
>>> project.export("my_csv", "boxes.csv")
>>> list_formats()[-1]
'my_csv'

Names and aliases are matched case-insensitively, with ``-`` or a space read as ``_``.  A name
or alias already taken is refused (``replace=True`` replaces a format of the same name), so a
typo cannot silently shadow a built-in format.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from microlab.errors import FormatError
from microlab.frames import FrameSource
from microlab.interop.coco import load_coco, save_coco
from microlab.interop.cvat_video import load_cvat_video, save_cvat_video
from microlab.interop.labels import ClipInfo, LabelSet
from microlab.interop.labelstudio import load_labelstudio, save_labelstudio
from microlab.interop.labelstudio_video import load_labelstudio_video, save_labelstudio_video
from microlab.interop.mot import load_mot, save_mot
from microlab.interop.otb import load_otb, save_otb
from microlab.interop.voc import load_voc, save_voc
from microlab.interop.yolo import load_yolo, save_yolo

SaveFunction = Callable[..., Path]
"""``save(labels, path, **options) -> Path``: writes a :class:`LabelSet`, returns what it wrote."""

LoadFunction = Callable[[Path, ClipInfo], LabelSet]
"""``load(path, clip) -> LabelSet``: reads a label file of the clip ``clip`` describes."""

PATH_KINDS = ("file", "folder")


@dataclass(frozen=True)
class FormatSpec:
    """One label format: its name, its functions and what its ``path`` names.

    Attributes:
        name: registry key, lower case with underscores (``"cvat_video"``).
        description: one line for ``--help``: the format, and whether it is a file or a folder.
        path_kind: ``"file"`` or ``"folder"`` (used in "does not exist" errors).
        save: ``save(labels, path, **options) -> Path``.
        load: ``load(path, clip) -> LabelSet``.
        aliases: other accepted names (``"cvat"``, ``"pascal_voc"``).
        clip_options: extra ``save`` options taken from a project's clip when a project is
            exported (YOLO gets the image files to copy next to the labels); ``None`` for none.
    """

    name: str
    description: str
    path_kind: str
    save: SaveFunction
    load: LoadFunction
    aliases: tuple[str, ...] = ()
    clip_options: Callable[[FrameSource], Mapping[str, Any]] | None = None

    def __post_init__(self) -> None:
        if self.path_kind not in PATH_KINDS:
            raise FormatError(f"format {self.name!r}: path_kind must be 'file' or 'folder', "
                              f"but got {self.path_kind!r}")
        for key in (self.name, *self.aliases):
            if _key(key) != key:
                raise FormatError(
                    f"format names and aliases are lower case with underscores, like "
                    f"'cvat_video', but got {key!r}; register it as {_key(key)!r}"
                )
        for role, function in (("save", self.save), ("load", self.load)):
            if not callable(function):
                raise FormatError(f"format {self.name!r}: {role} must be a function, but got "
                                  f"{type(function).__name__}")

    @property
    def keys(self) -> tuple[str, ...]:
        """The name, then the aliases: everything :func:`get_format` accepts for it."""
        return (self.name, *self.aliases)


#: The old name of :class:`FormatSpec` (``microlab.interop.LabelFormat``).
LabelFormat = FormatSpec

#: The registered formats by name, in registration order (the built-in ones first).
FORMATS: dict[str, FormatSpec] = {}


def _key(name: str) -> str:
    return str(name).strip().lower().replace("-", "_").replace(" ", "_")


def register_format(
    name: str,
    *,
    save: SaveFunction,
    load: LoadFunction,
    description: str,
    path_kind: str = "file",
    aliases: tuple[str, ...] = (),
    clip_options: Callable[[FrameSource], Mapping[str, Any]] | None = None,
    replace: bool = False,
) -> FormatSpec:
    """Add a format to :data:`FORMATS` (see :class:`FormatSpec` for the arguments).

    Args:
        replace: replace the format already registered as ``name``.  Without it, a taken name
            is refused; an alias taken by another format is always refused.

    Returns:
        The registered :class:`FormatSpec`.

    Raises:
        FormatError: the name or an alias is taken, or an argument is malformed.

    Example:
        >>> register_format("my_csv", save=save_my_csv, load=load_my_csv,
        ...                 description="one x0,y0,x1,y1 line per frame (one file)")
    """
    spec = FormatSpec(name, description, path_kind, save, load, tuple(aliases), clip_options)
    if spec.name in FORMATS and not replace:
        raise FormatError(
            f"label format {spec.name!r} is already registered ({FORMATS[spec.name].description}); "
            "pass replace=True to replace it, or register yours under another name"
        )
    for other in FORMATS.values():
        taken = set(spec.keys) & set(other.keys)
        if other.name != spec.name and taken:
            raise FormatError(
                f"label format {spec.name!r}: {min(taken)!r} already names format "
                f"{other.name!r}; choose other aliases"
            )
    FORMATS[spec.name] = spec  # a replaced format keeps its place in the order
    return spec


def list_formats() -> list[str]:
    """Names of the registered formats, in registration order."""
    return list(FORMATS)


def get_format(name: str | FormatSpec) -> FormatSpec:
    """A registered format by name or alias (case and ``-`` insensitive); a spec passes through.

    Raises:
        FormatError: no such format; the message suggests the closest name and lists the known.
    """
    if isinstance(name, FormatSpec):
        return name
    key = _key(name)
    for spec in FORMATS.values():
        if key in spec.keys:
            return spec
    names = [k for spec in FORMATS.values() for k in spec.keys]
    close = difflib.get_close_matches(key, names, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise FormatError(
        f"unknown label format {name!r}; {hint}known formats: {', '.join(FORMATS)}"
    )


def save_labels(labels: LabelSet, fmt: str | FormatSpec, path: str | Path,
                **options: object) -> Path:
    """Write ``labels`` at ``path`` with the ``save`` function of format ``fmt``."""
    return get_format(fmt).save(labels, path, **options)


def load_labels(fmt: str | FormatSpec, path: str | Path, clip: ClipInfo) -> LabelSet:
    """Read a label file (or folder) of the clip ``clip`` describes with format ``fmt``."""
    spec = get_format(fmt)
    path = Path(path).expanduser()
    if not path.exists():
        raise FormatError(f"label {spec.path_kind} {path} does not exist; check the path")
    return spec.load(path, clip)


# ---------------------------------------------------------------------- the built-in formats
def _yolo_clip_options(frames: FrameSource) -> dict[str, Any]:
    """A folder of images is copied into the YOLO dataset (a video's frames are not)."""
    files = getattr(frames, "files", None)
    return {"image_files": list(files)} if files else {}


register_format("coco", save=save_coco, load=load_coco, aliases=("coco_json",),
                description="COCO detection JSON (one file)")
register_format("yolo", save=save_yolo, load=load_yolo, path_kind="folder",
                aliases=("ultralytics", "yolo_ultralytics"), clip_options=_yolo_clip_options,
                description="Ultralytics YOLO: data.yaml + labels/train/*.txt (a folder)")
register_format("voc", save=save_voc, load=load_voc, path_kind="folder",
                aliases=("pascal_voc", "pascal"),
                description="Pascal VOC XML: Annotations/*.xml + ImageSets (a folder)")
register_format("cvat_video", save=save_cvat_video, load=load_cvat_video,
                aliases=("cvat", "cvat_xml"), description="CVAT for video 1.1 XML (one file)")
register_format("mot", save=save_mot, load=load_mot, path_kind="folder",
                aliases=("mot_seq", "motchallenge"),
                description="MOT challenge gt/gt.txt + seqinfo.ini (a folder)")
register_format("labelstudio", save=save_labelstudio, load=load_labelstudio,
                aliases=("label_studio", "ls"), description="Label Studio tasks JSON (one file)")
register_format("labelstudio_video", save=save_labelstudio_video, load=load_labelstudio_video,
                aliases=("label_studio_video", "ls_video"),
                description="Label Studio video task JSON, one videorectangle per object (one "
                            "file)")
register_format("otb", save=save_otb, load=load_otb, aliases=("groundtruth",),
                description="OTB groundtruth.txt, one x,y,w,h line per frame (one file)")
