"""``manage.py rawr scheduler`` (run the scheduler on its own) and ``rawr schedules``.

Workers already schedule (``SchedulerStep``); a separate scheduler process is for
deployments whose workers run with ``RAWR_SCHEDULER_INTERVAL=0``. Any number may run.
"""

from __future__ import annotations

import contextlib
from argparse import ArgumentParser
from typing import Any, TextIO

from rawr_site.host.cli_registry import register_subcommand


def _scheduler_arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="Seconds between passes (default RAWR_SCHEDULER_INTERVAL, 1).",
    )
    parser.add_argument(
        "--once", action="store_true", help="Sync the declarations, fire due ticks, exit."
    )


def _scheduler(options: dict[str, Any], stdout: TextIO, stderr: TextIO) -> int:
    from workflows.schedules.scheduler import fire_due, run_forever
    from workflows.schedules.services import schedules_sync_declared

    if options["once"]:
        synced = schedules_sync_declared()
        fired = fire_due()
        stdout.write(
            f"declared: {synced.created} created, {synced.updated} updated, "
            f"{synced.removed} removed; started {sum(f.created for f in fired)} run(s)\n"
        )
        return 0
    stderr.write("scheduler running; Ctrl-C to stop\n")
    with contextlib.suppress(KeyboardInterrupt):
        run_forever(interval=options["interval"])
    return 0


def _list_arguments(parser: ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="One JSON object per line.")


def _list(options: dict[str, Any], stdout: TextIO, stderr: TextIO) -> int:
    import json

    from workflows.schedules.selectors import schedule_list

    for s in schedule_list():
        row = {
            "scheduleId": s.pk,
            "functionId": s.function_id,
            "cron": s.cron,
            "timezone": s.timezone,
            "paused": s.paused,
            "nextFireAt": s.next_fire_at.isoformat() if s.next_fire_at else None,
            "lastFireAt": s.last_fire_at.isoformat() if s.last_fire_at else None,
        }
        if options["json"]:
            stdout.write(json.dumps(row) + "\n")
        else:
            state = "paused" if s.paused else "active"
            stdout.write(
                f"{s.pk:<40} {s.cron} ({s.timezone}) {state} next {row['nextFireAt']} "
                f"last {row['lastFireAt']}\n"
            )
    return 0


register_subcommand(
    "scheduler",
    help="Run the cron scheduler (workers run one too); --once for a single pass.",
    add_arguments=_scheduler_arguments,
    handle=_scheduler,
)
register_subcommand(
    "schedules",
    help="List schedules with their next and last tick.",
    add_arguments=_list_arguments,
    handle=_list,
)
