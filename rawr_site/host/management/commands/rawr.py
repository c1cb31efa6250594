"""``manage.py rawr``: the operator's command.

Subcommands: ``manifest [--check]``, ``schema [--check]``, ``apikey create|list|revoke``,
``demo``, ``seed`` (realistic runs in bulk, for the scale drill), and for the durable
runtime ``doctor`` (a real run through broker and worker, with timings), ``runs`` (recent
runs) and ``sweep`` (one sweeper pass).
Exit codes: 0 ok, 1 failure (stale file, unknown key, failed doctor run), 2 bad usage,
3 doctor timeout (no worker, or too slow).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rawr_site.manifest import BASE_DIR, MANIFEST_PATH, render_manifest

SCHEMA_PATH = BASE_DIR / "openapi" / "rawr.yaml"


class Command(BaseCommand):
    help = "RAWR HQ operations: manifest, schema, API keys, demo data, runtime checks."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, parser_class=type(parser))

        manifest = sub.add_parser("manifest", help="Write (or --check) the capability manifest.")
        manifest.add_argument("--check", action="store_true", help="Fail if the file is stale.")
        manifest.add_argument("--emit", action="store_true", help=argparse.SUPPRESS)

        schema = sub.add_parser("schema", help="Write (or --check) openapi/rawr.yaml.")
        schema.add_argument("--check", action="store_true", help="Fail if the file is stale.")

        apikey = sub.add_parser("apikey", help="Create, list or revoke API keys.")
        keys = apikey.add_subparsers(dest="action", required=True, parser_class=type(parser))
        create = keys.add_parser("create", help="Create a key; prints the secret once.")
        create.add_argument("--name", required=True)
        create.add_argument("--first-party", action="store_true", help="Service token for /rpc.")
        create.add_argument("--scope", action="append", default=[], metavar="CAPABILITY")
        create.add_argument("--json", action="store_true", help="One JSON line.")
        listing = keys.add_parser("list", help="List keys (prefixes only).")
        listing.add_argument("--json", action="store_true")
        revoke = keys.add_parser("revoke", help="Revoke a key by prefix.")
        revoke.add_argument("prefix")

        workflow = sub.add_parser(
            "workflow",
            help="Coordination workflows: create, validate, run, status, trace, approve.",
        )
        from coordination.cli import add_arguments as add_workflow_arguments

        add_workflow_arguments(workflow)

        seed = sub.add_parser(
            "seed", help="Fill the database with realistic runs for the scale drill (idempotent)."
        )
        from coordination.seed import add_arguments as add_seed_arguments

        add_seed_arguments(seed)

        demo = sub.add_parser("demo", help="Create demo documents (idempotent).")
        demo.add_argument("--staff-user", action="store_true", help="Also create demo/demo.")

        doctor = sub.add_parser(
            "doctor",
            help="Run rawr.doctor through the broker and a worker; print latency figures.",
        )
        doctor.add_argument("--steps", type=int, default=5, help="Steps in the run (default 5).")
        doctor.add_argument(
            "--step-sleep",
            type=float,
            default=0.0,
            metavar="SECONDS",
            help="Work per step, subtracted from the per-step overhead (default 0).",
        )
        doctor.add_argument(
            "--timeout",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Give up after this long (default 30 + steps x step-sleep).",
        )
        doctor.add_argument("--json", action="store_true", help="One JSON object on stdout.")

        runs = sub.add_parser("runs", help="List recent durable runs.")
        runs.add_argument(
            "--status",
            action="extend",
            nargs="+",
            default=[],
            metavar="STATUS",
            help="Only these statuses (repeatable).",
        )
        runs.add_argument("--function", metavar="FUNCTION_ID", help="Only this function.")
        runs.add_argument("--limit", type=int, default=20, help="At most N runs (default 20).")
        runs.add_argument("--json", action="store_true", help="A JSON array on stdout.")

        sweep = sub.add_parser(
            "sweep", help="Re-enqueue due runs with no message in flight (one sweeper pass)."
        )
        sweep.add_argument(
            "--grace",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Re-send runs enqueued longer ago than this (default RAWR_SWEEP_GRACE_SECONDS).",
        )
        sweep.add_argument("--json", action="store_true", help="One JSON object on stdout.")

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, f"_cmd_{options['subcommand']}")
        handler(options)

    # -- manifest --------------------------------------------------------------------
    def _cmd_manifest(self, options: dict[str, Any]) -> None:
        if options["emit"]:
            from rawr_site.manifest import ManifestError, build_manifest

            try:
                self.stdout.write(render_manifest(build_manifest()), ending="")
            except ManifestError as exc:
                self.stderr.write(str(exc))
                sys.exit(1)
            return
        # A child process scans capabilities/ with every app on disk installed, so a new
        # capability is importable before the manifest lists it.
        env = {**os.environ, "RAWR_MANIFEST_SCAN": "1"}
        result = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
            [
                sys.executable,
                str(BASE_DIR / "manage.py"),
                "rawr",
                "manifest",
                "--emit",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise CommandError(
                f"capabilities do not form a valid manifest:\n{result.stderr.strip()}"
            )
        fresh = result.stdout
        self._write_or_check(MANIFEST_PATH, fresh, options["check"], "manifest", "rawr manifest")

    # -- schema ----------------------------------------------------------------------
    def _cmd_schema(self, options: dict[str, Any]) -> None:
        from rawr_site.schema_export import render_schema_yaml

        self._write_or_check(
            SCHEMA_PATH, render_schema_yaml(), options["check"], "schema", "rawr schema"
        )

    def _write_or_check(self, path: Path, fresh: str, check: bool, what: str, cmd: str) -> None:
        current = path.read_text() if path.exists() else ""
        rel = path.relative_to(BASE_DIR) if path.is_relative_to(BASE_DIR) else path
        if check:
            if current == fresh:
                self.stdout.write(f"{rel} is up to date.")
                return
            diff = difflib.unified_diff(
                current.splitlines(),
                fresh.splitlines(),
                f"{rel} (committed)",
                f"{rel} (generated)",
                lineterm="",
            )
            self.stderr.write("\n".join(list(diff)[:200]))
            raise CommandError(f"{rel} is stale: run `python manage.py {cmd}` and commit it.")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fresh)
        self.stdout.write(f"wrote {rel}")

    # -- api keys --------------------------------------------------------------------
    def _cmd_apikey(self, options: dict[str, Any]) -> None:
        from rawr_site.host.models import ApiKey
        from rawr_site.host.services import apikey_create, apikey_revoke

        action = options["action"]
        if action == "create":
            known = set(_capability_ids())
            unknown = [scope for scope in options["scope"] if scope not in known]
            if unknown:
                raise CommandError(
                    f"unknown capability scope(s): {', '.join(unknown)}", returncode=2
                )
            issued = apikey_create(
                name=options["name"], first_party=options["first_party"], scopes=options["scope"]
            )
            key = issued.api_key
            if options["json"]:
                self.stdout.write(
                    json.dumps({"name": key.name, "prefix": key.prefix, "key": issued.secret})
                )
            else:
                self.stdout.write(f"Created API key {key.name!r} (prefix {key.prefix}).")
                self.stdout.write("Copy the key now; it is not stored and cannot be shown again:")
                self.stdout.write(issued.secret)
        elif action == "list":
            rows = [
                {
                    "name": k.name,
                    "prefix": k.prefix,
                    "firstParty": k.first_party,
                    "scopes": k.scopes,
                    "revoked": k.revoked_at is not None,
                    "lastUsedAt": k.last_used_at.isoformat() if k.last_used_at else None,
                }
                for k in ApiKey.objects.order_by("created_at")
            ]
            if options["json"]:
                self.stdout.write(json.dumps(rows))
            else:
                for row in rows:
                    state = "revoked" if row["revoked"] else "active"
                    self.stdout.write(
                        f"{row['prefix']}  {state:8} {row['name']}  scopes={row['scopes']}"
                    )
        elif action == "revoke":
            key = ApiKey.objects.filter(prefix=options["prefix"]).first()
            if key is None:
                raise CommandError(f"no API key with prefix {options['prefix']!r}")
            apikey_revoke(api_key=key)
            self.stdout.write(f"revoked {key.prefix} ({key.name})")

    # -- coordination workflows ----------------------------------------------------
    def _cmd_workflow(self, options: dict[str, Any]) -> None:
        from coordination.cli import run_command

        code = run_command(options, self.stdout, self.stderr)
        if code:
            sys.exit(code)

    # -- scale drill -----------------------------------------------------------------
    def _cmd_seed(self, options: dict[str, Any]) -> None:
        from coordination.seed import run_command

        code = run_command(options, self.stdout, self.stderr)
        if code:
            sys.exit(code)

    # -- demo data -------------------------------------------------------------------
    def _cmd_demo(self, options: dict[str, Any]) -> None:
        from rawr_site.host.demo import demo_data_create

        for line in demo_data_create(staff_user=options["staff_user"]):
            self.stdout.write(line)

    # -- durable runtime -------------------------------------------------------------
    def _cmd_doctor(self, options: dict[str, Any]) -> None:
        from rawr_site.contract.errors import RawrError
        from rawr_site.host.doctor import default_timeout, doctor_check

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
                self.stderr.write(
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
            self.stdout.write(json.dumps(result.as_json()))
        else:
            self._print_doctor(result)
        if not result.ok:
            raise CommandError(result.reason, returncode=3 if result.status == "timeout" else 1)

    def _print_doctor(self, result: Any) -> None:
        from rawr_site.host.doctor import environment

        env = environment()
        head = "OK" if result.ok else "FAILED"
        run = f"run {result.run_id} {result.status}" if result.run_id else result.status
        self.stdout.write(f"rawr doctor: {head}, {run}")
        self.stdout.write(f"  database           {env['database']}")
        self.stdout.write(f"  broker             {env['broker']}")
        if result.broker_connect_ms is not None:
            self.stdout.write(
                f"  broker warm-up     {_fmt_ms(result.broker_connect_ms)}"
                "  (imports + connect, once per process, before the clock starts)"
            )
        t = result.timings
        if t is None or t.trigger_to_start_ms is None:
            return  # never started: the reason (on stderr) says why
        self.stdout.write(f"  worker             {t.worker}")
        self.stdout.write(f"  trigger -> start   {_fmt_ms(t.trigger_to_start_ms)}")
        if t.steps:
            self.stdout.write(
                f"  per-step overhead  {_fmt_ms(t.per_step_overhead_ms)}"
                f"  ({t.steps} steps x {t.step_sleep:g}s work in {_fmt_ms(t.execution_ms)};"
                f" in-step median {_fmt_ms(t.step_ms_median)}, max {_fmt_ms(t.step_ms_max)})"
            )
        self.stdout.write(f"  finish             {_fmt_ms(t.finish_ms)}")
        self.stdout.write(f"  total              {_fmt_ms(t.total_ms)}")

    def _cmd_runs(self, options: dict[str, Any]) -> None:
        from workflows.diagnostics import recent_runs, unknown_statuses

        statuses = [part for raw in options["status"] for part in raw.split(",") if part]
        unknown = unknown_statuses(statuses)
        if unknown:
            raise CommandError(f"unknown status(es): {', '.join(unknown)}", returncode=2)
        if options["limit"] < 1:
            raise CommandError("--limit must be at least 1", returncode=2)
        runs = recent_runs(
            statuses=statuses, function_id=options["function"], limit=options["limit"]
        )
        rows = [_run_row(run) for run in runs]
        if options["json"]:
            self.stdout.write(json.dumps(rows))
            return
        if not rows:
            self.stdout.write("no runs")
            return
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
            self.stdout.write(
                "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
            )

    def _cmd_sweep(self, options: dict[str, Any]) -> None:
        from workflows.sweeper import sweep

        sent = sweep(grace_seconds=options["grace"])
        if options["json"]:
            self.stdout.write(json.dumps({"reEnqueued": sent}))
        else:
            self.stdout.write(f"re-enqueued {sent} run(s)")


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


def _capability_ids() -> list[str]:
    from rawr_site.contract import registry

    return [contract.capability for contract in registry.all_contracts()]
