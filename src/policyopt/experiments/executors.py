"""Where trials run: this process, a pool of fresh processes, or Ray tasks.

Sweeps and benchmarks hand a list of trials and a *total* function ``fn(item) -> dict`` (one
that never raises: a failure is a result with its error) to one of these maps. Results come
back in completion order through ``on_result`` (so a caller can write its results file as each
trial lands, and a killed run keeps what finished) and, at the end, in input order.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

from policyopt.errors import ConfigError

__all__ = ["map_in_processes", "map_on_ray"]

Result = dict[str, Any]


def map_in_processes(
    fn: Callable[[Any], Result],
    items: Sequence[Any],
    workers: int,
    on_result: Callable[[Any, Result], None] | None = None,
    fresh: bool = True,
) -> list[Result]:
    """``fn`` over ``items`` in spawned processes, ``workers`` at a time.

    ``fresh`` gives each item a process of its own (``max_tasks_per_child=1``): no trial
    inherits another's XLA caches, memory or leaked threads, and one that crashes the
    interpreter takes only itself down (its result is a failure naming the crash). JAX is
    multithreaded, so processes are spawned, never forked.
    """
    ctx = multiprocessing.get_context("spawn")
    results: dict[int, Result] = {}
    with cf.ProcessPoolExecutor(
        workers, mp_context=ctx, max_tasks_per_child=1 if fresh else None
    ) as pool:
        futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
        for fut in cf.as_completed(futures):
            i = futures[fut]
            try:
                res = fut.result()
            except Exception as err:  # the worker process itself died
                res = {"status": "failed", "error": f"worker process died: {err!r}"}
            results[i] = res
            if on_result is not None:
                on_result(items[i], res)
    return [results[i] for i in range(len(items))]


def _apply(fn: Callable[[Any], Result], item: Any) -> Result:
    """``fn(item)``: the one Ray task (``ray.remote`` takes a function or a class, never a
    ``functools.partial`` or another callable object, which travels as an argument)."""
    return fn(item)


def map_on_ray(
    fn: Callable[[Any], Result],
    items: Sequence[Any],
    address: str | None,
    command: str,
    on_result: Callable[[Any, Result], None] | None = None,
) -> list[Result]:
    """``fn`` over ``items`` as Ray tasks of one CPU each (``ray.init()`` locally when no
    cluster is running, or ``address``'s); a task whose worker dies is a failed result."""
    try:
        import ray
    except ImportError as err:
        raise ConfigError(
            command, "--executor", "'ray' needs Ray: pip install 'policyopt[ray]'"
        ) from err
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1)(_apply)
        pending = {task.remote(fn, item): i for i, item in enumerate(items)}
        results: dict[int, Result] = {}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            i = pending.pop(done[0])
            try:
                res = ray.get(done[0])
            except Exception as err:  # the task itself died (worker crash, OOM kill)
                res = {"status": "failed", "error": repr(err)}
            results[i] = res
            if on_result is not None:
                on_result(items[i], res)
        return [results[i] for i in range(len(items))]
    finally:
        if started:
            ray.shutdown()
