"""The micro-detector: build, train (fastai), save/load (safetensors) and predict."""

from microlab.model.config import MicroModelConfig
from microlab.model.data import LabelledFrame
from microlab.model.infer import Candidates, MicroModel
from microlab.model.train import labelled_frame, train_micro_model
from microlab.model.weights import WEIGHTS_ENV, resolve_pretrained

__all__ = [
    "WEIGHTS_ENV",
    "Candidates",
    "LabelledFrame",
    "MicroModel",
    "MicroModelConfig",
    "labelled_frame",
    "resolve_pretrained",
    "train_micro_model",
]
