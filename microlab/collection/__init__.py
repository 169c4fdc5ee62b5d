"""Many clips: a collection of projects, and executors (a local pool or Ray) that run their
heavy steps (training, predicting every frame, whole simulations) as parallel tasks."""

from microlab.collection.collection import Collection, Overview
from microlab.collection.executors import (
    ExecutorError,
    LocalExecutor,
    RayExecutor,
    TaskResult,
    get_executor,
)
from microlab.collection.simulate_many import SimulationOptions, simulate_folder, simulate_many

__all__ = ["Collection", "ExecutorError", "LocalExecutor", "Overview", "RayExecutor",
           "SimulationOptions", "TaskResult", "get_executor", "simulate_folder", "simulate_many"]
