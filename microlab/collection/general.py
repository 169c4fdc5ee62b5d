"""The general model: one detector trained on the labels that the micro-models made for many
clips, the "prototype of the production model" the method promises.

Its training set is every clip's human-verified frames plus its confident machine labels
(confidence >= ``min_confidence``, spread evenly over the clip, at most ``machine_per_clip``
per clip).  :func:`leave_one_out` answers "do the micro-models' labels make a better general
model than the human boxes alone?" on a clip neither model has seen, beside the micro-model
trained on that clip's own first boxes.  Each model is judged alone, as a detector: its best
box on a frame above its threshold, or "absent".

>>> model = train_general_model([study.project(n) for n in study])
>>> export_model(model, "general/")   # .safetensors (microlab), .pth (fastai/torch) and .onnx
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from microlab.boxes import Detections
from microlab.errors import ModelError, SettingsError

if TYPE_CHECKING:
    from microlab.model import MicroModel, MicroModelConfig
    from microlab.model.data import LabelledFrame
    from microlab.project import Project
    from microlab.sequences import Clip


@dataclass(frozen=True)
class GeneralSettings:
    """How the general model is trained.

    Attributes:
        min_confidence: a machine label joins the training set from this confidence up (the
            loop's "confident", 0.8).
        machine_per_clip: at most this many machine-labelled frames per clip, spread evenly
            over the clip (training time grows with the frames read, not their number).
        model: the detector's settings (default: :class:`~microlab.model.MicroModelConfig`).
    """

    min_confidence: float = 0.8
    machine_per_clip: int = 60
    model: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.min_confidence <= 1.0:
            raise SettingsError(f"min_confidence must be in [0, 1], but got "
                                f"{self.min_confidence!r}")
        if self.machine_per_clip < 0:
            raise SettingsError("machine_per_clip must be >= 0")


def training_frames(project: Project, settings: GeneralSettings | None = None, *,
                    human_only: bool = False) -> list[LabelledFrame]:
    """One project's share of the general training set: its human frames, then (unless
    ``human_only``) its confident machine labels (boxes and confident "absent")."""
    from microlab.loop import labelled_frames, latest_labelling
    from microlab.model.data import LabelledFrame

    settings = settings or GeneralSettings()
    human = project.human_labels()
    out = labelled_frames(project)
    data = latest_labelling(project)
    if human_only or data is None or settings.machine_per_clip == 0:
        return out
    confidence = np.asarray(data["confidence"], float)
    boxes = np.asarray(data["boxes"], float).reshape(len(confidence), -1)[:, :4]
    chosen = [f for f in np.flatnonzero(confidence >= settings.min_confidence)
              if int(f) not in human]
    if len(chosen) > settings.machine_per_clip:
        picks = np.linspace(0, len(chosen) - 1, settings.machine_per_clip).round().astype(int)
        chosen = [chosen[i] for i in picks]
    for f in chosen:
        row = boxes[int(f)]
        det = (Detections(row[None]) if np.isfinite(row).all() else Detections.empty())
        out.append(LabelledFrame(project.frames[int(f)], det))
    return out


def _config(settings: GeneralSettings, classes: list[str]) -> MicroModelConfig:
    from microlab.model import MicroModelConfig

    return replace(MicroModelConfig(**settings.model), classes=classes)


def _classes_of(projects: Sequence[Project]) -> list[str]:
    if not projects:
        raise ModelError("no projects given: the general model learns from their labels")
    classes = [list(p.classes) for p in projects]
    if any(c != classes[0] for c in classes):
        raise ModelError(f"the projects have different classes ({classes}); a general model "
                         "needs one list of classes")
    return classes[0]


def _fit(frames: list[LabelledFrame], classes: list[str], settings: GeneralSettings, *,
         progress: bool) -> MicroModel:
    from microlab.model import train_micro_model

    if not any(len(lf.boxes) for lf in frames):
        raise ModelError("no box in any project: label the clips (or step them) first")
    return train_micro_model(frames, _config(settings, classes), progress=progress)


def train_general_model(projects: Sequence[Project], settings: GeneralSettings | None = None,
                        *, human_only: bool = False, progress: bool = True) -> MicroModel:
    """Train one detector on the labels of every project (see :func:`training_frames`).

    Raises:
        ModelError: the projects hold no box at all, or their classes differ.
    """
    settings = settings or GeneralSettings()
    classes = _classes_of(projects)
    frames = [lf for p in projects for lf in training_frames(p, settings,
                                                               human_only=human_only)]
    return _fit(frames, classes, settings, progress=progress)


def evaluate_detector(model: Any, clip: Clip, *, progress: bool = False) -> dict[str, Any]:
    """The model alone on every frame of a clip with ground truth: its best box above its
    threshold, else "absent"; the share of frames right at IoU 0.5 and 0.7."""
    from microlab.metrics import correct_mask

    truth = np.asarray(clip.ground_truth, float)
    cand = model.predict(clip.frames, range(len(clip)), k=1, progress=progress,
                         description=f"evaluate on {clip.name}")
    boxes = np.full((len(clip), 4), np.nan)
    hit = (cand.scores[:, 0] >= cand.threshold) & np.isfinite(cand.xyxy[:, 0]).all(axis=1)
    boxes[hit] = cand.xyxy[hit, 0]
    return {"frames": len(clip), "correct_frac": float(correct_mask(boxes, truth, 0.5).mean()),
            "correct_frac_iou70": float(correct_mask(boxes, truth, 0.7).mean())}


def export_model(model: MicroModel, folder: str | os.PathLike[str], *,
                 name: str = "general", frame_size: tuple[int, int] = (640, 360),
                 ) -> dict[str, Path]:
    """Write the model in the formats people use; returns the paths by format.

    * ``<name>.safetensors``: the microlab checkpoint (:meth:`MicroModel.from_bytes` reads it).
    * ``<name>.pth``: ``{"model": state_dict}``, the layout of fastai's ``Learner.save``
      (``learn.load(name, with_opt=False)`` reads it into a Learner over the same network).
    * ``<name>.onnx``: the network (timm body and CenterNet head) at the working input size
      of a ``frame_size`` frame, batch size free; outputs ``heatmap``, ``size``, ``offset``.
      Needs the ``onnx`` package (``pip install onnx``).
    * ``<name>.json``: the metadata (classes, scale, threshold, mean and std) to use the ONNX
      file without microlab.
    """
    import torch

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"safetensors": folder / f"{name}.safetensors", "pth": folder / f"{name}.pth",
             "onnx": folder / f"{name}.onnx", "json": folder / f"{name}.json"}
    paths["safetensors"].write_bytes(model.to_bytes())
    state = {k: v.detach().cpu().contiguous() for k, v in model.net.state_dict().items()}
    torch.save({"model": state}, paths["pth"])
    width, height = model.input_size(frame_size)
    example = torch.zeros(1, 3, height, width)
    net = model.net.eval().to(memory_format=torch.contiguous_format)
    try:
        torch.onnx.export(net, (example,), str(paths["onnx"]), dynamo=False, opset_version=17,
                          input_names=["image"], output_names=["heatmap", "size", "offset"],
                          dynamic_axes={"image": {0: "batch"}, "heatmap": {0: "batch"},
                                        "size": {0: "batch"}, "offset": {0: "batch"}})
    except Exception as exc:
        if "onnx" in str(exc).lower() and "install" in str(exc).lower():
            raise ModelError("ONNX export needs the onnx package: pip install onnx") from exc
        raise
    finally:
        net.to(memory_format=torch.channels_last)
    meta = {**model.metadata(), "onnx_input": {"width": width, "height": height,
                                               "layout": "NCHW, RGB, (pixel - mean) / std "
                                                         "with mean and std in 0-255 units"}}
    paths["json"].write_text(json.dumps(meta, indent=2) + "\n")
    return paths


def leave_one_out(projects: Sequence[Project], clips: Sequence[Clip],
                  settings: GeneralSettings | None = None, *,
                  progress: bool = False) -> list[dict[str, Any]]:
    """For each clip: a general model trained on the other clips' micro-model labels (human
    plus confident machine labels), one trained on their human boxes alone, and the clip's own
    micro-model (its latest clip model, trained on its human boxes), each judged on that clip.

    ``projects[i]`` is the (stepped) project of ``clips[i]``, whose ground truth judges.
    """
    from microlab.model import MicroModel

    if len(projects) != len(clips) or len(projects) < 2:
        raise SettingsError("give one project per clip, and at least two clips")
    settings = settings or GeneralSettings()
    classes = _classes_of(projects)
    # Each project's share, read once: its human frames first, then its machine labels.
    shares = [training_frames(p, settings) for p in projects]
    n_human = [len(p.human_frames()) for p in projects]
    rows = []
    for i, clip in enumerate(clips):
        others = [j for j in range(len(projects)) if j != i]
        general_frames = [lf for j in others for lf in shares[j]]
        human_frames = [lf for j in others for lf in shares[j][:n_human[j]]]
        general = _fit(general_frames, classes, settings, progress=progress)
        human = _fit(human_frames, classes, settings, progress=progress)
        own = [m for m in projects[i].store.models() if m["segment_start"] is None]
        row: dict[str, Any] = {
            "clip": clip.name, "frames": len(clip),
            "train_frames_general": len(general_frames),
            "train_frames_human": len(human_frames),
            "general": evaluate_detector(general, clip, progress=progress),
            "human_only": evaluate_detector(human, clip, progress=progress),
        }
        if own:
            _, _, weights = projects[i].store.load_model(own[0]["version"])
            row["micro_model"] = evaluate_detector(MicroModel.from_bytes(weights), clip,
                                                   progress=progress)
        rows.append(row)
    return rows


def format_leave_one_out(rows: Sequence[dict[str, Any]]) -> str:
    """The leave-one-out figures as a Markdown table: share of frames right at IoU 0.5 (0.7)."""
    def cell(r: dict[str, Any] | None) -> str:
        if r is None:
            return "-"
        return f"{r['correct_frac']:.1%} ({r['correct_frac_iou70']:.1%})"

    lines = [("| clip left out | frames | general (micro-model labels) | human boxes only | "
             "gain | its own micro-model |"), "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        gain = r["general"]["correct_frac"] - r["human_only"]["correct_frac"]
        lines.append(f"| {r['clip']} | {r['frames']} | {cell(r['general'])} | "
                     f"{cell(r['human_only'])} | {gain * 100:+.1f} pts | "
                     f"{cell(r.get('micro_model'))} |")
    return "\n".join(lines)


__all__ = ["GeneralSettings", "evaluate_detector", "export_model", "format_leave_one_out",
           "leave_one_out", "train_general_model", "training_frames"]
