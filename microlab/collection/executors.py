"""Where the heavy steps of many clips run: this process's pool, or a Ray cluster.

An executor maps one function over many items (clips, or clips' training snapshots) and
returns one :class:`TaskResult` per item, in order, whether it worked or not: a clip that
fails is reported by name while the others finish.

* :class:`LocalExecutor` uses a process pool of this machine (``workers=1`` runs in this
  process, with its progress bars).
* :class:`RayExecutor` uses Ray's own API: a remote function per task with ``num_cpus`` and
  ``num_gpus`` resources, retried by Ray when its worker dies (``max_retries``); data shared
  by every task (settings, snapshots) goes to the object store once with ``ray.put`` and
  travels as object refs; ``ray.init(address=...)`` joins an existing cluster.

Every task runs through :func:`run_task`, which fixes torch's thread count first: training on
a CPU is only bit-identical at the same thread count, so equal seeds give equal results under
either executor.

>>> results = get_executor("ray", address="10.0.0.5:6379").map(simulate_folder, folders,
...                                                           names=[f.name for f in folders])
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from microlab.errors import SettingsError

#: How long :class:`RayExecutor` waits for a cluster address to answer before giving up.
CONNECT_TIMEOUT_S = 10.0
RAY_INSTALL = 'pip install "ray>=2.9"  (or: pip install "microlab[ray]")'


class ExecutorError(SettingsError):
    """An executor could not start: Ray missing, a cluster that does not answer, bad options."""


@dataclass(frozen=True)
class TaskResult:
    """What one task gave back.

    Attributes:
        name: the item's name (a clip's folder name).
        value: the function's return value (``None`` when it failed).
        error: ``"ExceptionType: message"`` when it failed, else ``None``.
        seconds: time spent inside the task (its own work, without queueing or transfer).
        worker: ``"host:pid"`` of the process that ran it.
    """

    name: str
    value: Any = None
    error: str | None = None
    seconds: float = 0.0
    worker: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


def _set_threads(threads: int | None) -> int | None:
    """Set torch's thread count; returns the previous one (``None`` when unchanged)."""
    if threads is None:
        return None
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(int(threads))
    return previous


def run_task(fn: Callable[..., Any], item: Any, shared: Mapping[str, Any], name: str,
             threads: int | None) -> TaskResult:
    """Run ``fn(item, **shared)`` with torch on ``threads`` threads (restored afterwards, for
    a task run in the caller's process); an exception becomes a failed :class:`TaskResult`
    (so one bad clip does not stop the others)."""
    started = time.perf_counter()
    where = f"{socket.gethostname()}:{os.getpid()}"
    previous = None
    try:
        previous = _set_threads(threads)
        value = fn(item, **shared)
    except Exception as exc:  # noqa: BLE001 (any failure of one clip is reported by its name)
        return TaskResult(name, None, f"{type(exc).__name__}: {exc}",
                          time.perf_counter() - started, where)
    finally:
        if previous is not None:
            _set_threads(previous)
    return TaskResult(name, value, None, time.perf_counter() - started, where)


def _names(items: Sequence[Any], names: Sequence[str] | None) -> list[str]:
    names = [str(i) for i in items] if names is None else [str(n) for n in names]
    if len(names) != len(items):
        raise ExecutorError(f"got {len(items)} items but {len(names)} names; give one name per "
                            "item")
    return names


class LocalExecutor:
    """A process pool on this machine (``spawn``ed, so torch starts clean in each worker).

    Args:
        workers: processes at once (default: one per core, at most one per task); ``1`` runs
            every task in this process.
        threads_per_task: torch threads in each task (default: the cores shared out among the
            workers, at least 1).
    """

    name = "local"

    def __init__(self, workers: int | None = None, *, threads_per_task: int | None = None) -> None:
        if workers is not None and int(workers) < 1:
            raise ExecutorError(f"workers must be >= 1, but got {workers!r}")
        if threads_per_task is not None and int(threads_per_task) < 1:
            raise ExecutorError(f"threads_per_task must be >= 1, but got {threads_per_task!r}")
        self.workers = None if workers is None else int(workers)
        self.threads_per_task = threads_per_task

    def __repr__(self) -> str:
        return f"LocalExecutor(workers={self.workers}, threads_per_task={self.threads_per_task})"

    def _plan(self, n_tasks: int) -> tuple[int, int | None]:
        cores = os.cpu_count() or 1
        workers = self.workers or max(1, min(cores, n_tasks))
        threads = self.threads_per_task
        if threads is None and workers > 1:
            threads = max(1, cores // workers)
        return workers, threads

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *,
            names: Sequence[str] | None = None, shared: Mapping[str, Any] | None = None,
            progress: bool = True, description: str = "tasks") -> list[TaskResult]:
        """``fn(item, **shared)`` for every item; one :class:`TaskResult` per item, in order."""
        from tqdm.auto import tqdm

        items, names, shared = list(items), _names(items, names), dict(shared or {})
        workers, threads = self._plan(len(items))
        results: list[TaskResult | None] = [None] * len(items)
        with tqdm(total=len(items), desc=description, unit="task", disable=not progress) as bar:
            if workers == 1:
                for i, item in enumerate(items):
                    results[i] = run_task(fn, item, shared, names[i], threads)
                    bar.update(1)
                return [r for r in results if r is not None]
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor, as_completed
            from concurrent.futures.process import BrokenProcessPool

            context = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
                futures = {pool.submit(run_task, fn, item, shared, names[i], threads): i
                           for i, item in enumerate(items)}
                for future in as_completed(futures):
                    i = futures[future]
                    try:
                        results[i] = future.result()
                    except BrokenProcessPool as exc:  # a worker died (killed, out of memory)
                        results[i] = TaskResult(names[i], None, f"worker died: {exc}")
                    bar.update(1)
        return [r for r in results if r is not None]


def _check_reachable(address: str, timeout: float) -> None:
    """Fail fast, naming the address, when nothing listens there (``ray.init`` itself can wait
    for minutes)."""
    if address in ("auto", "local"):
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    try:
        port_number = int(port)
        if not host:
            raise ValueError
    except ValueError:
        raise ExecutorError(f"Ray address {address!r} is not host:port (e.g. 10.0.0.5:6379, or "
                            "ray://10.0.0.5:10001 for Ray Client)") from None
    try:
        with socket.create_connection((host, port_number), timeout=timeout):
            pass
    except OSError as exc:
        raise ExecutorError(
            f"no Ray cluster answers at {address} within {timeout:.0f} s ({exc}). Check that the "
            "head node runs (`ray status` there, or start one with `ray start --head "
            "--port=6379`), that this machine can reach that host and port (firewall, VPN), and "
            "that the port is the GCS port (6379 by default; ray:// addresses use the client "
            "port, 10001)") from None


class RayExecutor:
    """Tasks on a Ray cluster: this machine's own (started on first use) or one at ``address``.

    Args:
        address: ``None`` starts a local Ray instance; ``"auto"`` joins the cluster this machine
            belongs to; ``"host:port"`` or ``"ray://host:10001"`` joins that one.
        workers: CPUs of a local Ray instance (default: all cores); ignored with ``address``.
        cpus_per_task: Ray ``num_cpus`` of each task; also its torch thread count.
        gpus_per_task: Ray ``num_gpus`` of each task (0 on CPU-only nodes).
        max_retries: how often Ray re-runs a task whose worker died.
        connect_timeout: seconds to wait for ``address`` to answer.
    """

    name = "ray"

    def __init__(self, address: str | None = None, *, workers: int | None = None,
                 cpus_per_task: int = 1, gpus_per_task: float = 0, max_retries: int = 3,
                 connect_timeout: float = CONNECT_TIMEOUT_S) -> None:
        if int(cpus_per_task) < 1:
            raise ExecutorError(f"cpus_per_task must be >= 1, but got {cpus_per_task!r}")
        if gpus_per_task < 0 or max_retries < 0:
            raise ExecutorError("gpus_per_task and max_retries must be >= 0")
        self.address = address
        self.workers = workers
        self.cpus_per_task = int(cpus_per_task)
        self.gpus_per_task = gpus_per_task
        self.max_retries = int(max_retries)
        self.connect_timeout = float(connect_timeout)

    def __repr__(self) -> str:
        return (f"RayExecutor(address={self.address!r}, cpus_per_task={self.cpus_per_task}, "
                f"gpus_per_task={self.gpus_per_task}, max_retries={self.max_retries})")

    def _ray(self) -> Any:
        try:
            import ray
        except ImportError:
            raise ExecutorError(f"executor 'ray' needs Ray, which is not installed: "
                                f"{RAY_INSTALL}") from None
        if not ray.is_initialized():
            if self.address is not None:
                _check_reachable(self.address, self.connect_timeout)
            options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                       "configure_logging": False}
            if self.address is None:
                options["num_cpus"] = self.workers or os.cpu_count() or 1
            # Workers import microlab from this checkout when it is not installed on them.
            package_root = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
            options["runtime_env"] = {"env_vars": {
                "PYTHONPATH": os.pathsep.join(p for p in (package_root,
                                                          os.environ.get("PYTHONPATH")) if p)}}
            try:
                ray.init(address=self.address, **options)
            except (ConnectionError, RuntimeError, TimeoutError) as exc:
                raise ExecutorError(f"could not join the Ray cluster at {self.address}: {exc}. "
                                    "Check `ray status` on its head node") from None
        return ray

    def map(self, fn: Callable[..., Any], items: Sequence[Any], *,
            names: Sequence[str] | None = None, shared: Mapping[str, Any] | None = None,
            progress: bool = True, description: str = "tasks") -> list[TaskResult]:
        """``fn(item, **shared)`` for every item as Ray tasks; one :class:`TaskResult` per
        item, in order.  ``shared`` values are put in the object store once."""
        from tqdm.auto import tqdm

        ray = self._ray()
        items, names = list(items), _names(items, names)
        remote = ray.remote(num_cpus=self.cpus_per_task, num_gpus=self.gpus_per_task,
                            max_retries=self.max_retries)(_ray_task)
        # One object ref per shared value and for the function: every task reads the same copy.
        # They travel as top-level arguments, which Ray resolves before the task starts.
        keys = list(shared or {})
        shared_refs = [ray.put(shared[k]) for k in keys] if shared else []
        fn_ref = ray.put(fn)
        refs = [remote.remote(fn_ref, ray.put(item), names[i], self.cpus_per_task, keys,
                              *shared_refs) for i, item in enumerate(items)]
        index = {ref: i for i, ref in enumerate(refs)}
        results: list[TaskResult | None] = [None] * len(items)
        pending = list(refs)
        with tqdm(total=len(items), desc=description, unit="task", disable=not progress) as bar:
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    i = index[ref]
                    try:
                        results[i] = ray.get(ref)
                    except ray.exceptions.RayError as exc:  # retries used up: it kept dying
                        results[i] = TaskResult(names[i], None, f"{type(exc).__name__}: {exc}")
                    bar.update(1)
        return [r for r in results if r is not None]

    def shutdown(self) -> None:
        """Disconnect from (or stop) the Ray instance this process started or joined."""
        import ray

        ray.shutdown()


def _ray_task(fn: Callable[..., Any], item: Any, name: str, threads: int | None,
              keys: Sequence[str], *values: Any) -> TaskResult:
    return run_task(fn, item, dict(zip(keys, values)), name, threads)


def get_executor(executor: str | LocalExecutor | RayExecutor | None = "local", *,
                 address: str | None = None, workers: int | None = None,
                 ) -> LocalExecutor | RayExecutor:
    """An executor by name (``"local"`` or ``"ray"``), or the one given.

    Args:
        executor: ``"local"``, ``"ray"``, ``None`` (local) or an executor object.
        address: a Ray cluster to join (only with ``"ray"``).
        workers: processes (local) or CPUs of a local Ray instance.
    """
    if executor is None or executor == "local":
        if address is not None:
            raise ExecutorError(f"address {address!r} is for executor 'ray'; pass "
                                "executor='ray' (--executor ray) to join a cluster")
        return LocalExecutor(workers)
    if executor == "ray":
        return RayExecutor(address, workers=workers)
    if isinstance(executor, (LocalExecutor, RayExecutor)):
        return executor
    raise ExecutorError(f"executor must be 'local' or 'ray', but got {executor!r}")


__all__ = ["CONNECT_TIMEOUT_S", "ExecutorError", "LocalExecutor", "RayExecutor", "TaskResult",
           "get_executor", "run_task"]
