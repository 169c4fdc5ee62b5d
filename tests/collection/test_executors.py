"""Executors: every item gets a result in order, failures are reported by name, bad options and
missing Ray say what to do."""

from __future__ import annotations

import socket
import sys

import pytest

from microlab.collection.executors import (
    ExecutorError,
    LocalExecutor,
    RayExecutor,
    TaskResult,
    get_executor,
    run_task,
)


def square_plus(x: int, *, add: int = 0) -> int:
    if x == 3:
        raise ValueError("three is refused")
    return x * x + add


@pytest.mark.parametrize("workers", [1, 2])
def test_local_executor_keeps_order_and_reports_a_failure_by_name(workers: int) -> None:
    results = LocalExecutor(workers).map(square_plus, [1, 2, 3, 4], names=["a", "b", "c", "d"],
                                         shared={"add": 10}, progress=False)
    assert [r.name for r in results] == ["a", "b", "c", "d"]
    assert [r.value for r in results] == [11, 14, None, 26]
    assert [r.ok for r in results] == [True, True, False, True]
    assert results[2].error == "ValueError: three is refused"
    assert all(":" in r.worker for r in results)


def test_local_tasks_share_the_cores_out_as_torch_threads() -> None:
    assert LocalExecutor(1)._plan(5) == (1, None)  # in this process, its own thread count
    workers, threads = LocalExecutor(2)._plan(5)
    assert workers == 2
    assert threads >= 1
    assert LocalExecutor(2, threads_per_task=3)._plan(5) == (2, 3)
    # never more processes than tasks
    assert LocalExecutor()._plan(1)[0] == 1


def test_run_task_turns_an_exception_into_a_result() -> None:
    r = run_task(square_plus, 3, {}, "three", None)
    assert r == TaskResult("three", None, "ValueError: three is refused", r.seconds, r.worker)


def test_bad_options_are_refused_with_the_fix() -> None:
    with pytest.raises(ExecutorError, match="'local' or 'ray'"):
        get_executor("dask")
    with pytest.raises(ExecutorError, match="executor='ray'"):
        get_executor("local", address="10.0.0.5:6379")
    with pytest.raises(ExecutorError, match="workers"):
        LocalExecutor(0)
    with pytest.raises(ExecutorError, match="one name per item"):
        LocalExecutor(1).map(square_plus, [1, 2], names=["a"], progress=False)
    assert isinstance(get_executor("ray", address="auto"), RayExecutor)
    assert isinstance(get_executor(None), LocalExecutor)


def test_without_ray_the_error_gives_the_pip_command(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ExecutorError, match="pip install"):
        RayExecutor().map(square_plus, [1], progress=False)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block exits: nothing listens


def test_an_unreachable_cluster_is_named_with_what_to_check() -> None:
    ray = pytest.importorskip("ray")
    ray.shutdown()  # joining happens only when no Ray instance runs in this process yet
    address = f"127.0.0.1:{_closed_port()}"
    with pytest.raises(ExecutorError) as info:
        RayExecutor(address, connect_timeout=2).map(square_plus, [1], progress=False)
    message = str(info.value)
    assert address in message
    assert "ray start --head" in message
    assert "ray status" in message
    with pytest.raises(ExecutorError, match="host:port"):
        RayExecutor("no-port-here").map(square_plus, [1], progress=False)


def torch_threads(_: object) -> int:
    import torch

    return torch.get_num_threads()


def test_a_task_in_this_process_gets_its_threads_and_gives_them_back() -> None:
    import torch

    before = torch.get_num_threads()
    (result,) = LocalExecutor(1, threads_per_task=1).map(torch_threads, [0], progress=False)
    assert result.value == 1
    assert torch.get_num_threads() == before
