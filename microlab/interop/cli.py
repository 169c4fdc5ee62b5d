"""``microlab export`` and ``microlab import``: argparse wiring for the interop commands.

``microlab.cli`` calls :func:`add_commands` on its subparsers; ``python -m microlab.interop.cli``
runs these two commands alone.  A frame classification project (``meta["task"] ==
"classify"``) exports and imports its tags instead of boxes, in the tag formats of
:mod:`microlab.tagging.interop` (``csv``, ``json``, ``cvat``, ``labelstudio``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from microlab.errors import FormatError, MicrolabError
from microlab.interop.project_io import DEFAULT_MIN_SCORE
from microlab.interop.registry import FORMATS, get_format, list_formats
from microlab.project import Project, import_into
from microlab.store import Store
from microlab.tagging.interop import (
    TAG_FORMATS,
    export_tags,
    get_tag_format,
    import_tags,
    list_tag_formats,
)
from microlab.tagging.project import TASK, TagProject


def _format_help() -> str:
    boxes = "; ".join(f"{f.name}: {f.description}" for f in FORMATS.values())
    tags = "; ".join(f"{f.name}: {f.description}" for f in TAG_FORMATS.values())
    return f"Box formats: {boxes}. Tag formats (frame classification projects): {tags}."


def _formats_metavar_help() -> str:
    return (f"one of {', '.join(list_formats())} (boxes), or {', '.join(list_tag_formats())} "
            "(the tags of a frame classification project)")


def _is_tag_project(path: str) -> bool:
    """True when ``path`` is an existing frame classification project."""
    file = Path(path).expanduser()
    if not file.is_file():
        return False
    with Store.open(file) as store:
        return store.meta.get("task") == TASK


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``export`` and ``import`` subcommands on a CLI's subparsers."""
    export = subparsers.add_parser(
        "export",
        help="write a project's labels as COCO, YOLO, VOC, CVAT video, MOT, Label Studio or OTB "
             "(a frame classification project's tags as CSV, JSON, CVAT images or Label Studio)",
        description="Write a project's labels in another tool's format. " + _format_help(),
    )
    export.add_argument("project", help="the project file (.mlab)")
    export.add_argument("out", help="the file or folder to write")
    export.add_argument("--format", "-f", required=True, dest="fmt", metavar="FORMAT",
                        help=_formats_metavar_help())
    export.add_argument("--include-machine", action="store_true",
                        help="also export machine labels of unverified frames (default: only "
                             "human-verified frames)")
    export.add_argument("--min-score", type=float, default=None,
                        help="with --include-machine, the lowest score kept (default "
                             f"{DEFAULT_MIN_SCORE} for boxes; every machine tag, with its "
                             "confidence, for tags)")
    export.add_argument("--frames", default=None,
                        help="the clip (video or folder of frames), if it "
                             "moved since the project was made")
    export.set_defaults(func=run_export)

    imp = subparsers.add_parser(
        "import",
        help="add labels from a COCO, YOLO, VOC, CVAT video, MOT, Label Studio or OTB file "
             "(tags from CSV, JSON, CVAT images or Label Studio into a classification project)",
        description="Import labels as human labels into a project, creating it if it does not "
                    "exist. Nothing is written when the file is malformed. " + _format_help(),
    )
    imp.add_argument("project", help="the project file (.mlab); created if it does not exist")
    imp.add_argument("labels", metavar="IN", help="the label file or folder to read")
    imp.add_argument("--frames", default=None,
                     help="the clip: a video file or a folder of frames (needed for a new project)")
    imp.add_argument("--format", "-f", required=True, dest="fmt", metavar="FORMAT",
                     help=_formats_metavar_help())
    imp.set_defaults(func=run_import)


def run_export(args: argparse.Namespace) -> int:
    """Handler of ``microlab export``; returns the exit code."""
    try:
        if _is_tag_project(args.project):
            return _export_tags(args)
        min_score = DEFAULT_MIN_SCORE if args.min_score is None else args.min_score
        with Project.open(args.project, video=args.frames) as project:
            path = project.export(args.fmt, args.out, verified_only=not args.include_machine,
                                  min_score=min_score)
            n = len(project.human_frames())
    except (MicrolabError, ValueError) as exc:
        print(f"microlab export: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({get_format(args.fmt).name}; {n} human-verified frames in the project)")
    return 0


def _export_tags(args: argparse.Namespace) -> int:
    spec = get_tag_format(args.fmt)
    with TagProject.open(args.project, video=args.frames) as project:
        path = export_tags(project, args.out, spec.name, include_machine=args.include_machine,
                           min_confidence=args.min_score)
        n = len(project.human_tags())
    print(f"wrote {path} ({spec.name} tags; {n} frames tagged by a person in the project)")
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Handler of ``microlab import``; returns the exit code."""
    try:
        if _is_tag_project(args.project):
            with TagProject.open(args.project, video=args.frames) as tag_project:
                summary = import_tags(tag_project, args.labels, args.fmt)
        else:
            _refuse_tags_without_project(args)
            project, summary = import_into(args.project, args.frames, args.fmt, args.labels)
            project.close()
    except (MicrolabError, ValueError) as exc:
        print(f"microlab import: error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.project}: {summary}")
    return 0


def _refuse_tags_without_project(args: argparse.Namespace) -> None:
    """A tag-only format names no box format: say how to make the project its tags go into."""
    if Path(args.project).expanduser().exists():
        return
    names = {k for f in FORMATS.values() for k in f.keys}
    key = str(args.fmt).strip().lower().replace("-", "_").replace(" ", "_")
    if key not in names and any(key in f.keys for f in TAG_FORMATS.values()):
        raise FormatError(
            f"project {args.project} does not exist; tags are imported into a frame "
            "classification project, so create it first, in Python: "
            f"microlab.tagging.TagProject.open({args.project!r}, video=FRAMES, "
            "classes=[...])")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``export`` or ``import`` alone (``python -m microlab.interop.cli``)."""
    parser = argparse.ArgumentParser(prog="microlab", description="microlab label import/export")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
