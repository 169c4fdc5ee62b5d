"""Training data for a micro-model: augmented crops of a few labelled frames, and their targets.

A handful of frames must stand in for a whole stretch of video, so every crop is a new view:
random scale around the model's working scale, random placement of the object (or none, for
background crops), flips, colour, blur and noise.  Everything in a labelled frame that is not a
labelled box is background, which is how look-alikes (team mates, other cars) become negatives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from microlab.boxes import Detections
from microlab.model.network import STRIDE


@dataclass
class LabelledFrame:
    """One human-labelled frame: RGB image and its boxes (none = object absent).

    ``complete=False``: a partly boxed frame (not every object boxed).  Its boxes train as
    objects, but the rest of it is not taken for background: see :data:`UNKNOWN`.
    """

    image: np.ndarray
    boxes: Detections
    complete: bool = True


#: Heatmap target of a cell nobody labelled (a partly boxed frame, away from its boxes): the loss
#: trains it as background only while the model scores it below :data:`UNKNOWN_CEILING`, since a
#: higher score there may be an object nobody boxed.
UNKNOWN = -1.0
UNKNOWN_CEILING = 0.3


def object_sizes(frames: Sequence[LabelledFrame]) -> np.ndarray:
    """Square root of the area of every labelled box, in image pixels."""
    sizes = [
        math.sqrt(max(b[2] - b[0], 1.0) * max(b[3] - b[1], 1.0))
        for f in frames for b in f.boxes.xyxy
    ]
    return np.asarray(sizes, dtype=np.float64)


def working_scale(
    frame_size: tuple[int, int],
    typical_object: float,
    *,
    object_size: float,
    max_input_side: int,
    min_input_side: int,
) -> float:
    """Network pixels per image pixel for full-frame inference.

    Aims for objects of ``object_size`` px in the network input, within the side limits (the
    maximum wins, to bound inference time).  Never enlarges a frame.
    """
    width, height = frame_size
    scale = object_size / max(typical_object, 1.0)
    scale = max(scale, min_input_side / min(width, height))
    scale = min(scale, max_input_side / max(width, height), 1.0)
    return float(scale)


def refine_scale(typical_object: float, *, object_size: float, max_zoom: float = 3.0) -> float:
    """Network pixels per image pixel that show a typical object at ``object_size`` px.

    Used for the zoomed second look at each found box when the full frame had to be shrunk
    (small objects in big frames); never more than ``max_zoom`` times the native resolution.
    """
    return float(min(object_size / max(typical_object, 1.0), max_zoom))


def gaussian_radius_sigma(w_cells: float, h_cells: float) -> tuple[float, float]:
    return max(0.6, 0.15 * w_cells), max(0.6, 0.15 * h_cells)


def encode_targets(
    boxes_xyxy: np.ndarray, class_ids: np.ndarray, *, size: int, num_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """CenterNet targets at stride 8 for boxes in network pixels of a ``size`` x ``size`` input.

    Offset and size are supervised on the centre cell and its 3x3 neighbours (weighted by the
    heatmap's gaussian), so the box read at a peak one cell off is still right.
    """
    cells = size // STRIDE
    heat = np.zeros((num_classes, cells, cells), np.float32)
    offset = np.zeros((2, cells, cells), np.float32)
    log_size = np.zeros((2, cells, cells), np.float32)
    weight = np.zeros((1, cells, cells), np.float32)
    grid = np.arange(cells, dtype=np.float32)
    for (x0, y0, x1, y1), cls in zip(boxes_xyxy, class_ids):
        cx, cy = (x0 + x1) / 2 / STRIDE, (y0 + y1) / 2 / STRIDE
        ix, iy = int(cx), int(cy)
        if not (0 <= ix < cells and 0 <= iy < cells):
            continue
        w, h = max(x1 - x0, 1.0) / STRIDE, max(y1 - y0, 1.0) / STRIDE
        sx, sy = gaussian_radius_sigma(w, h)
        g = np.exp(-((grid[None, :] - ix) ** 2) / (2 * sx**2)
                   - ((grid[:, None] - iy) ** 2) / (2 * sy**2))
        heat[cls] = np.maximum(heat[cls], g)
        for jy in range(max(0, iy - 1), min(cells, iy + 2)):
            for jx in range(max(0, ix - 1), min(cells, ix + 2)):
                wgt = float(g[jy, jx])
                if wgt < 0.3 or wgt <= weight[0, jy, jx]:
                    continue
                offset[:, jy, jx] = (cx - jx, cy - jy)
                log_size[:, jy, jx] = (math.log(w), math.log(h))
                weight[0, jy, jx] = wgt
    return heat, offset, log_size, weight


def photometric_jitter(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random brightness, contrast, colour, blur, noise and grey: the look of a clip changing."""
    out = image.astype(np.float32)
    # brightness / contrast
    out = (out - 128.0) * rng.uniform(0.75, 1.25) + 128.0 + rng.uniform(-25, 25)
    if rng.random() < 0.6:  # saturation and hue
        hsv = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8),
                           cv2.COLOR_RGB2HSV).astype(np.float32)
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-6, 6)) % 180
        hsv[..., 1] *= rng.uniform(0.7, 1.3)
        out = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8),
                           cv2.COLOR_HSV2RGB).astype(np.float32)
    if rng.random() < 0.25:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.6))
    if rng.random() < 0.25:
        out += rng.normal(0, rng.uniform(2, 8), out.shape).astype(np.float32)
    if rng.random() < 0.05:
        out[:] = out.mean(axis=2, keepdims=True)
    return np.clip(out, 0, 255).astype(np.uint8)


class CropSampler(torch.utils.data.Dataset):
    """An endless supply of augmented training crops, ``len`` = crops per epoch.

    Each item is ``(image, heatmap, offset, log_size, box_weight)`` as float tensors; the image is
    normalised with the backbone's mean and std.
    """

    def __init__(
        self,
        frames: Sequence[LabelledFrame],
        *,
        scales: Sequence[float],
        crop_size: int,
        num_classes: int,
        length: int,
        mean: Sequence[float],
        std: Sequence[float],
        negative_fraction: float = 0.2,
        augment: bool = True,
        seed: int = 0,
    ) -> None:
        if not frames:
            raise ValueError("a crop sampler needs at least one labelled frame")
        self.frames = list(frames)
        self.scales = tuple(scales)
        self.crop_size = crop_size
        self.num_classes = num_classes
        self.length = length
        self.mean = np.asarray(mean, np.float32) * 255
        self.std = np.asarray(std, np.float32) * 255
        self.negative_fraction = negative_fraction
        self.augment = augment
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.length

    def _window(self, frame: LabelledFrame, index: int) -> tuple[float, float, float, float, bool]:
        """Crop origin (image px), scales x/y (net px per image px) and horizontal flip."""
        rng, c = self.rng, self.crop_size
        height, width = frame.image.shape[:2]
        if not self.augment:
            # Centred on each box in turn at the working scale: a fixed, repeatable view.
            s = self.scales[0]
            if len(frame.boxes):
                x0, y0, x1, y1 = frame.boxes.xyxy[index % len(frame.boxes)]
                return (x0 + x1) / 2 - c / s / 2, (y0 + y1) / 2 - c / s / 2, s, s, False
            return width / 2 - c / s / 2, height / 2 - c / s / 2, s, s, False
        # Around the working scale, and around the refinement scale when there is one.
        spread = 1.6 if len(self.scales) == 1 else 1.43
        centre = self.scales[int(rng.integers(len(self.scales)))]
        s = centre * math.exp(rng.uniform(-math.log(spread), math.log(spread)))
        aspect = math.exp(rng.uniform(-0.12, 0.12))
        sx, sy = s * aspect, s / aspect
        cw, ch = c / sx, c / sy
        # A partly boxed frame has no known background to sample: its crops hold a box.
        if len(frame.boxes) and (not frame.complete or rng.random() >= self.negative_fraction):
            x0, y0, x1, y1 = frame.boxes.xyxy[rng.integers(len(frame.boxes))]
            # The object centre lands anywhere in the middle 80% of the crop.
            ox = (x0 + x1) / 2 - rng.uniform(0.1, 0.9) * cw
            oy = (y0 + y1) / 2 - rng.uniform(0.1, 0.9) * ch
        else:
            ox = rng.uniform(-0.2 * cw, max(width - 0.8 * cw, -0.2 * cw))
            oy = rng.uniform(-0.2 * ch, max(height - 0.8 * ch, -0.2 * ch))
        return ox, oy, sx, sy, bool(rng.random() < 0.5)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        # Augmented crops come from random frames; fixed views cycle through the frames.
        frame = self.frames[int(self.rng.integers(len(self.frames))) if self.augment
                            else index % len(self.frames)]
        c = self.crop_size
        ox, oy, sx, sy, flip = self._window(frame, index // len(self.frames))
        matrix = np.array([[sx, 0, -ox * sx], [0, sy, -oy * sy]], np.float32)
        if flip:
            matrix = np.array([[-1, 0, c], [0, 1, 0]], np.float32) @ np.vstack([matrix, [0, 0, 1]])
        fill = tuple(int(v) for v in (self.rng.integers(0, 256, 3) if self.augment else self.mean))
        crop = cv2.warpAffine(
            frame.image, matrix, (c, c), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=fill,
        )
        boxes = frame.boxes.xyxy.copy()
        if len(boxes):
            pts = np.stack([boxes[:, [0, 1]], boxes[:, [2, 3]]], axis=1)  # (n, 2, 2)
            pts = pts @ matrix[:, :2].T + matrix[:, 2]
            boxes = np.concatenate([pts.min(axis=1), pts.max(axis=1)], axis=1)
        if self.augment:
            crop = photometric_jitter(crop, self.rng)
        heat, offset, log_size, box_weight = encode_targets(
            boxes, frame.boxes.class_ids, size=c, num_classes=self.num_classes
        )
        if not frame.complete:
            heat[:, heat.max(axis=0) < 0.01] = UNKNOWN
        image = ((crop.astype(np.float32) - self.mean) / self.std).transpose(2, 0, 1)
        return (
            torch.from_numpy(np.ascontiguousarray(image)),
            torch.from_numpy(heat),
            torch.from_numpy(offset),
            torch.from_numpy(log_size),
            torch.from_numpy(box_weight),
        )


def _cell_boxes(offset: torch.Tensor, log_size: torch.Tensor) -> torch.Tensor:
    """Boxes ``(b, 4, h, w)`` in stride units read at every cell from offset and log size."""
    _, _, h, w = offset.shape
    ys = torch.arange(h, dtype=offset.dtype, device=offset.device).view(1, h, 1)
    xs = torch.arange(w, dtype=offset.dtype, device=offset.device).view(1, 1, w)
    cx, cy = xs + offset[:, 0], ys + offset[:, 1]
    half_w, half_h = log_size[:, 0].clamp(-4, 6).exp() / 2, log_size[:, 1].clamp(-4, 6).exp() / 2
    return torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], 1)


def giou_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``1 - GIoU`` per cell for boxes ``(b, 4, h, w)``."""
    ix0, iy0 = torch.maximum(pred[:, 0], target[:, 0]), torch.maximum(pred[:, 1], target[:, 1])
    ix1, iy1 = torch.minimum(pred[:, 2], target[:, 2]), torch.minimum(pred[:, 3], target[:, 3])
    inter = (ix1 - ix0).clamp(min=0) * (iy1 - iy0).clamp(min=0)
    area_p = (pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1])
    area_t = (target[:, 2] - target[:, 0]) * (target[:, 3] - target[:, 1])
    union = area_p + area_t - inter
    hull = (torch.maximum(pred[:, 2], target[:, 2]) - torch.minimum(pred[:, 0], target[:, 0])) * (
        torch.maximum(pred[:, 3], target[:, 3]) - torch.minimum(pred[:, 1], target[:, 1]))
    giou = inter / union.clamp(min=1e-6) - (hull - union) / hull.clamp(min=1e-6)
    return 1 - giou


def centernet_loss(
    preds: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    heat: torch.Tensor,
    offset: torch.Tensor,
    log_size: torch.Tensor,
    weight: torch.Tensor,
) -> torch.Tensor:
    """Penalty-reduced focal loss on the heatmap; L1 and GIoU on the boxes read near centres.
    A cell whose target is :data:`UNKNOWN` is background only while scored low."""
    logits, pred_offset, pred_size = preds
    p = logits.sigmoid().clamp(1e-4, 1 - 1e-4)
    pos = heat.eq(1).float()
    unknown = heat.eq(UNKNOWN)
    neg_weight = torch.where(unknown, p.detach().lt(UNKNOWN_CEILING).float(),
                             (1 - heat).pow(4))
    pos_loss = (torch.log(p) * (1 - p).pow(2) * pos).sum()
    neg_loss = (torch.log(1 - p) * p.pow(2) * neg_weight * (1 - pos)).sum()
    n_pos = pos.sum().clamp(min=1.0)
    focal = -(pos_loss + neg_loss) / n_pos
    total_weight = weight.sum().clamp(min=1.0)
    l1 = (((pred_offset - offset).abs()
           + (pred_size - log_size).abs()) * weight).sum() / (2 * total_weight)
    giou = (giou_loss(_cell_boxes(pred_offset, pred_size), _cell_boxes(offset, log_size))
            * weight[:, 0]).sum()
    return focal + l1 + 2.0 * giou / total_weight
