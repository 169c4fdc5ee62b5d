"""``microlab export`` and ``microlab import``: argparse wiring for the interop commands.

``microlab.cli`` calls :func:`add_commands` on its subparsers; ``python -m microlab.interop.cli``
runs these two commands alone.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from microlab.errors import MicrolabError
from microlab.interop.project_io import DEFAULT_MIN_SCORE
from microlab.interop.registry import FORMATS, get_format, list_formats
from microlab.project import Project, import_into


def _format_help() -> str:
    return "; ".join(f"{f.name}: {f.description}" for f in FORMATS.values())


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``export`` and ``import`` subcommands on a CLI's subparsers."""
    export = subparsers.add_parser(
        "export",
        help="write a project's labels as COCO, YOLO, VOC, CVAT video, MOT, Label Studio or OTB",
        description="Write a project's labels in another tool's format. " + _format_help(),
    )
    export.add_argument("project", help="the project file (.mlab)")
    export.add_argument("out", help="the file or folder to write")
    export.add_argument("--format", "-f", required=True, dest="fmt", metavar="FORMAT",
                        help=f"one of {', '.join(list_formats())}")
    export.add_argument("--include-machine", action="store_true",
                        help="also export machine labels of unverified frames (default: only "
                             "human-verified frames)")
    export.add_argument("--min-score", type=float, default=DEFAULT_MIN_SCORE,
                        help="with --include-machine, the lowest score kept (default "
                             f"{DEFAULT_MIN_SCORE})")
    export.add_argument("--frames", default=None,
                        help="the clip (video or folder of frames), if it "
                             "moved since the project was made")
    export.set_defaults(func=run_export)

    imp = subparsers.add_parser(
        "import",
        help="add labels from a COCO, YOLO, VOC, CVAT video, MOT, Label Studio or OTB file",
        description="Import labels as human labels into a project, creating it if it does not "
                    "exist. Nothing is written when the file is malformed. " + _format_help(),
    )
    imp.add_argument("project", help="the project file (.mlab); created if it does not exist")
    imp.add_argument("labels", metavar="IN", help="the label file or folder to read")
    imp.add_argument("--frames", default=None,
                     help="the clip: a video file or a folder of frames (needed for a new project)")
    imp.add_argument("--format", "-f", required=True, dest="fmt", metavar="FORMAT",
                     help=f"one of {', '.join(list_formats())}")
    imp.set_defaults(func=run_import)


def run_export(args: argparse.Namespace) -> int:
    """Handler of ``microlab export``; returns the exit code."""
    try:
        with Project.open(args.project, video=args.frames) as project:
            path = project.export(args.fmt, args.out, verified_only=not args.include_machine,
                                  min_score=args.min_score)
            n = len(project.human_frames())
    except (MicrolabError, ValueError) as exc:
        print(f"microlab export: error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path} ({get_format(args.fmt).name}; {n} human-verified frames in the project)")
    return 0


def run_import(args: argparse.Namespace) -> int:
    """Handler of ``microlab import``; returns the exit code."""
    try:
        project, summary = import_into(args.project, args.frames, args.fmt, args.labels)
        project.close()
    except (MicrolabError, ValueError) as exc:
        print(f"microlab import: error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.project}: {summary}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``export`` or ``import`` alone (``python -m microlab.interop.cli``)."""
    parser = argparse.ArgumentParser(prog="microlab", description="microlab label import/export")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
