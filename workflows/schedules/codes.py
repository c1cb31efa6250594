"""Error codes of the schedules API: one catalog, declared on every operation that raises.

A bad declaration or request is refused before anything is stored: ``400`` with a code a
client can act on, never a 500 and never a schedule that can not fire.
"""

from __future__ import annotations

from rawr_site.contract import ErrorSpec

INVALID_CRON = ErrorSpec("INVALID_CRON", 400, "Invalid cron expression")
INVALID_TIMEZONE = ErrorSpec("INVALID_TIMEZONE", 400, "Unknown time zone")
INVALID_MISSED_POLICY = ErrorSpec("INVALID_MISSED_POLICY", 400, "Invalid missed-tick policy")
#: The body names a function that is not registered (a 400: the request is wrong, not a path).
FUNCTION_NOT_FOUND = ErrorSpec("FUNCTION_NOT_FOUND", 400, "No such durable function")
INVALID_SCHEDULE_ID = ErrorSpec("INVALID_SCHEDULE_ID", 400, "Invalid schedule id")
SCHEDULE_NOT_FOUND = ErrorSpec("SCHEDULE_NOT_FOUND", 404, "Schedule not found")
#: A schedule declared on a durable function comes back at the next start: pause it instead.
SCHEDULE_DECLARED = ErrorSpec(
    "SCHEDULE_DECLARED", 409, "A declared schedule is removed from the code, not deleted"
)

API = (
    INVALID_CRON,
    INVALID_TIMEZONE,
    INVALID_MISSED_POLICY,
    FUNCTION_NOT_FOUND,
    INVALID_SCHEDULE_ID,
    SCHEDULE_NOT_FOUND,
    SCHEDULE_DECLARED,
)
