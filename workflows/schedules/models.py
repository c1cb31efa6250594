"""One row per schedule: declared in code (``declared.<function id>``) or created at run
time through ``/api/schedules/`` or the console.

The scheduler locks due rows (``next_fire_at <= now``, not paused) with ``SKIP LOCKED``
and advances ``next_fire_at`` in the transaction that starts the tick's run, so any number
of schedulers share the work; the run's idempotency key ``schedule:<id>:<tick>`` is what
makes a tick start at most one run even if two of them ever fired it.
"""

from __future__ import annotations

from django.db import models


class ScheduleSource(models.TextChoices):
    DECLARED = "declared", "Declared in code"
    API = "api", "Created through the API"


class MissedPolicyChoice(models.TextChoices):
    SKIP = "skip", "Skip missed ticks"
    CATCH_UP = "catch_up", "Catch up (newest N)"


class Schedule(models.Model):
    id = models.CharField(primary_key=True, max_length=128)
    function_id = models.CharField(max_length=200, db_index=True)
    #: The function's capability when the schedule was stored: what an API key may see.
    capability = models.CharField(max_length=100, blank=True, default="", db_index=True)
    cron = models.CharField(max_length=200)
    timezone = models.CharField(max_length=64, default="UTC")
    input = models.JSONField(null=True, blank=True)
    missed_policy = models.CharField(
        max_length=16, choices=MissedPolicyChoice.choices, default=MissedPolicyChoice.SKIP
    )
    #: With ``catch_up``: how many of the newest missed ticks still start.
    catch_up_limit = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=16, choices=ScheduleSource.choices)
    paused = models.BooleanField(default=False)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_by = models.CharField(max_length=200, blank=True, default="")
    #: The next tick (UTC). While paused it is left as it was; resume recomputes it.
    next_fire_at = models.DateTimeField(null=True, blank=True)
    last_fire_at = models.DateTimeField(null=True, blank=True)
    last_run_id = models.CharField(max_length=128, blank=True, default="")
    #: Ticks dropped by the missed policy (at least this many: counting stops at a cap).
    ticks_skipped = models.BigIntegerField(default=0)
    #: Why the last tick could not start a run (the function is gone, its input no longer
    #: validates ...); cleared by the next tick that starts one.
    last_error = models.JSONField(null=True, blank=True)
    created_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The scheduler's one query: due, unpaused rows, soonest first.
            models.Index(
                fields=["next_fire_at"],
                condition=models.Q(paused=False),
                name="schedules_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.cron} {self.timezone})"

    @property
    def runs_correlation_id(self) -> str:
        """Every run a schedule starts carries this correlation id (the run list's link)."""
        return f"schedule:{self.id}"
