"""The durable runtime's ``manage.py rawr`` subcommands: ``doctor``, ``runs`` and ``sweep``.

Autodiscovered by the host's ``rawr`` command (``rawr_site.host.cli_registry``): the host
kit never imports the runtime. Exit codes: 0 ok, 1 failed doctor run, 2 bad usage,
3 doctor timeout (no worker, or too slow).
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any, TextIO

from django.core.management.base import CommandError

from rawr_site.host.cli_registry import register_subcommand


# -- doctor --------------------------------------------------------------------------
def _doctor_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=5, help="Steps in the run (default 5).")
    parser.add_argument(
        "--step-sleep",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="Work per step, subtracted from the per-step overhead (default 0).",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="Give up after this long (default 30 + steps x step-sleep).",
    )
    parser.add_argument("--json", action="store_true", help="One JSON object on stdout.")


def _doctor(options: dict[str, Any], stdout: TextIO, stderr: TextIO) -> int:
    from rawr_site.contract.errors import RawrError
    from workflows.doctor import default_timeout, doctor_check

    steps, step_sleep = options["steps"], options["step_sleep"]
    timeout = options["timeout"]
    if timeout is None:
        timeout = default_timeout(steps=steps, step_sleep=step_sleep)
    if timeout <= 0:
        raise CommandError("--timeout must be positive", returncode=2)
    last_report = [0.0]

    def progress(state: Any, elapsed: float) -> None:
        # Quiet for fast runs; one line a second while the wait drags on.
        if elapsed - last_report[0] >= 1.0:
            last_report[0] = elapsed
            stderr.write(
                f"  {elapsed:5.1f}s  {state.status:<9} {state.steps_completed}/{steps} steps"
            )

    try:
        result = doctor_check(
            steps=steps, step_sleep=step_sleep, timeout=timeout, on_progress=progress
        )
    except RawrError as exc:
        issues = (exc.data or {}).get("issues", []) if isinstance(exc.data, dict) else []
        detail = "; ".join(
            f"{'.'.join(map(str, issue.get('path', [])))}: {issue.get('message')}"
            for issue in issues
        )
        raise CommandError(f"bad doctor input: {detail or exc.message}", returncode=2) from exc
    if options["json"]:
        stdout.write(json.dumps(result.as_json()))
    else:
        _print_doctor(result, stdout)
    if not result.ok:
        raise CommandError(result.reason, returncode=3 if result.status == "timeout" else 1)
    return 0


def _print_doctor(result: Any, stdout: TextIO) -> None:
    from workflows.doctor import environment

    env = environment()
    head = "OK" if result.ok else "FAILED"
    run = f"run {result.run_id} {result.status}" if result.run_id else result.status
    stdout.write(f"rawr doctor: {head}, {run}")
    stdout.write(f"  database           {env['database']}")
    stdout.write(f"  broker             {env['broker']}")
    if result.broker_connect_ms is not None:
        stdout.write(
            f"  broker warm-up     {_fmt_ms(result.broker_connect_ms)}"
            "  (imports + connect, once per process, before the clock starts)"
        )
    t = result.timings
    if t is None or t.trigger_to_start_ms is None:
        return  # never started: the reason (on stderr) says why
    stdout.write(f"  worker             {t.worker}")
    stdout.write(f"  trigger -> start   {_fmt_ms(t.trigger_to_start_ms)}")
    if t.steps:
        stdout.write(
            f"  per-step overhead  {_fmt_ms(t.per_step_overhead_ms)}"
            f"  ({t.steps} steps x {t.step_sleep:g}s work in {_fmt_ms(t.execution_ms)};"
            f" in-step median {_fmt_ms(t.step_ms_median)}, max {_fmt_ms(t.step_ms_max)})"
        )
    stdout.write(f"  finish             {_fmt_ms(t.finish_ms)}")
    stdout.write(f"  total              {_fmt_ms(t.total_ms)}")


# -- runs ----------------------------------------------------------------------------
def _runs_arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--status",
        action="extend",
        nargs="+",
        default=[],
        metavar="STATUS",
        help="Only these statuses (repeatable).",
    )
    parser.add_argument("--function", metavar="FUNCTION_ID", help="Only this function.")
    parser.add_argument("--limit", type=int, default=20, help="At most N runs (default 20).")
    parser.add_argument("--json", action="store_true", help="A JSON array on stdout.")


def _runs(options: dict[str, Any], stdout: TextIO, stderr: TextIO) -> int:
    from workflows.diagnostics import recent_runs, unknown_statuses

    statuses = [part for raw in options["status"] for part in raw.split(",") if part]
    unknown = unknown_statuses(statuses)
    if unknown:
        raise CommandError(f"unknown status(es): {', '.join(unknown)}", returncode=2)
    if options["limit"] < 1:
        raise CommandError("--limit must be at least 1", returncode=2)
    runs = recent_runs(statuses=statuses, function_id=options["function"], limit=options["limit"])
    rows = [_run_row(run) for run in runs]
    if options["json"]:
        stdout.write(json.dumps(rows))
        return 0
    if not rows:
        stdout.write("no runs")
        return 0
    header = ("ID", "FUNCTION", "STATUS", "STEPS", "TRIES", "CREATED (UTC)", "TOOK", "ERROR")
    table = [
        (
            row["id"],
            row["functionId"],
            row["status"],
            str(row["stepsCompleted"]),
            str(row["attempt"]),
            row["createdAt"][:19].replace("T", " "),
            _fmt_ms(row["durationMs"]) if row["durationMs"] is not None else "-",
            (row["error"] or {}).get("code", ""),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *table]) for i in range(len(header))]
    for line in [header, *table]:
        stdout.write(
            "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        )
    return 0


def _run_row(run: Any) -> dict[str, Any]:
    end = run.finished_at
    duration = (end - run.created_at).total_seconds() * 1000 if end else None
    error = run.error or None
    return {
        "id": run.pk,
        "functionId": run.function_id,
        "capability": run.capability,
        "status": run.status,
        "stepsCompleted": run.steps_completed,
        "attempt": run.attempt,
        "principal": run.principal,
        "correlationId": run.correlation_id,
        "createdAt": run.created_at.isoformat(),
        "startedAt": run.started_at.isoformat() if run.started_at else None,
        "finishedAt": end.isoformat() if end else None,
        "durationMs": round(duration, 1) if duration is not None else None,
        "error": {"code": error.get("code"), "message": error.get("message")} if error else None,
    }


def _fmt_ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f} ms" if value < 10_000 else f"{value / 1000:.1f} s"


# -- sweep ---------------------------------------------------------------------------
def _sweep_arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--grace",
        type=float,
        default=None,
        metavar="SECONDS",
        help="Re-send runs enqueued longer ago than this (default RAWR_SWEEP_GRACE_SECONDS).",
    )
    parser.add_argument("--json", action="store_true", help="One JSON object on stdout.")


def _sweep(options: dict[str, Any], stdout: TextIO, stderr: TextIO) -> int:
    from workflows.sweeper import sweep

    sent = sweep(grace_seconds=options["grace"])
    if options["json"]:
        stdout.write(json.dumps({"reEnqueued": sent}))
    else:
        stdout.write(f"re-enqueued {sent} run(s)")
    return 0


register_subcommand(
    "doctor",
    help="Run rawr.doctor through the broker and a worker; print latency figures.",
    add_arguments=_doctor_arguments,
    handle=_doctor,
)
register_subcommand(
    "runs", help="List recent durable runs.", add_arguments=_runs_arguments, handle=_runs
)
register_subcommand(
    "sweep",
    help="Re-enqueue due runs with no message in flight (one sweeper pass).",
    add_arguments=_sweep_arguments,
    handle=_sweep,
)
