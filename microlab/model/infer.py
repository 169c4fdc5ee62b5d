"""A trained micro-model: weights, settings and calibration, and how it finds boxes in frames.

``MicroModel.predict(frames)`` returns :class:`Candidates`: the top few boxes per frame with
scores, not only the best one, so that temporal reasoning can pick a consistent path later.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from microlab.boxes import Detections, Source, nms, present_mask
from microlab.errors import ModelError
from microlab.model.config import MicroModelConfig
from microlab.model.network import STRIDE, MicroDetector, build_backbone
from microlab.model.weights import PretrainedSource

REFINE_CROP = 128  # network pixels of the zoomed crop used to refine a box
REFINE_MIN_RATIO = 1.25  # refine only when the zoomed look is at least this much closer


@dataclass
class Candidates:
    """The top ``k`` boxes the model found in each predicted frame.

    Attributes:
        frames: ``(n,)`` frame indices.
        xyxy: ``(n, k, 4)`` boxes in image pixels (NaN where fewer than ``k`` were found).
        scores: ``(n, k)`` peak scores in [0, 1], best first (0 where no box).
        class_ids: ``(n, k)``.
        threshold: score above which a box counts as a detection.
    """

    frames: np.ndarray
    xyxy: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    threshold: float
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.frames)

    def detections(self, threshold: float | None = None, *,
                   max_per_class: int = 1) -> dict[int, Detections]:
        """Boxes above ``threshold`` per frame, at most ``max_per_class`` of each class."""
        thr = self.threshold if threshold is None else threshold
        out: dict[int, Detections] = {}
        for row, frame in enumerate(self.frames):
            keep = []
            counts: dict[int, int] = {}
            present = present_mask(self.xyxy[row])  # a NaN slot is no box, even at threshold 0
            for j in range(self.scores.shape[1]):
                cls = int(self.class_ids[row, j])
                if present[j] and self.scores[row, j] >= thr and counts.get(cls, 0) < max_per_class:
                    keep.append(j)
                    counts[cls] = counts.get(cls, 0) + 1
            out[int(frame)] = Detections(
                self.xyxy[row, keep], self.scores[row, keep], self.class_ids[row, keep],
                sources=[Source.MODEL] * len(keep),
            )
        return out

    def row(self, frame: int) -> int:
        rows = np.flatnonzero(self.frames == frame)
        if not rows.size:
            raise KeyError(f"frame {frame} was not predicted")
        return int(rows[0])


def prefetch(items: Iterable[Any], load: Callable[[Any], Any], depth: int = 6) -> Iterator[Any]:
    """``map(load, items)`` computed one step ahead in a thread (OpenCV decoding frees the GIL)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()

    def work() -> None:
        try:
            for item in items:
                q.put(load(item))
        except BaseException as exc:  # noqa: BLE001  (handed to the consumer, which re-raises it)
            q.put(exc)
        q.put(done)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    while True:
        value = q.get()
        if value is done:
            break
        if isinstance(value, BaseException):
            raise value
        yield value
    thread.join()


def decode_heatmaps(
    logits: torch.Tensor, offset: torch.Tensor, log_size: torch.Tensor, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-``k`` peaks per image: boxes in network pixels ``(b, k, 4)``, scores and class ids."""
    heat = logits.sigmoid()
    peaks = heat * (F.max_pool2d(heat, 3, stride=1, padding=1) == heat)
    b, c, h, w = peaks.shape
    k = min(k, c * h * w)
    scores, flat = peaks.reshape(b, -1).topk(k)
    cls = flat // (h * w)
    cell = flat % (h * w)
    iy, ix = cell // w, cell % w
    bidx = torch.arange(b)[:, None]
    off = offset[bidx, :, iy, ix]  # (b, k, 2)
    size = log_size[bidx, :, iy, ix].clamp(-4, 6).exp() * STRIDE
    cx = (ix.float() + off[..., 0]) * STRIDE
    cy = (iy.float() + off[..., 1]) * STRIDE
    boxes = torch.stack([cx - size[..., 0] / 2, cy - size[..., 1] / 2,
                         cx + size[..., 0] / 2, cy + size[..., 1] / 2], -1)
    return boxes.numpy(), scores.numpy(), cls.numpy()


class MicroModel:
    """A trained micro-detector with everything needed to use it on full frames."""

    def __init__(
        self,
        net: MicroDetector,
        config: MicroModelConfig,
        *,
        scale: float,
        refine_scale: float | None = None,
        threshold: float,
        mean: Sequence[float],
        std: Sequence[float],
        info: dict[str, Any] | None = None,
    ) -> None:
        self.net = net.eval()
        self.config = config
        self.scale = float(scale)
        self.refine_scale = None if refine_scale is None else float(refine_scale)
        self.threshold = float(threshold)
        self.mean = np.asarray(mean, np.float32) * 255
        self.std = np.asarray(std, np.float32) * 255
        self.info = dict(info or {})
        self.net.to(memory_format=torch.channels_last)
        #: run inference through a frozen TorchScript trace of ``net`` (batch norms folded into
        #: the convolutions, weights pre-packed for oneDNN): the same outputs (to ~1e-6) about
        #: twice as fast on a CPU.  ``False`` runs ``net`` eagerly.
        self.compiled = True
        self._frozen: Any = None  # the trace, made on first use (one serves every input shape)

    # ------------------------------------------------------------------ saving
    def metadata(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "scale": self.scale,
            "refine_scale": self.refine_scale,
            "threshold": self.threshold,
            "mean": (self.mean / 255).tolist(),
            "std": (self.std / 255).tolist(),
            "info": self.info,
        }

    def to_bytes(self) -> bytes:
        """The weights as safetensors bytes, with :meth:`metadata` in the header."""
        from safetensors.torch import save

        state = {k: v.contiguous() for k, v in self.net.state_dict().items()}
        return save(state, metadata={"microlab": json.dumps(self.metadata())})

    @classmethod
    def from_bytes(cls, data: bytes) -> MicroModel:
        """Load a checkpoint written by :meth:`to_bytes`; never unpickles anything."""
        from safetensors.torch import load

        try:
            state = load(data)
            # safetensors layout: 8-byte little-endian header length, then the JSON header.
            header_len = int.from_bytes(data[:8], "little")
            header = json.loads(data[8 : 8 + header_len])
            meta = json.loads(header["__metadata__"]["microlab"])
        except Exception as exc:
            raise ModelError("not a microlab checkpoint (safetensors "
                             f"with microlab metadata): {exc}") from exc
        config = MicroModelConfig.from_dict(meta["config"])
        backbone = build_backbone(config.backbone, PretrainedSource("none"))
        net = MicroDetector(backbone, len(config.classes), config.head_channels)
        net.load_state_dict(state)
        return cls(net, config, scale=meta["scale"], refine_scale=meta.get("refine_scale"),
                   threshold=meta["threshold"],
                   mean=meta["mean"], std=meta["std"], info=meta.get("info"))

    # ------------------------------------------------------------------ inference
    def input_size(self, frame_size: tuple[int, int]) -> tuple[int, int]:
        """Network input ``(width, height)`` for a frame: working scale, multiples of 32."""
        w, h = frame_size
        return max(32, round(w * self.scale / 32) * 32), max(32, round(h * self.scale / 32) * 32)

    def _prepare(self, image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        interp = cv2.INTER_AREA if size[0] < image.shape[1] else cv2.INTER_LINEAR
        resized = cv2.resize(image, size, interpolation=interp)
        return ((resized.astype(np.float32) - self.mean) / self.std).transpose(2, 0, 1)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_frozen"] = None  # a TorchScript module does not pickle; it is remade on use
        return state

    def _runner(self, x: torch.Tensor) -> Any:
        """The frozen trace of ``net`` (made once, from an input of ``x``'s shape), or ``net``
        itself when ``compiled`` is off or tracing fails for this backbone."""
        if not self.compiled:
            return self.net
        if self._frozen is None:
            import warnings

            try:
                with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # TorchScript's deprecation notices
                    example = torch.zeros(x.shape).contiguous(memory_format=torch.channels_last)
                    self._frozen = torch.jit.freeze(torch.jit.trace(self.net.eval(), example,
                                                                    check_trace=False))
            except (RuntimeError, TypeError, ValueError):  # an op it cannot trace: run eagerly
                self.compiled = False
                return self.net
        return self._frozen

    @torch.inference_mode()
    def _forward(self, batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = torch.from_numpy(batch).contiguous(memory_format=torch.channels_last)
        return tuple(self._runner(x)(x))

    def detect(self, images: Sequence[np.ndarray], *, k: int = 5) -> list[Detections]:
        """Top-``k`` candidate boxes in each of a few RGB images (no threshold applied)."""
        if not len(images):
            return []
        frame_size = (images[0].shape[1], images[0].shape[0])
        size = self.input_size(frame_size)
        batch = np.stack([self._prepare(im, size) for im in images])
        boxes, scores, cls = self._decode(batch, size, frame_size, k)
        if self.refine_scale is not None:
            boxes = self._refine(images, boxes, scores)
        return [Detections(b[s > 0], s[s > 0], c[s > 0]) for b, s, c in zip(boxes, scores, cls)]

    def _decode(
        self, batch: np.ndarray, size: tuple[int, int], frame_size: tuple[int, int], k: int,
        nms_iou: float = 0.3,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        logits, offset, log_size = self._forward(batch)
        boxes, scores, cls = decode_heatmaps(logits, offset, log_size, k * 3)
        sx, sy = size[0] / frame_size[0], size[1] / frame_size[1]
        boxes = boxes / np.array([sx, sy, sx, sy], np.float32)
        boxes = np.clip(boxes, 0, np.array([*frame_size, *frame_size], np.float32))
        out_b = np.full((len(batch), k, 4), np.nan, np.float32)
        out_s = np.zeros((len(batch), k), np.float32)
        out_c = np.zeros((len(batch), k), np.int64)
        for i in range(len(batch)):
            # NMS: one object gives one candidate, so the k slots hold k different places (with
            # several objects that may overlap, a higher ``nms_iou`` keeps both of a pair).
            kept = nms(boxes[i], scores[i], iou_threshold=nms_iou)[:k]
            out_b[i, : len(kept)] = boxes[i, kept]
            out_s[i, : len(kept)] = scores[i, kept]
            out_c[i, : len(kept)] = cls[i, kept]
        return out_b, out_s, out_c

    def _refine(self, images: Sequence[np.ndarray], boxes: np.ndarray, scores: np.ndarray,
                top: int = 2) -> np.ndarray:
        """Re-detect the best boxes on zoomed crops where the full frame was shrunk a lot."""
        crops, where, matrices = [], [], []
        c = REFINE_CROP
        for i, image in enumerate(images):
            for j in range(min(top, boxes.shape[1])):
                box = boxes[i, j]
                if scores[i, j] <= 0 or not np.isfinite(box).all():
                    continue
                side = float(np.sqrt(max(box[2] - box[0], 1) * max(box[3] - box[1], 1)))
                # Follow the object's size, within the zoom range the model was trained on.
                zoom = float(np.clip(self.config.object_size / side, self.refine_scale / 1.4,
                                     self.refine_scale * 1.4))
                cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
                m = np.array([[zoom, 0, c / 2 - cx * zoom], [0, zoom, c / 2 - cy * zoom]],
                             np.float32)
                crop = cv2.warpAffine(image, m, (c, c), flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_CONSTANT,
                                      borderValue=tuple(map(int, self.mean)))
                crops.append(((crop.astype(np.float32) - self.mean) / self.std).transpose(2, 0, 1))
                where.append((i, j))
                matrices.append(m)
        if not crops:
            return boxes
        logits, offset, log_size = self._forward(np.stack(crops))
        # Only peaks near the crop centre belong to the box being refined.
        cells = c // STRIDE
        yy, xx = np.mgrid[0:cells, 0:cells]
        near = ((xx - cells / 2 + 0.5) ** 2 + (yy - cells / 2 + 0.5) ** 2) <= (cells / 4) ** 2
        heat = logits.sigmoid().amax(1).numpy() * near
        refined = boxes.copy()
        for n, (i, j) in enumerate(where):
            iy, ix = np.unravel_index(int(np.argmax(heat[n])), heat[n].shape)
            if heat[n, iy, ix] < 0.05:
                continue
            off = offset[n, :, iy, ix].numpy()
            wh = np.exp(np.clip(log_size[n, :, iy, ix].numpy(), -4, 6)) * STRIDE
            cx, cy = (ix + off[0]) * STRIDE, (iy + off[1]) * STRIDE
            zoom, tx, ty = matrices[n][0, 0], matrices[n][0, 2], matrices[n][1, 2]
            x0, y0 = (cx - wh[0] / 2 - tx) / zoom, (cy - wh[1] / 2 - ty) / zoom
            height, width = images[i].shape[:2]
            refined[i, j] = np.clip((x0, y0, x0 + wh[0] / zoom, y0 + wh[1] / zoom), 0,
                                    [width, height, width, height])
        return refined

    def predict(
        self,
        frames: Sequence[np.ndarray],
        indices: Iterable[int] | None = None,
        *,
        k: int = 5,
        batch_size: int = 2,
        progress: bool = True,
        description: str = "predict",
        nms_iou: float = 0.3,
    ) -> Candidates:
        """Candidates for the given frames (all by default) of a frame source; ``nms_iou``:
        candidates overlapping a better one more than this are dropped."""
        from tqdm.auto import tqdm

        idx = (np.arange(len(frames)) if indices is None
               else np.asarray(list(indices), dtype=np.int64))
        first = frames[int(idx[0])] if len(idx) else None
        if first is None:
            return Candidates(idx, np.zeros((0, k, 4)), np.zeros((0, k)),
                              np.zeros((0, k), np.int64), self.threshold)
        frame_size = (first.shape[1], first.shape[0])
        size = self.input_size(frame_size)
        all_b, all_s, all_c = [], [], []

        def load(i: int) -> tuple[np.ndarray, np.ndarray]:
            image = frames[int(i)]
            return image, self._prepare(image, size)

        bar = tqdm(total=len(idx), desc=description, unit="frame", disable=not progress,
                   leave=False)
        images: list[np.ndarray] = []
        batch: list[np.ndarray] = []

        def flush() -> None:
            b, s, c = self._decode(np.stack(batch), size, frame_size, k, nms_iou)
            if self.refine_scale is not None:
                b = self._refine(images, b, s)
            all_b.append(b)
            all_s.append(s)
            all_c.append(c)
            bar.update(len(batch))
            images.clear()
            batch.clear()

        for image, tensor in prefetch(idx, load):
            images.append(image)
            batch.append(tensor)
            if len(batch) == batch_size:
                flush()
        if batch:
            flush()
        bar.close()
        return Candidates(idx, np.concatenate(all_b), np.concatenate(all_s), np.concatenate(all_c),
                          self.threshold)
