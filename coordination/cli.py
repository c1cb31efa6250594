"""``manage.py rawr workflow ...``: the original's ``workflow coord`` commands.

Every subcommand goes through the coordination contract's in-process client, so the CLI
validates and fails exactly like ``/rpc`` and ``/api/orpc``. Exit codes: 0 ok, 1 failure
(an error from the contract, a failed or timed-out run), 2 bad usage.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, TextIO

from rawr_site.contract import BoundaryContext, Principal, RawrError

OK, FAILURE, USAGE = 0, 1, 2
_DECIDED = {"approve": "approved", "reject": "rejected"}
CLI_PRINCIPAL = Principal(kind="system", id="cli", name="cli", first_party=True)


class UsageError(Exception):
    """Bad command-line usage (exit code 2)."""


def add_arguments(parser: Any) -> None:
    sub = parser.add_subparsers(dest="action", required=True, parser_class=type(parser))
    create = sub.add_parser("create", help="Validate and save a workflow document (JSON file).")
    create.add_argument("file")
    validate = sub.add_parser("validate", help="Validate a stored workflow.")
    validate.add_argument("workflow_id")
    run = sub.add_parser("run", help="Start a run of a workflow's current version.")
    run.add_argument("workflow_id")
    run.add_argument("--input", default=None, help="Run input as JSON.")
    run.add_argument("--run-id", default=None, help="Caller-chosen run id (idempotent).")
    run.add_argument("--wait", action="store_true", help="Wait until the run finishes.")
    run.add_argument("--timeout", type=float, default=300.0, help="Seconds to --wait.")
    status = sub.add_parser("status", help="Show a run's status.")
    status.add_argument("run_id")
    trace = sub.add_parser("trace", help="Show a run's timeline.")
    trace.add_argument("run_id")
    approve = sub.add_parser("approve", help="Approve (or --reject) a waiting human-wait desk.")
    approve.add_argument("run_id")
    approve.add_argument("desk_id")
    approve.add_argument("--reject", action="store_true", help="Reject instead of approving.")
    approve.add_argument("--payload", default=None, help="Approval payload as JSON.")
    for p in (create, validate, run, status, trace, approve):
        p.add_argument("--json", action="store_true", help="Machine-readable JSON output.")


def run_command(options: dict[str, Any], out: TextIO, err: TextIO) -> int:
    from coordination.client import coordination

    ctx = BoundaryContext.internal(principal=CLI_PRINCIPAL)
    action = options["action"]
    try:
        if action == "create":
            result = coordination.saveWorkflow(
                {"workflow": _read_json_file(options["file"])}, ctx=ctx
            )
            return _emit(
                options,
                out,
                result,
                lambda r: f"saved {r.workflow['workflowId']} version {r.workflow['version']}",
            )
        if action == "validate":
            result = coordination.validateWorkflow({"workflowId": options["workflow_id"]}, ctx=ctx)
            code = OK if result.validation.ok else FAILURE
            _emit(options, out, result, _validation_text)
            return code
        if action == "run":
            payload = {
                "workflowId": options["workflow_id"],
                "input": _parse_json(options["input"], "--input"),
            }
            if options["run_id"]:
                payload["runId"] = options["run_id"]
            result = coordination.queueRun(payload, ctx=ctx)
            run = result.run
            if options["wait"]:
                run = _wait(coordination, ctx, run.run_id, options["timeout"], err)
            _emit(options, out, run if options["wait"] else result, _run_text)
            if options["wait"]:
                return OK if run.status == "completed" else FAILURE
            return OK
        if action == "status":
            result = coordination.getRunStatus({"runId": options["run_id"]}, ctx=ctx)
            _emit(options, out, result.run, _run_text)
            return FAILURE if result.run.status == "failed" else OK
        if action == "trace":
            result = coordination.getRunTimeline({"runId": options["run_id"]}, ctx=ctx)
            return _emit(options, out, result, _timeline_text)
        if action == "approve":
            result = coordination.approveDesk(
                {
                    "runId": options["run_id"],
                    "deskId": options["desk_id"],
                    "decision": "reject" if options["reject"] else "approve",
                    "payload": _parse_json(options["payload"], "--payload"),
                },
                ctx=ctx,
            )
            return _emit(
                options,
                out,
                result,
                lambda r: (
                    f"{_DECIDED.get(r.decision, r.decision)} desk {r.desk_id} "
                    f"of run {r.run_id} (event {r.event_id})"
                ),
            )
    except UsageError as exc:
        err.write(f"error: {exc}\n")
        return USAGE
    except RawrError as exc:
        if options.get("json"):
            out.write(json.dumps(exc.body(defined=True)) + "\n")
        err.write(f"{exc.code}: {exc.message}\n")
        if exc.code == "BAD_REQUEST" and exc.data:
            for issue in exc.data.get("issues", []):
                err.write(f"  {'.'.join(map(str, issue.get('path', [])))}: {issue['message']}\n")
        if exc.code == "WORKFLOW_VALIDATION_FAILED" and exc.data:
            for error in exc.data.get("errors", []):
                err.write(f"  {error['code']}: {error['message']}\n")
        return FAILURE
    raise UsageError(f"unknown action {action!r}")


def _wait(coordination, ctx, run_id: str, timeout: float, err: TextIO):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        run = coordination.getRunStatus({"runId": run_id}, ctx=ctx).run
        state = (run.status, run.waiting_for.desk_id if run.waiting_for else None)
        if state != last:
            waiting = f" ({_waiting_text(run.waiting_for)})" if run.waiting_for else ""
            err.write(f"run {run_id}: {run.status}{waiting}\n")
            last = state
        if run.status in ("completed", "failed"):
            return run
        if time.monotonic() > deadline:
            if run.waiting_for is not None:
                err.write(
                    f"run {run_id} still {run.status} after {timeout:g}s: "
                    f"{_waiting_text(run.waiting_for)} "
                    f"(`rawr workflow approve {run_id} {run.waiting_for.desk_id}`)\n"
                )
            else:
                err.write(
                    f"run {run_id} still {run.status} after {timeout:g}s "
                    "(is a worker running? `celery -A rawr_site worker`)\n"
                )
            return run
        time.sleep(0.5)


def _read_json_file(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError as exc:
        raise UsageError(f"no such file: {path}") from exc
    except ValueError as exc:
        raise UsageError(f"{path} is not valid JSON: {exc}") from exc


def _parse_json(raw: str | None, flag: str) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"{flag} is not valid JSON: {exc}") from exc


def _emit(options: dict[str, Any], out: TextIO, result: Any, text) -> int:
    if options.get("json"):
        out.write(
            json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True)) + "\n"
        )
    else:
        out.write(text(result) + "\n")
    return OK


def _validation_text(result) -> str:
    if result.validation.ok:
        return f"{result.workflow_id}: valid"
    lines = [f"{result.workflow_id}: {len(result.validation.errors)} error(s)"]
    for error in result.validation.errors:
        where = error.desk_id or error.handoff_id or ""
        lines.append(f"  {error.code}{f' ({where})' if where else ''}: {error.message}")
    return "\n".join(lines)


def _run_text(run) -> str:
    if hasattr(run, "run") and hasattr(run, "event_ids"):
        run = run.run
    line = f"run {run.run_id}: {run.status} (workflow {run.workflow_id} v{run.workflow_version})"
    if run.waiting_for is not None:
        line += f"\n  {_waiting_text(run.waiting_for)}"
    if run.error:
        line += f"\n  error: {run.error}"
    if run.output is not None:
        line += f"\n  output: {json.dumps(run.output)}"
    return line


def _waiting_text(waiting) -> str:
    text = f"waiting for approval at desk {waiting.desk_id} since {waiting.since}"
    if waiting.timeout_at:
        text += f" (times out at {waiting.timeout_at})"
    return text


def _timeline_text(result) -> str:
    lines = [f"run {result.run_id}"]
    for event in result.timeline:
        desk = f" {event.desk_id}" if event.desk_id else ""
        detail = f" - {event.detail}" if event.detail else ""
        lines.append(f"  {event.ts} {event.type}{desk} [{event.status}]{detail}")
    return "\n".join(lines)
