"""Durable state: runs, their checkpointed steps, their timelines, and stored events.

The ``Run`` row is the source of truth (Celery's result backend is for Celery-level
monitoring only). Status never changes without a ``TimelineEvent`` written in the same
transaction; all such writes go through ``workflows._state``.
"""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

from workflows.ids import SAFE_ID_PATTERN
from workflows.limits import SafeJSONDecoder

safe_id_validator = RegexValidator(SAFE_ID_PATTERN, "Use letters, digits, '.', '_' or '-'.")


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SLEEPING = "sleeping"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    #: Refused by the function's rate limit: recorded, never executed.
    SKIPPED = "skipped"


ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.SLEEPING, RunStatus.WAITING)
FINISHED_STATUSES = (RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.SKIPPED)


class Run(models.Model):
    id = models.CharField(primary_key=True, max_length=128, validators=[safe_id_validator])
    function_id = models.CharField(max_length=200)
    capability = models.CharField(max_length=100, blank=True, default="")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    input = models.JSONField(decoder=SafeJSONDecoder, default=dict, blank=True)
    output = models.JSONField(decoder=SafeJSONDecoder, null=True, blank=True)
    #: ``{"code", "message", "traceback"?, "stepId"?}`` when failed.
    error = models.JSONField(decoder=SafeJSONDecoder, null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True, default="")
    #: Whose key it is: an explicit ``Idempotency-Key`` belongs to its caller (and, for
    #: coordination, the workflow); ``""`` for keys the function computes from its input.
    idempotency_scope = models.CharField(max_length=300, blank=True, default="", db_default="")
    #: sha256 of the input an explicit key was first used with (another input: 422).
    input_fingerprint = models.CharField(max_length=64, blank=True, default="", db_default="")
    concurrency_key = models.CharField(max_length=255, blank=True, default="")
    #: The keys the function's throttle / rate limit / debounce count by (from the input).
    throttle_key = models.CharField(max_length=255, blank=True, default="", db_default="")
    rate_limit_key = models.CharField(max_length=255, blank=True, default="", db_default="")
    debounce_key = models.CharField(max_length=255, blank=True, default="", db_default="")
    #: Why a queued run is not running yet ("throttled: key customer-7, 3 ahead").
    waiting_reason = models.CharField(max_length=300, blank=True, default="", db_default="")
    attempt = models.PositiveIntegerField(default=0, help_text="Executions started so far.")
    #: Failures of the function body outside any step (retried like step failures).
    body_failures = models.PositiveIntegerField(default=0)
    principal = models.CharField(max_length=200, blank=True, default="")
    correlation_id = models.CharField(max_length=128, blank=True, default="")
    parent_run = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    parent_step_id = models.CharField(max_length=255, blank=True, default="")
    replay_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays"
    )
    priority = models.SmallIntegerField(default=0)
    queue = models.CharField(max_length=100, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    #: When a sleeping run wakes, a waiting run times out, or a queued retry is due.
    wake_at = models.DateTimeField(null=True, blank=True)
    #: Last time a message for this run went to the broker (the sweeper's clock).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=200, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.CharField(max_length=200, blank=True, default="")
    #: Next timeline sequence number (strictly increasing per run).
    next_seq = models.PositiveIntegerField(default=1)
    #: Executions that lost their lease (the worker died) since the run last recorded a
    #: step outcome. Steps begin without a write, so this is how a step that keeps killing
    #: its worker is found: the next execution stops at it (``STEP_CRASHED``).
    interruptions = models.PositiveIntegerField(default=0, db_default=0)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["function_id", "idempotency_scope", "idempotency_key"],
                condition=~models.Q(idempotency_key=""),
                name="workflows_run_idempotency_per_scope",
            )
        ]
        indexes = [
            models.Index(fields=["status", "-created_at"], name="wf_run_status_created"),
            models.Index(fields=["function_id", "-created_at"], name="wf_run_function_created"),
            models.Index(fields=["capability", "-created_at"], name="wf_run_capability_created"),
            models.Index(fields=["-created_at"], name="wf_run_created"),
            models.Index(fields=["correlation_id"], name="wf_run_correlation"),
            models.Index(fields=["status", "wake_at"], name="wf_run_status_wake"),
            models.Index(fields=["status", "lease_expires_at"], name="wf_run_status_lease"),
            # Flow control counts within a window, per function and key.
            models.Index(
                fields=["function_id", "throttle_key", "started_at"],
                name="wf_run_throttle",
                condition=models.Q(started_at__isnull=False),
            ),
            models.Index(
                fields=["function_id", "rate_limit_key", "created_at"], name="wf_run_rate_limit"
            ),
            models.Index(
                fields=["function_id", "debounce_key"],
                name="wf_run_debounce",
                condition=models.Q(status="queued", started_at__isnull=True),
            ),
            # The console at millions of runs: search by idempotency key, "has error",
            # and the dashboard's time windows (index-only scans on Postgres).
            models.Index(
                fields=["idempotency_key"],
                name="wf_run_idempotency_key",
                condition=~models.Q(idempotency_key=""),
            ),
            models.Index(
                fields=["-created_at"],
                name="wf_run_errored_created",
                condition=models.Q(error__isnull=False),
            ),
            models.Index(
                fields=["created_at"],
                include=["status", "function_id"],
                name="wf_run_created_cover",
            ),
            models.Index(
                fields=["finished_at"],
                include=["function_id", "status", "started_at"],
                name="wf_run_finished_cover",
            ),
        ]
        permissions = [
            ("cancel_run", "Can cancel runs"),
            ("retry_run", "Can retry failed runs"),
            ("replay_run", "Can replay runs"),
        ]

    def __str__(self) -> str:
        return f"{self.function_id} {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES


class StepStatus(models.TextChoices):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SLEEPING = "sleeping"
    WAITING = "waiting"


class StepKind(models.TextChoices):
    RUN = "run"
    SLEEP = "sleep"
    WAIT = "wait_for_event"
    INVOKE = "invoke"
    SEND = "send_event"
    APPROVAL = "approval"


class Step(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="steps")
    step_id = models.CharField(max_length=255)
    #: Order of first execution; a replay that reaches a different id here is non-deterministic.
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=StepKind.choices, default=StepKind.RUN)
    status = models.CharField(max_length=16, choices=StepStatus.choices)
    output = models.JSONField(decoder=SafeJSONDecoder, null=True, blank=True)
    error = models.JSONField(decoder=SafeJSONDecoder, null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    #: Executions that began this step as far as is known (``attempts`` plus the
    #: interruptions that happened at it); a step is only written when it ends, or when it
    #: outlives ``RAWR_STEP_RECORD_AFTER_SECONDS`` (then the console shows it running).
    starts = models.PositiveIntegerField(default=0)
    #: For waits: event name + match; for sleeps/timeouts: when it ends; for invoke: child id.
    wait_event = models.CharField(max_length=200, blank=True, default="")
    wait_match = models.JSONField(decoder=SafeJSONDecoder, null=True, blank=True)
    wake_at = models.DateTimeField(null=True, blank=True)
    child_run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [
            models.UniqueConstraint(fields=["run", "step_id"], name="workflows_step_unique_id"),
        ]
        indexes = [models.Index(fields=["status", "wait_event"], name="wf_step_waiting")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.step_id} ({self.status})"


class TimelineEvent(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="timeline")
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=64)
    step_id = models.CharField(max_length=255, blank=True, default="")
    payload = models.JSONField(decoder=SafeJSONDecoder, default=dict, blank=True)
    correlation_id = models.CharField(max_length=128, blank=True, default="")
    #: Not ``auto_now_add``: a ``step.started`` row is written when the step ends but
    #: carries the time it began.
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["run", "seq"], name="workflows_timeline_unique_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.seq} {self.type}"


class Event(models.Model):
    """An event sent with ``send_event``: who sent it, when, and which runs it resumed."""

    id = models.CharField(primary_key=True, max_length=64)
    name = models.CharField(max_length=200, db_index=True)
    data = models.JSONField(decoder=SafeJSONDecoder, default=dict, blank=True)
    sent_by = models.CharField(max_length=200, blank=True, default="")
    correlation_id = models.CharField(max_length=128, blank=True, default="")
    capability = models.CharField(max_length=100, blank=True, default="")
    resumed_run_ids = models.JSONField(decoder=SafeJSONDecoder, default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Approval(models.Model):
    """A person's decision a run waits for (``step.wait_for_approval``).

    Written in the same transaction as the wait step parks the run; decided once
    (``workflows.services.approval_decide``), which settles the step and wakes the run.
    ``workflow_id`` / ``desk_id`` are optional labels the caller passes (coordination's
    human-wait desks set them); the runtime attaches no meaning to them.
    """

    id = models.CharField(primary_key=True, max_length=64, validators=[safe_id_validator])
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="approvals")
    step_id = models.CharField(max_length=255)
    title = models.CharField(max_length=500)
    context = models.JSONField(decoder=SafeJSONDecoder, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    #: ``"approve"`` / ``"reject"`` once decided.
    decision = models.CharField(max_length=16, blank=True, default="")
    payload = models.JSONField(decoder=SafeJSONDecoder, null=True, blank=True)
    decided_by = models.CharField(max_length=200, blank=True, default="")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    timeout_at = models.DateTimeField(null=True, blank=True)
    workflow_id = models.CharField(max_length=128, blank=True, default="")
    desk_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        ordering = ["created_at"]
        indexes = [
            # The inbox and GET /api/approvals/: pending ones by due time.
            models.Index(
                fields=["status", "timeout_at", "created_at"], name="wf_approval_status_due"
            ),
            # A run's approvals (a retried wait step may have several over time).
            models.Index(fields=["run", "step_id"], name="wf_approval_run_step"),
        ]
        permissions = [("decide_approval", "Can approve or reject waiting approvals")]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"
