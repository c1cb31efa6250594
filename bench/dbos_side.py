"""DBOS Transact's side of ``make bench``: the same N-step workflow, in the bench process.

DBOS executes workflows in the process that starts them (a thread pool; no broker), and
checkpoints each step's output in its system database (``BENCH_DBOS_DATABASE_URL``, on
the same Postgres as the engine). Only imported by ``bench/compare.py``; ``dbos`` comes
from the ``bench`` extra (``pip install -e ".[bench]"``).
"""

from __future__ import annotations

import time
from typing import Any

from dbos import DBOS

_started = False


@DBOS.step()
def stamp(index: int) -> dict[str, Any]:
    return {"index": index, "at": time.perf_counter()}


@DBOS.workflow()
def steps_workflow(n: int) -> dict[str, Any]:
    began = time.perf_counter()
    first_step_at = None
    for index in range(n):
        out = stamp(index)
        if first_step_at is None:
            first_step_at = out["at"]
    return {"bodyMs": (time.perf_counter() - began) * 1000, "firstStepAt": first_step_at}


def launch(database_url: str) -> None:
    global _started
    DBOS(
        config={
            "name": "rawr-bench",
            "system_database_url": database_url,
            "run_admin_server": False,
            "log_level": "WARNING",
        }
    )
    DBOS.launch()
    _started = True


def shutdown() -> None:
    if _started:
        DBOS.destroy()


def run(n: int) -> tuple[float, float | None, float]:
    """(start_workflow -> result returned ms, start_workflow -> first step body ms or
    None, in-process body ms) of one workflow of ``n`` steps."""
    began = time.perf_counter()
    handle = DBOS.start_workflow(steps_workflow, n)
    result = handle.get_result()
    total = (time.perf_counter() - began) * 1000
    first = (result["firstStepAt"] - began) * 1000 if result["firstStepAt"] is not None else None
    return total, first, result["bodyMs"]


def version() -> str:
    from importlib.metadata import version as dist_version

    return dist_version("dbos")
