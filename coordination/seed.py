"""``manage.py rawr seed``: realistic runs in bulk, for the scale drill (issue 7 item 9).

The console has to stay fast at a million runs, and that can only be measured against a
database that looks like production: mostly completed runs, some failed with tracebacks,
stuck leases, sleeping and waiting runs, pending approvals, coordination runs with desk
steps and ``desk.*`` events, parent/child and replay links, and a few runs whose timeline
has 10,000 rows. This module writes such a database.

It lives in ``coordination`` (the console's app) because it needs coordination's own
workflows as well as the runtime's tables; ``workflows`` must not know coordination.

The rows are exactly what the runtime would have written (shapes copied from
``workflows._engine`` and ``coordination.workflows``: the same step kinds, timeline types
and payloads, ``seq`` strictly increasing per run, ``next_seq`` = last seq + 1, positions in
order of first execution), but they go straight into the tables: ``COPY`` on Postgres,
batched ``INSERT`` on SQLite. Going through ``workflows.services`` would take hours for a
million runs and could not back-date anything; these rows are fixtures for measuring
pages, not operations, so no status change here needs its own transaction.

Idempotent: seeded runs are ``seed-<8 digits>`` (index 0..N-1) and ``seed-big-<4 digits>``
(the big-timeline runs). A re-run creates only the missing ones, each from its own random
stream ``(seed, index)``, so ``--runs 1000`` twice gives 1000 runs, and ``--runs 2000``
later adds the next 1000. Each batch commits on its own: an interrupted seed keeps what it
wrote, and the next run tops it up.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TextIO

from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from workflows.models import Approval, Run, Step, TimelineEvent

SEED_PREFIX = "seed-"
BIG_PREFIX = "seed-big-"
ID_DIGITS = 8
#: Runs per transaction (and per ``COPY``): big enough to amortise, small enough to keep.
BATCH_RUNS = 5_000
BIG_TIMELINE_ROWS = 10_000
DAYS = 30
EXECUTOR = "coordination.run"


def seed_id(index: int) -> str:
    return f"{SEED_PREFIX}{index:0{ID_DIGITS}d}"


def big_id(index: int) -> str:
    return f"{BIG_PREFIX}{index:04d}"


# -- the report -----------------------------------------------------------------------------
@dataclass
class Counts:
    created: int = 0
    existing: int = 0

    @property
    def total(self) -> int:
        return self.created + self.existing

    def as_json(self) -> dict[str, int]:
        return {"created": self.created, "existing": self.existing, "total": self.total}


@dataclass
class SeedReport:
    runs: Counts = field(default_factory=Counts)
    big_timeline_runs: Counts = field(default_factory=Counts)
    steps: Counts = field(default_factory=Counts)
    timeline: Counts = field(default_factory=Counts)
    approvals: Counts = field(default_factory=Counts)
    seconds: float = 0.0
    database: str = ""

    @property
    def rows_created(self) -> int:
        return (
            self.runs.created
            + self.big_timeline_runs.created
            + self.steps.created
            + self.timeline.created
            + self.approvals.created
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "runs": self.runs.as_json(),
            "bigTimelineRuns": self.big_timeline_runs.as_json(),
            "steps": self.steps.as_json(),
            "timelineRows": self.timeline.as_json(),
            "approvals": self.approvals.as_json(),
            "rowsCreated": self.rows_created,
            "seconds": round(self.seconds, 2),
            "rowsPerSecond": round(self.rows_created / self.seconds) if self.seconds else 0,
            "database": self.database,
        }


# -- the entry point ------------------------------------------------------------------------
def seed_runs(
    *,
    runs: int,
    big_timelines: int = 2,
    seed: int = 0,
    now: datetime | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> SeedReport:
    """Make sure ``runs`` seeded runs and ``big_timelines`` big-timeline runs exist.

    Creates only what is missing (see the module docstring); returns what it created and
    what was already there (rows of seeded runs only). The example coordination workflows
    are saved first if missing, through coordination's own client, like ``rawr demo``.
    """
    if runs < 0 or big_timelines < 0:
        raise ValueError("runs and big_timelines must be >= 0")
    began = time.perf_counter()
    now = now or timezone.now()
    report = SeedReport(database=f"{connection.vendor}:{connection.settings_dict['NAME']}")
    workflows = _example_workflows()
    before = _seeded_counts()
    report.runs.existing = before["runs"]
    report.big_timeline_runs.existing = before["big"]
    report.steps.existing = before["steps"]
    report.timeline.existing = before["timeline"]
    report.approvals.existing = before["approvals"]

    writer = _Writer()
    made = 0
    for start in range(0, runs, BATCH_RUNS):
        stop = min(start + BATCH_RUNS, runs)
        present = set(
            Run.objects.filter(
                id__startswith=SEED_PREFIX, id__gte=seed_id(start), id__lte=seed_id(stop - 1)
            ).values_list("id", flat=True)
        )
        missing = [i for i in range(start, stop) if seed_id(i) not in present]
        if missing:
            rows = _Rows()
            wanted = set(missing)
            for index in missing:
                _story_for(index, seed, now, workflows, wanted).emit(rows)
            with transaction.atomic():
                writer.write(rows)
            made += len(missing)
            report.runs.created += len(missing)
            report.steps.created += len(rows.steps)
            report.timeline.created += len(rows.timeline)
            report.approvals.created += len(rows.approvals)
        if on_progress is not None:
            on_progress(stop, runs)

    if big_timelines:
        present = set(Run.objects.filter(id__startswith=BIG_PREFIX).values_list("id", flat=True))
        rows = _Rows()
        for index in range(big_timelines):
            if big_id(index) not in present:
                _big_story(index, seed, now, workflows).emit(rows)
                report.big_timeline_runs.created += 1
        if rows.runs:
            with transaction.atomic():
                writer.write(rows)
            report.steps.created += len(rows.steps)
            report.timeline.created += len(rows.timeline)
            report.approvals.created += len(rows.approvals)

    if made or report.big_timeline_runs.created:
        _analyze()
    report.seconds = time.perf_counter() - began
    return report


def _seeded_counts() -> dict[str, int]:
    seeded_runs = Run.objects.filter(id__startswith=SEED_PREFIX)
    big = Run.objects.filter(id__startswith=BIG_PREFIX).count()
    return {
        "runs": seeded_runs.count() - big,
        "big": big,
        "steps": Step.objects.filter(run__id__startswith=SEED_PREFIX).count(),
        "timeline": TimelineEvent.objects.filter(run__id__startswith=SEED_PREFIX).count(),
        "approvals": Approval.objects.filter(run__id__startswith=SEED_PREFIX).count(),
    }


def _analyze() -> None:
    """Fresh statistics and visibility map, as autovacuum would leave them after a while.

    The estimated-count paginator and the planner read the statistics; index-only scans
    (the dashboard's covering indexes) need the visibility map, which freshly copied rows
    lack until a VACUUM. VACUUM cannot run inside a transaction (tests), ANALYZE can.
    """
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(m._meta.db_table for m in (Run, Step, TimelineEvent, Approval))
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        cursor.execute(f"{command} {tables}")


def _example_workflows() -> list[dict[str, Any]]:
    """The example workflows' current documents (saved first if missing, like ``rawr demo``)."""
    from coordination.client import coordination
    from coordination.examples import example_documents
    from coordination.selectors import workflow_get
    from rawr_site.contract import BoundaryContext

    documents = []
    for example in example_documents():
        document = workflow_get(workflow_id=example["workflowId"])
        if document is None:
            ctx = BoundaryContext.internal()
            document = coordination.saveWorkflow({"workflow": example}, ctx=ctx).workflow
        documents.append(document)
    return documents


# -- writing rows ---------------------------------------------------------------------------
_RUN_COLUMNS = (
    "id",
    "function_id",
    "capability",
    "status",
    "input",
    "output",
    "error",
    "idempotency_key",
    "concurrency_key",
    "attempt",
    "body_failures",
    "principal",
    "correlation_id",
    "parent_run_id",
    "parent_step_id",
    "replay_of_id",
    "priority",
    "queue",
    "created_at",
    "updated_at",
    "started_at",
    "finished_at",
    "wake_at",
    "enqueued_at",
    "lease_owner",
    "lease_expires_at",
    "cancel_requested_at",
    "cancelled_by",
    "next_seq",
)
_STEP_COLUMNS = (
    "run_id",
    "step_id",
    "position",
    "kind",
    "status",
    "output",
    "error",
    "attempts",
    "starts",
    "wait_event",
    "wait_match",
    "wake_at",
    "child_run_id",
    "started_at",
    "finished_at",
)
_TIMELINE_COLUMNS = ("run_id", "seq", "type", "step_id", "payload", "correlation_id", "created_at")
_APPROVAL_COLUMNS = (
    "id",
    "run_id",
    "step_id",
    "title",
    "context",
    "status",
    "decision",
    "payload",
    "decided_by",
    "decided_at",
    "created_at",
    "timeout_at",
    "workflow_id",
    "desk_id",
)


@dataclass
class _Rows:
    runs: list[tuple] = field(default_factory=list)
    steps: list[tuple] = field(default_factory=list)
    timeline: list[tuple] = field(default_factory=list)
    approvals: list[tuple] = field(default_factory=list)


class _Writer:
    """Writes row tuples: ``COPY ... FROM STDIN`` on Postgres, ``executemany`` elsewhere.

    Columns another change adds to a model later (not listed above) get the field's
    default, so the seed keeps working while the models grow.
    """

    def __init__(self) -> None:
        self.tables = [
            self._table(Run, _RUN_COLUMNS, "runs"),
            self._table(Step, _STEP_COLUMNS, "steps"),
            self._table(TimelineEvent, _TIMELINE_COLUMNS, "timeline"),
            self._table(Approval, _APPROVAL_COLUMNS, "approvals"),
        ]

    @staticmethod
    def _table(model: type[Model], columns: tuple[str, ...], attr: str) -> tuple:
        fields = model._meta.concrete_fields
        known = {f.column for f in fields}
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise RuntimeError(f"seed: {model.__name__} has no column(s) {unknown}")
        extra = [
            f
            for f in fields
            if f.column not in columns and not (f.primary_key and f.column == "id")
        ]
        extra_values = tuple(f.get_db_prep_save(f.get_default(), connection) for f in extra)
        names = [*columns, *(f.column for f in extra)]
        return model._meta.db_table, names, extra_values, attr

    def write(self, rows: _Rows) -> None:
        for table, names, extra, attr in self.tables:
            data = getattr(rows, attr)
            if data:
                self._write(table, names, extra, data)

    def _write(self, table: str, names: list[str], extra: tuple, data: list[tuple]) -> None:
        quoted = ", ".join(connection.ops.quote_name(n) for n in names)
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                    write_row = copy.write_row
                    if extra:
                        for row in data:
                            write_row(row + extra)
                    else:
                        for row in data:
                            write_row(row)
                return
            adapt = connection.ops.adapt_datetimefield_value
            prepared = [
                tuple(adapt(v) if isinstance(v, datetime) else v for v in row) + extra
                for row in data
            ]
            marks = ", ".join(["%s"] * len(names))
            sql = f"INSERT INTO {table} ({quoted}) VALUES ({marks})"  # noqa: S608 - model names
            for start in range(0, len(prepared), 2_000):
                cursor.executemany(sql, prepared[start : start + 2_000])


_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class _Raw(str):
    """JSON encoded once and written many times (the workflow document of every run)."""


def _json(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, _Raw) else _encode(value)


# -- a run's story --------------------------------------------------------------------------
class _Story:
    """One run as the runtime would have recorded it, on a clock relative to its creation.

    Times are seconds after ``created_at``; ``emit`` places the story in real time so that
    its last event happened ``idle`` seconds before ``now``.
    """

    def __init__(
        self, run_id: str, function_id: str, capability: str, rng: random.Random, now: datetime
    ) -> None:
        self.run_id, self.function_id, self.capability = run_id, function_id, capability
        self.rng, self.now = rng, now
        self.t = 0.0
        self.status = "queued"
        self.input: Any = {}
        self.output: Any = None
        self.error: dict[str, Any] | None = None
        self.idempotency_key = ""
        self.principal = "system"
        self.correlation_id = ""
        self.parent_run_id: str | None = None
        self.parent_step_id = ""
        self.replay_of_id: str | None = None
        self.queue = ""
        self.attempt = 0
        self.worker = ""
        self.started: float | None = None
        self.finished: float | None = None
        self.wake: float | None = None
        self.lease_owner = ""
        self.lease_expires_at: datetime | None = None
        self.cancel_requested: float | None = None
        self.cancelled_by = ""
        self.idle = 0.0
        self.events: list[tuple[str, str, dict[str, Any], float]] = []
        self.steps: list[dict[str, Any]] = []
        self.approvals: list[dict[str, Any]] = []
        #: (payload, key, offset): payload times, written as ISO once ``emit`` knows the base.
        self.times: list[tuple[dict[str, Any], str, float]] = []

    # time and events
    def wait(self, seconds: float) -> None:
        self.t += max(seconds, 0.0005)

    def ev(self, type_: str, step_id: str = "", payload: dict[str, Any] | None = None) -> None:
        self.events.append((type_, step_id, payload if payload is not None else {}, self.t))

    def queued(self) -> None:
        self.ev("run.queued", payload={"by": self.principal, "functionId": self.function_id})

    def claim(self, previous: str | None = None) -> None:
        self.wait(_lognormal(self.rng, 0.04, 1.0))
        self.attempt += 1
        self.worker = _worker(self.rng)
        payload = {"worker": self.worker, "attempt": self.attempt}
        if self.started is None:
            self.started = self.t
            self.status = "running"
            self.ev("run.started", payload=payload)
        else:
            self.status = "running"
            self.ev("run.resumed", payload={**payload, "from": previous or "queued"})

    def at(self, payload: dict[str, Any], key: str, offset: float) -> dict[str, Any]:
        """``payload[key]`` = the ISO time of ``offset`` (resolved by ``emit``)."""
        self.times.append((payload, key, offset))
        return payload

    def shift_after(self, start: float, shift: float) -> None:
        """Move everything that happened after ``start`` later by ``shift`` seconds."""
        self.events = [(t, s, p, o + shift if o > start else o) for t, s, p, o in self.events]
        for row in self.steps:
            for key in ("started", "finished", "wake"):
                if row[key] is not None and row[key] > start:
                    row[key] += shift
        for a in self.approvals:
            for key in ("created", "decided", "timeout"):
                if a.get(key) is not None and a[key] > start:
                    a[key] += shift
        self.times = [(p, k, o + shift if o > start else o) for p, k, o in self.times]
        for name in ("started", "finished", "wake", "cancel_requested"):
            value = getattr(self, name)
            if value is not None and value > start:
                setattr(self, name, value + shift)

    def step(self, step_id: str, kind: str = "run", **fields: Any) -> dict[str, Any]:
        row = {
            "step_id": step_id,
            "position": len(self.steps),
            "kind": kind,
            "status": "completed",
            "output": None,
            "error": None,
            "attempts": 0,
            "starts": 0,
            "wait_event": "",
            "wait_match": None,
            "wake": None,
            "child_run_id": None,
            "started": self.t,
            "finished": None,
            **fields,
        }
        self.steps.append(row)
        return row

    # placing it in time and writing rows
    def emit(self, rows: _Rows) -> None:
        last = self.events[-1][3] if self.events else 0.0
        base = self.now - timedelta(seconds=last + self.idle)
        for payload, key, offset in self.times:
            payload[key] = (base + timedelta(seconds=offset)).isoformat().replace("+00:00", "Z")

        def at(offset: float | None) -> datetime | None:
            return None if offset is None else base + timedelta(seconds=offset)

        run_id, corr = self.run_id, self.correlation_id
        rows.runs.append(
            (
                run_id,
                self.function_id,
                self.capability,
                self.status,
                _encode(self.input),
                _json(self.output),
                _json(self.error),
                self.idempotency_key,
                "",
                self.attempt,
                0,
                self.principal,
                corr,
                self.parent_run_id,
                self.parent_step_id,
                self.replay_of_id,
                0,
                self.queue,
                base,
                at(last),
                at(self.started),
                at(self.finished),
                at(self.wake),
                base if self.attempt <= 1 else at(last),
                self.lease_owner,
                self.lease_expires_at,
                at(self.cancel_requested),
                self.cancelled_by,
                len(self.events) + 1,
            )
        )
        for s in self.steps:
            rows.steps.append(
                (
                    run_id,
                    s["step_id"],
                    s["position"],
                    s["kind"],
                    s["status"],
                    _json(s["output"]),
                    _json(s["error"]),
                    s["attempts"],
                    s["starts"],
                    s["wait_event"],
                    _json(s["wait_match"]),
                    at(s["wake"]),
                    s["child_run_id"],
                    at(s["started"]),
                    at(s["finished"]),
                )
            )
        for seq, (type_, step_id, payload, offset) in enumerate(self.events, start=1):
            rows.timeline.append(
                (
                    run_id,
                    seq,
                    type_,
                    step_id,
                    _encode(payload),
                    corr,
                    base + timedelta(seconds=offset),
                )
            )
        for a in self.approvals:
            rows.approvals.append(
                (
                    a["id"],
                    run_id,
                    a["step_id"],
                    a["title"],
                    _json(a["context"]),
                    a["status"],
                    a.get("decision", ""),
                    _json(a.get("payload")),
                    a.get("decided_by", ""),
                    at(a.get("decided")),
                    at(a["created"]),
                    at(a["timeout"]),
                    a.get("workflow_id", ""),
                    a.get("desk_id", ""),
                )
            )


# -- random helpers -------------------------------------------------------------------------
def _rng(seed: int, index: int, salt: int) -> random.Random:
    # Reproducible fixtures, not secrets.
    return random.Random(seed * 1_000_003 + index * 8 + salt)  # noqa: S311


def _lognormal(rng: random.Random, median: float, sigma: float = 0.8) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def _pick(rng: random.Random, weighted: tuple[tuple[Any, float], ...]) -> Any:
    roll = rng.random() * sum(w for _, w in weighted)
    for value, weight in weighted:
        roll -= weight
        if roll <= 0:
            return value
    return weighted[-1][0]


def _hex(rng: random.Random, n: int = 32) -> str:
    return f"{rng.getrandbits(n * 4):0{n}x}"


def _worker(rng: random.Random) -> str:
    return f"celery@worker-{rng.randint(1, 6)}.prod"


PRINCIPALS = (
    ("system", 30.0),
    ("system:scheduler", 25.0),
    ("api_key:3f9a2c1d", 15.0),
    ("api_key:b71e0a44", 8.0),
    ("user:alice", 8.0),
    ("user:bob", 5.0),
    ("user:ops-chen", 5.0),
    ("system:cli", 4.0),
)
OPERATORS = ("user:alice", "user:ops-chen", "user:bob", "system:cli")
WORDS = [
    "invoice",
    "overdue",
    "refund",
    "customer",
    "contract",
    "renewal",
    "churn",
    "pipeline",
    "latency",
    "outage",
    "migration",
    "postgres",
    "celery",
    "worker",
    "quota",
    "budget",
    "forecast",
    "audit",
    "compliance",
    "onboarding",
    "shipping",
    "warehouse",
    "discount",
    "campaign",
    "newsletter",
    "ticket",
    "escalation",
]


def _correlation_id(seed: int, index: int) -> str:
    return _hex(_rng(seed, index, 5))


# -- what a run is --------------------------------------------------------------------------
#: (function id, capability, weight). Registered ones first; then realistic synthetic ids.
FUNCTIONS = (
    ("search.enrich", "search", 22.0),
    ("billing.invoice.send", "billing", 22.0),
    ("crm.sync", "crm", 16.0),
    (EXECUTOR, "coordination", 10.0),
    ("reports.daily.build", "reports", 8.0),
    ("payments.refund.issue", "payments", 7.0),
    ("rawr.doctor", "rawr", 5.0),
    ("notifications.email.send", "notifications", 10.0),
)
_FUNCTION_WEIGHTS = tuple((i, f[2]) for i, f in enumerate(FUNCTIONS))
_CRM = next(i for i, f in enumerate(FUNCTIONS) if f[0] == "crm.sync")
STATUSES = (
    ("completed", 80.0),
    ("failed", 7.0),
    ("cancelled", 2.5),
    ("queued", 2.5),
    ("running", 4.0),
    ("sleeping", 1.5),
    ("waiting", 2.5),
)
#: Functions whose story has a place to sleep / to wait; others run instead.
PARKS = {
    "billing.invoice.send": {"waiting"},
    "crm.sync": {"sleeping"},
    "reports.daily.build": {"sleeping", "waiting"},
    "payments.refund.issue": {"waiting"},
    "notifications.email.send": {"sleeping"},
    EXECUTOR: {"waiting"},
}


def _head(seed: int, index: int) -> tuple[int, str]:
    """(function index, status) of run ``index``: cheap, so links can look at neighbours."""
    rng = _rng(seed, index, 0)
    function = _pick(rng, _FUNCTION_WEIGHTS)
    status = _pick(rng, STATUSES)
    if status in ("sleeping", "waiting") and status not in PARKS.get(FUNCTIONS[function][0], ()):
        status = "running"
    return function, status


def _is_parent(seed: int, index: int) -> bool:
    """A report run (even index) that got as far as invoking its child, run ``index + 1``.

    Only even indexes: a child (odd) is never a parent itself, so no chain of links.
    """
    if index % 2:
        return False
    function, status = _head(seed, index)
    return FUNCTIONS[function][0] == "reports.daily.build" and status in (
        "completed",
        "failed",
        "waiting",
    )


def _wants_replay(seed: int, index: int) -> bool:
    if index < 60 or _is_parent(seed, index) or _is_parent(seed, index - 1):
        return False
    return _rng(seed, index, 3).random() < 0.01


def _replay_target(seed: int, index: int) -> int | None:
    """An earlier failed run that is nobody's parent, child or replay (its head is its story)."""
    for j in range(index - 1, max(index - 60, 0), -1):
        if (
            _head(seed, j)[1] == "failed"
            and not _is_parent(seed, j)
            and not _is_parent(seed, j - 1)
            and not _wants_replay(seed, j)
        ):
            return j
    return None


def _story_for(
    index: int, seed: int, now: datetime, workflows: list[dict[str, Any]], batch: set[int]
) -> _Story:
    """Run ``index`` (its parent and child are linked only when written in the same batch)."""
    function_index, status = _head(seed, index)
    rng = _rng(seed, index, 1)
    parent = index - 1 if index - 1 in batch and _is_parent(seed, index - 1) else None
    child = index + 1 if index + 1 in batch and _is_parent(seed, index) else None
    replay_of = _replay_target(seed, index) if _wants_replay(seed, index) else None
    if parent is not None:
        function_index = _CRM
        parent_status = _head(seed, parent)[1]
        status = "completed" if parent_status in ("completed", "failed") else "running"
    if replay_of is not None:
        function_index = _head(seed, replay_of)[0]
        status = _pick(rng, (("completed", 70.0), ("failed", 20.0), ("running", 10.0)))
    function_id, capability, _ = FUNCTIONS[function_index]
    story = _Story(seed_id(index), function_id, capability, rng, now)
    story.principal = _pick(rng, PRINCIPALS)
    story.correlation_id = _correlation_id(seed, index)
    if parent is not None:
        story.correlation_id = _correlation_id(seed, parent)
        story.parent_run_id, story.parent_step_id = seed_id(parent), "sync-crm"
        story.principal = "system:scheduler"
    if replay_of is not None:
        story.correlation_id = _correlation_id(seed, replay_of)
        story.replay_of_id = seed_id(replay_of)
        story.principal = rng.choice(OPERATORS)
    story.queue = capability if rng.random() < 0.3 else ""
    # A replay re-runs its original's input (same random stream).
    source = _rng(seed, replay_of if replay_of is not None else index, 2)
    if function_id == EXECUTOR:
        workflow = workflows[source.randrange(len(workflows))]
        _coordination_story(story, status, workflow, source)
    else:
        _plain_story(story, status, PLANS[function_id](source, index, child, now))
    if replay_of is None and parent is None and function_id in IDEMPOTENT and rng.random() < 0.5:
        story.idempotency_key = IDEMPOTENT[function_id](index)
    _idle(story, rng)
    return story


def _idle(story: _Story, rng: random.Random) -> None:
    """How long ago the last event happened; sets leases and wake-ups relative to now."""
    status = story.status
    last = story.events[-1][3]
    if status in ("completed", "failed", "cancelled"):
        # Created over the last DAYS days, more of them recently.
        story.idle = DAYS * 86400 * rng.random() ** 2
    elif status == "queued":
        story.idle = rng.uniform(0, 5) if rng.random() < 0.9 else rng.uniform(60, 3 * 3600)
        if story.wake is not None:  # a retry that is due soon
            story.idle = rng.uniform(0, 20)
            story.wake = last + story.idle + rng.uniform(1, 60)
    elif status == "running":
        if rng.random() < 0.25:  # stuck: the worker died and nobody took the lease over
            expired = rng.uniform(120, 8 * 3600)
            story.idle = expired + rng.uniform(0, 60)
            story.lease_expires_at = story.now - timedelta(seconds=expired)
        else:
            story.idle = rng.uniform(0, 120)
            story.lease_expires_at = story.now + timedelta(seconds=rng.uniform(5, 55))
        story.lease_owner = story.worker
    elif story.wake is not None:  # sleeping, or waiting with a timeout
        span = story.wake - last
        overdue = status == "waiting" and rng.random() < 0.05
        story.idle = span + rng.uniform(60, 7200) if overdue else rng.uniform(0, span * 0.95)
    else:
        story.idle = rng.uniform(0, 3 * 3600)


# -- plain durable functions ------------------------------------------------------------------
@dataclass
class _StepDef:
    step_id: str
    output: Any = None
    #: "run" | "sleep" | "wait_for_event" | "approval" | "invoke"
    kind: str = "run"
    median: float = 0.08
    park: dict[str, Any] = field(default_factory=dict)
    #: The error this step fails with in a failed run (None: it does not fail).
    error: tuple[str, str, str, bool] | None = None


@dataclass
class _Plan:
    input: dict[str, Any]
    steps: list[_StepDef]
    output: Any


def _traceback(frames: list[tuple[str, int, str, str]], exc: str) -> str:
    """A traceback as ``_engine`` stores it: the step call, then the function's frames."""
    lines = [
        "Traceback (most recent call last):",
        '  File "/app/workflows/_engine.py", line 165, in run_with',
        "    output = fn()",
        "             ^^^^",
        '  File "/app/workflows/_engine.py", line 140, in <lambda>',
        "    return self.run_with(step_id, lambda: fn(*args, **kwargs))",
        "                                          ^^^^^^^^^^^^^^^^^^^",
    ]
    for path, line, func, code in frames:
        lines.append(f'  File "/app/{path}", line {line}, in {func}')
        lines.append(f"    {code}")
    lines.append(exc)
    return "\n".join(lines) + "\n"


def _error(step_id: str, code: str, exc_type: str, text: str, frames: list) -> dict[str, Any]:
    return {
        "code": code,
        "stepId": step_id,
        "message": f"{exc_type.rsplit('.', 1)[-1]}: {text}",
        "traceback": _traceback(frames, f"{exc_type}: {text}"),
    }


def _plan_enrich(rng: random.Random, index: int, child: int | None, now: datetime) -> _Plan:
    doc = rng.randint(1, 250_000)
    title = " ".join(rng.sample(WORDS, 4)).capitalize()
    keywords = rng.sample(WORDS, rng.randint(3, 8))
    result = {"documentId": doc, "keywords": keywords, "count": len(keywords)}
    return _Plan(
        {"document_id": doc},
        [
            _StepDef(
                "load-document",
                {"title": title, "body": " ".join(rng.choices(WORDS, k=30))},
                median=0.02,
                error=(
                    "DOCUMENT_NOT_FOUND",
                    "workflows.errors.NonRetriableError",
                    f"document {doc} does not exist",
                    False,
                ),
            ),
            _StepDef("extract-keywords", keywords, median=0.15),
            _StepDef("store-keywords", {"updated": True}, median=0.03),
            _StepDef("record-result", result, median=0.002),
        ],
        result,
    )


def _plan_invoice(rng: random.Random, index: int, child: int | None, now: datetime) -> _Plan:
    invoice = f"INV-2026-{index:07d}"
    customer = f"cus_{_hex(rng, 14)}"
    amount = round(rng.lognormvariate(5.5, 1.0), 2)
    steps = [
        _StepDef(
            "load-invoice",
            {"invoiceId": invoice, "customerId": customer, "amount": amount, "currency": "EUR"},
            median=0.02,
        ),
        _StepDef(
            "render-pdf",
            {"pdf": f"s3://invoices/{invoice}.pdf", "pages": rng.randint(1, 4)},
            median=0.6,
        ),
        _StepDef(
            "charge-payment",
            {"chargeId": f"ch_{_hex(rng, 20)}", "status": "succeeded", "amount": amount},
            median=0.9,
            error=(
                "PAYMENT_DECLINED",
                "billing.gateway.PaymentDeclined",
                "card_declined (insufficient_funds)",
                False,
            ),
        ),
    ]
    if rng.random() < 0.5:
        steps.append(
            _StepDef(
                "await-settlement",
                kind="wait_for_event",
                park={
                    "event": "billing.payment.settled",
                    "match": {"invoiceId": invoice},
                    "timeout": 48 * 3600.0,
                    "after": rng.uniform(5, 1800),
                },
            )
        )
    steps += [
        _StepDef(
            "send-email",
            {
                "messageId": f"<{_hex(rng, 16)}@mail.rawr.example>",
                "to": f"billing+{index}@example.com",
            },
            median=0.4,
            error=(
                "SMTP_TIMEOUT",
                "smtplib.SMTPServerDisconnected",
                "Connection unexpectedly closed: timed out",
                True,
            ),
        ),
        _StepDef("mark-sent", {"invoiceId": invoice, "status": "sent"}, median=0.01),
    ]
    return _Plan(
        {"invoiceId": invoice, "customerId": customer},
        steps,
        {"invoiceId": invoice, "status": "sent", "amount": amount},
    )


def _plan_crm(rng: random.Random, index: int, child: int | None, now: datetime) -> _Plan:
    batches = rng.randint(1, 4)
    contacts = rng.randint(20, 5000)
    steps = [
        _StepDef(
            "fetch-contacts",
            {"count": contacts, "cursor": _hex(rng, 12)},
            median=1.5,
            error=(
                "UPSTREAM_RATE_LIMITED",
                "httpx.HTTPStatusError",
                "Client error '429 Too Many Requests' for url "
                "'https://api.crm.example.com/v3/contacts?limit=500'",
                True,
            ),
        ),
        _StepDef(
            "diff", {"created": contacts // 9, "updated": contacts // 4, "deleted": 3}, median=0.2
        ),
    ]
    if rng.random() < 0.3:
        steps.append(_StepDef("backoff", kind="sleep", park={"seconds": 900.0}))
    for b in range(batches):
        steps.append(
            _StepDef(
                f"upsert-batch-{b}",
                {"upserted": contacts // batches},
                median=0.8,
                error=("CRM_TIMEOUT", "httpx.ReadTimeout", "The read operation timed out", True),
            )
        )
    steps.append(_StepDef("record-sync", {"contacts": contacts, "batches": batches}, median=0.01))
    return _Plan(
        {"account": f"acct-{rng.randint(1, 400)}", "full": rng.random() < 0.1},
        steps,
        {"contacts": contacts, "batches": batches},
    )


def _plan_report(rng: random.Random, index: int, child: int | None, now: datetime) -> _Plan:
    day = (now - timedelta(days=rng.randint(0, DAYS))).date().isoformat()
    steps = [_StepDef("collect-metrics", {"rows": rng.randint(1000, 90_000)}, median=2.0)]
    if rng.random() < 0.4:
        steps.append(_StepDef("wait-for-window", kind="sleep", park={"seconds": 3600.0}))
    if child is not None:
        steps.append(
            _StepDef(
                "sync-crm", kind="invoke", park={"function_id": "crm.sync", "child": seed_id(child)}
            )
        )
    steps += [
        _StepDef(
            "render-report",
            {"url": f"https://reports.example.com/daily/{day}.html"},
            median=3.0,
            error=("KeyError", "KeyError", "'revenue_eur'", False),
        ),
        _StepDef("publish", {"published": True, "channel": "#daily-report"}, median=0.3),
    ]
    return _Plan({"day": day}, steps, {"day": day, "published": True})


def _plan_refund(rng: random.Random, index: int, child: int | None, now: datetime) -> _Plan:
    amount = round(rng.lognormvariate(4.0, 1.2), 2)
    order = f"ord_{_hex(rng, 10)}"
    return _Plan(
        {"orderId": order, "amount": amount, "reason": rng.choice(["damaged", "late", "other"])},
        [
            _StepDef("load-order", {"orderId": order, "amount": amount}, median=0.03),
            _StepDef(
                "approve-refund",
                kind="approval",
                park={
                    "title": f"Refund {amount:.2f} EUR for {order}",
                    "context": {"orderId": order, "amount": amount, "currency": "EUR"},
                    "timeout": 72 * 3600.0,
                    "after": rng.uniform(120, 20 * 3600),
                },
            ),
            _StepDef(
                "issue-refund",
                {"refundId": f"re_{_hex(rng, 16)}", "amount": amount},
                median=0.7,
                error=(
                    "PAYMENT_PROVIDER_ERROR",
                    "billing.gateway.ProviderError",
                    "502 Bad Gateway from payments provider",
                    True,
                ),
            ),
            _StepDef("notify-customer", {"sent": True}, median=0.2),
        ],
        {"orderId": order, "refunded": amount},
    )


def _plan_doctor(rng: random.Random, index: int, child: int | None, now: datetime) -> _Plan:
    n = rng.randint(2, 8)
    stamp = now.timestamp() - rng.uniform(0, DAYS * 86400)
    steps = [
        _StepDef(f"step-{i}", {"index": i, "at": stamp + i * 0.02}, median=0.001) for i in range(n)
    ]
    steps[-1].error = (
        "STEP_CRASHED",
        "workflows.errors.NonRetriableError",
        f"step 'step-{n - 1}' was interrupted 3 times",
        False,
    )
    return _Plan({"steps": n, "step_sleep": 0}, steps, {"steps": n, "last": steps[-1].output})


def _plan_email(rng: random.Random, index: int, child: int | None, now: datetime) -> _Plan:
    template = rng.choice(["welcome", "password-reset", "weekly-digest", "invoice-reminder"])
    steps = [
        _StepDef("render", {"template": template, "bytes": rng.randint(2000, 40_000)}, median=0.05),
    ]
    if template == "weekly-digest" and rng.random() < 0.5:
        steps.append(_StepDef("quiet-hours", kind="sleep", park={"seconds": 6 * 3600.0}))
    steps.append(
        _StepDef(
            "deliver",
            {"messageId": f"<{_hex(rng, 16)}@mail.rawr.example>"},
            median=0.3,
            error=(
                "SMTP_REJECTED",
                "smtplib.SMTPRecipientsRefused",
                "{'user@example.org': (550, b'5.1.1 mailbox unavailable')}",
                False,
            ),
        )
    )
    return _Plan(
        {"template": template, "to": f"user{index}@example.org"},
        steps,
        {"delivered": True, "template": template},
    )


PLANS: dict[str, Callable[[random.Random, int, int | None, datetime], _Plan]] = {
    "search.enrich": _plan_enrich,
    "billing.invoice.send": _plan_invoice,
    "crm.sync": _plan_crm,
    "reports.daily.build": _plan_report,
    "payments.refund.issue": _plan_refund,
    "rawr.doctor": _plan_doctor,
    "notifications.email.send": _plan_email,
}
IDEMPOTENT: dict[str, Callable[[int], str]] = {
    "billing.invoice.send": lambda i: f"invoice:INV-2026-{i:07d}",
    "payments.refund.issue": lambda i: f"refund:{i:08d}",
    "notifications.email.send": lambda i: f"email:{i:08d}",
}
_FRAMES = {
    "PAYMENT_DECLINED": [
        (
            "capabilities/billing/workflows.py",
            58,
            "_charge",
            'return gateway.charge(invoice["customerId"], invoice["amount"])',
        ),
        (
            "capabilities/billing/gateway.py",
            112,
            "charge",
            'raise PaymentDeclined(reply["decline_code"])',
        ),
    ],
    "UPSTREAM_RATE_LIMITED": [
        (
            "capabilities/crm/workflows.py",
            41,
            "_fetch_contacts",
            "page = client.contacts(cursor=cursor, limit=500)",
        ),
        ("capabilities/crm/client.py", 77, "contacts", "response.raise_for_status()"),
        (
            ".venv/lib/python3.12/site-packages/httpx/_models.py",
            829,
            "raise_for_status",
            "raise HTTPStatusError(message, request=request, response=self)",
        ),
    ],
}
_DEFAULT_FRAMES = [
    ("capabilities/common/io.py", 203, "call", "return self._send(request, timeout=self.timeout)"),
    ("capabilities/common/io.py", 251, "_send", "raise self._translate(exc) from exc"),
]


def _full_error(d: _StepDef) -> dict[str, Any]:
    assert d.error is not None
    code, exc_type, text, _retriable = d.error
    return _error(d.step_id, code, exc_type, text, _FRAMES.get(code, _DEFAULT_FRAMES))


def _public(error: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in error.items() if k != "traceback"}


def _plain_story(story: _Story, status: str, plan: _Plan) -> None:
    """Walk ``plan``'s steps as the engine would, stopping where ``status`` says."""
    rng = story.rng
    story.input = plan.input
    story.queued()
    steps = plan.steps
    run_steps = [i for i, d in enumerate(steps) if d.kind == "run"]
    if status == "queued" and rng.random() < 0.7:
        return
    stop = len(steps)
    if status == "failed":
        failing = [i for i in run_steps if steps[i].error] or run_steps
        stop = rng.choice(failing)
        if steps[stop].error is None:
            steps[stop].error = ("INTERNAL_ERROR", "RuntimeError", "unexpected state", False)
    elif status in ("running", "queued", "cancelled"):
        stop = rng.choice(run_steps) if status != "cancelled" else rng.randrange(len(steps))
    elif status in ("sleeping", "waiting"):
        kinds = ("sleep",) if status == "sleeping" else ("wait_for_event", "approval", "invoke")
        parks = [i for i, d in enumerate(steps) if d.kind in kinds]
        if parks:
            stop = rng.choice(parks)
        else:  # this run has no such step: it is running instead
            status, stop = "running", rng.choice(run_steps)
    story.claim()
    for i in range(stop):
        if not _pass_step(story, steps[i]):
            return  # a rejected approval ends the run early (completed)
    if status == "completed":
        story.wait(0.003)
        story.status = "completed"
        story.output = plan.output
        story.finished = story.t
        story.ev("run.completed", payload={"attempt": story.attempt})
        return
    d = steps[stop]
    if status == "failed":
        _fail_at(story, d)
    elif status == "cancelled":
        _cancel(story, at_boundary=True)
    elif status == "running":
        story.wait(0.001)
        story.step(d.step_id, status="running", starts=1)
        story.ev("step.started", d.step_id, {"attempt": 1})
    elif status == "queued":  # a retriable failure: due again soon
        story.wait(_lognormal(rng, d.median))
        error = _error(
            d.step_id, "TimeoutError", "TimeoutError", "timed out after 30.0s", _DEFAULT_FRAMES
        )
        story.step(d.step_id, status="running", attempts=1, starts=1, error=error)
        story.ev("step.started", d.step_id, {"attempt": 1})
        story.ev(
            "step.failed", d.step_id, {"attempt": 1, "error": _public(error), "retryInSeconds": 2.0}
        )
        story.status = "queued"
        story.wake = story.t + 2.0  # replaced by _idle
    else:
        _park(story, d)


def _pass_step(story: _Story, d: _StepDef) -> bool:
    """Record ``d`` as done (after a retry now and then). False: the run ended here."""
    rng = story.rng
    if d.kind != "run":
        return _pass_park(story, d)
    story.wait(0.002)
    row = story.step(d.step_id, attempts=1, starts=1, output=d.output)
    if d.error is not None and d.error[3] and rng.random() < 0.15:
        error = _full_error(d)
        story.ev("step.started", d.step_id, {"attempt": 1})
        story.wait(_lognormal(rng, d.median))
        delay = round(rng.uniform(1, 4), 3)
        story.ev(
            "step.failed",
            d.step_id,
            {"attempt": 1, "error": _public(error), "retryInSeconds": delay},
        )
        story.wait(delay)
        story.claim("queued")
        row.update(attempts=2, starts=2)
    story.ev("step.started", d.step_id, {"attempt": row["attempts"]})
    story.wait(_lognormal(rng, d.median))
    row["finished"] = story.t
    story.ev("step.completed", d.step_id, {"attempts": row["attempts"]})
    return True


def _park(story: _Story, d: _StepDef) -> dict[str, Any]:
    """Park the run at ``d`` (sleep, wait, approval, invoke); the run stays parked."""
    story.wait(0.002)
    park = d.park
    story.lease_owner = ""
    if d.kind == "sleep":
        row = story.step(d.step_id, "sleep", status="sleeping", wake=story.t + park["seconds"])
        story.ev("step.started", d.step_id, {"kind": "sleep"})
        story.ev("run.sleeping", d.step_id, story.at({}, "until", row["wake"]))
        story.status, story.wake = "sleeping", row["wake"]
    elif d.kind == "wait_for_event":
        row = story.step(
            d.step_id,
            "wait_for_event",
            status="waiting",
            wait_event=park["event"],
            wait_match=park["match"],
            wake=story.t + park["timeout"],
        )
        story.ev("step.started", d.step_id, {"kind": "wait_for_event"})
        payload = {"event": park["event"], "match": park["match"]}
        story.ev("run.waiting", d.step_id, story.at(payload, "timeoutAt", row["wake"]))
        story.status, story.wake = "waiting", row["wake"]
    elif d.kind == "approval":
        row = story.step(d.step_id, "approval", status="waiting", wake=story.t + park["timeout"])
        approval_id = f"apr_{story.run_id}_{len(story.approvals)}"
        approval = {
            "id": approval_id,
            "step_id": d.step_id,
            "title": park["title"],
            "context": park.get("context"),
            "status": "pending",
            "created": story.t,
            "timeout": row["wake"],
            "workflow_id": park.get("workflow_id", ""),
            "desk_id": park.get("desk_id", ""),
        }
        story.approvals.append(approval)
        payload = story.at({}, "timeoutAt", row["wake"])
        payload.update(approvalId=approval_id, title=park["title"])
        if approval["desk_id"]:
            payload["deskId"] = approval["desk_id"]
        story.ev("step.started", d.step_id, {"kind": "approval"})
        story.ev("run.waiting", d.step_id, payload)
        story.status, story.wake = "waiting", row["wake"]
    else:  # invoke
        row = story.step(d.step_id, "invoke", status="waiting", child_run_id=park["child"])
        story.ev("step.started", d.step_id, {"kind": "invoke"})
        story.ev(
            "run.waiting",
            d.step_id,
            {"childRunId": park["child"], "functionId": park["function_id"]},
        )
        story.status, story.wake = "waiting", None
    return row


def _pass_park(story: _Story, d: _StepDef, decision: str | None = None) -> bool:
    """Park at ``d`` and resume (slept, event arrived, approved or rejected, child done)."""
    rng = story.rng
    row = _park(story, d)
    if d.kind == "sleep":
        story.t = row["wake"]
        story.claim("sleeping")
        row.update(status="completed", finished=story.t)
        story.ev("step.completed", d.step_id, {"attempts": 0})
        story.wake = None
        return True
    story.wait(d.park.get("after", rng.uniform(1, 120)))
    row["finished"] = story.t
    row["status"] = "completed"
    if d.kind == "wait_for_event":
        event_id = f"evt_{_hex(rng)}"
        row["output"] = {"id": event_id, "name": d.park["event"], "data": d.park["match"]}
        story.ev("step.completed", d.step_id, {"eventId": event_id, "by": "api_key:3f9a2c1d"})
        story.ev("run.resumed", d.step_id, {"eventId": event_id})
    elif d.kind == "approval":
        approval = story.approvals[-1]
        by = rng.choice(OPERATORS[:3])
        decision = decision or ("approve" if rng.random() < 0.85 else "reject")
        payload = {"note": "ok"} if decision == "approve" else {"reason": "not covered"}
        approval.update(
            status="approved" if decision == "approve" else "rejected",
            decision=decision,
            payload=payload,
            decided_by=by,
            decided=story.t,
        )
        row["output"] = {
            "decision": decision,
            "payload": payload,
            "decidedBy": by,
            "approvalId": approval["id"],
        }
        story.ev(
            "approval.decided",
            d.step_id,
            {"approvalId": approval["id"], "decision": decision, "by": by, "payload": payload},
        )
        story.ev("step.completed", d.step_id, {"approvalId": approval["id"], "by": by})
        story.ev("run.resumed", d.step_id, {"approvalId": approval["id"]})
        if decision == "reject" and story.function_id != EXECUTOR:
            story.claim("queued")
            story.wait(0.002)
            story.status, story.wake = "completed", None
            story.output = {"refunded": 0, "decision": "reject", "by": by}
            story.finished = story.t
            story.ev("run.completed", payload={"attempt": story.attempt})
            return False
    else:
        row["output"] = {"contacts": rng.randint(20, 5000)}
        story.ev("step.completed", d.step_id, {"childRunId": d.park["child"]})
        story.ev("run.resumed", d.step_id, {"by": "child"})
    story.claim("queued")
    story.wake = None
    return True


def _fail_at(story: _Story, d: _StepDef, extra: list[tuple[str, str, dict]] | None = None) -> None:
    rng = story.rng
    error = _full_error(d)
    retriable = d.error is not None and d.error[3]
    attempts = rng.randint(2, 4) if retriable else 1
    story.wait(0.002)
    row = story.step(d.step_id, attempts=attempts, starts=attempts)
    for attempt in range(1, attempts):
        story.ev("step.started", d.step_id, {"attempt": attempt})
        story.wait(_lognormal(rng, d.median))
        delay = round(2.0**attempt + rng.random(), 3)
        story.ev(
            "step.failed",
            d.step_id,
            {"attempt": attempt, "error": _public(error), "retryInSeconds": delay},
        )
        story.wait(delay)
        story.claim("queued")
    story.ev("step.started", d.step_id, {"attempt": attempts})
    story.wait(_lognormal(rng, d.median))
    row.update(status="failed", error=error, finished=story.t)
    story.ev(
        "step.failed", d.step_id, {"attempt": attempts, "error": _public(error), "final": True}
    )
    for type_, step_id, payload in extra or []:
        story.ev(type_, step_id, payload)
    story.ev("run.failed", d.step_id, {"error": _public(error)})
    story.status, story.error, story.finished = "failed", error, story.t
    story.lease_owner = ""


def _cancel(story: _Story, *, at_boundary: bool) -> None:
    by = story.rng.choice(OPERATORS)
    story.wait(story.rng.uniform(0.01, 30))
    story.cancel_requested = story.t
    story.cancelled_by = by
    payload: dict[str, Any] = {"by": by}
    if at_boundary:
        story.wait(0.01)
        payload["atStepBoundary"] = True
    story.ev("run.cancelled", payload=payload)
    story.status, story.finished, story.wake, story.lease_owner = "cancelled", story.t, None, ""


# -- coordination runs ----------------------------------------------------------------------
_RAW_DOCUMENTS: dict[tuple[str, int], _Raw] = {}


def _coordination_story(
    story: _Story, status: str, document: dict[str, Any], rng: random.Random
) -> None:
    from coordination.domain.graph import topological_order

    workflow_id, version = document["workflowId"], int(document["version"])
    encoded = _RAW_DOCUMENTS.get((workflow_id, version))
    if encoded is None:
        encoded = _RAW_DOCUMENTS[(workflow_id, version)] = _Raw(_encode(document))
    request = " ".join(rng.sample(WORDS, 3))
    run_input = {"request": request, "amount": round(rng.uniform(10, 50_000), 2)}
    story.input = {"workflowId": workflow_id, "workflowVersion": version, "input": run_input}
    desks = {d["deskId"]: d for d in document["desks"]}
    order = topological_order(document)
    human = [d for d in order if desks[d].get("kind") == "desk:human-wait"]
    if status == "waiting" and not human:
        status = "running"
    story.queued()
    if status == "queued":
        return
    story.claim()
    load = _StepDef("workflow/load", encoded, median=0.01)
    if status == "running" and rng.random() < 0.1:
        story.step("workflow/load", status="running", starts=1)
        story.ev("step.started", "workflow/load", {"attempt": 1})
        return
    _pass_step(story, load)
    # Where the story stops: (desk index, phase) or None for the end.
    stop_desk = None
    if status in ("failed", "running", "cancelled"):
        stop_desk = rng.randrange(len(order))
    if status == "waiting":
        stop_desk = order.index(human[0])
    if status == "failed" and human and rng.random() < 0.3:
        stop_desk = order.index(human[0])  # rejected or timed out at the human desk
    outputs: dict[str, Any] = {}
    last: Any = None
    for position, desk_id in enumerate(order):
        desk = desks[desk_id]
        upstream = [h["fromDeskId"] for h in document["handoffs"] if h["toDeskId"] == desk_id]
        if desk_id == document["entryDeskId"]:
            payload: Any = run_input
        elif desk.get("kind") == "desk:join":
            payload = {u: _shallow(outputs[u]) for u in upstream if u in outputs}
        else:
            payload = next((_shallow(outputs[u]) for u in upstream if u in outputs), None)
        prefix = f"desk/{desk_id}"
        kind = desk.get("kind")
        if stop_desk == position and status == "cancelled":
            _cancel(story, at_boundary=True)
            return
        story.wait(0.002)
        started = {"kind": kind, "input": payload, "deskId": desk_id}
        story.step(f"{prefix}/started", attempts=1, starts=1, output=started, finished=story.t)
        story.ev("desk.started", f"{prefix}/started", started)
        _pass_step(story, _StepDef(f"{prefix}/memory-read", {}, median=0.004))
        execute = _StepDef(f"{prefix}/execute", median=0.3)
        if stop_desk == position and status == "running":
            if kind != "desk:human-wait":  # a human-wait desk parks at once: between steps
                story.wait(0.001)
                story.step(execute.step_id, status="running", starts=1)
                story.ev("step.started", execute.step_id, {"attempt": 1})
            return
        if kind == "desk:human-wait":
            timeout = float((desk.get("runtimePolicy") or {}).get("timeoutSeconds") or 86400)
            execute.kind = "approval"
            execute.park = {
                "title": str(desk.get("name") or desk_id),
                "context": payload,
                "timeout": timeout,
                "after": rng.uniform(60, timeout * 0.5),
                "workflow_id": workflow_id,
                "desk_id": desk_id,
            }
            if stop_desk == position and status == "waiting":
                _park(story, execute)
                return
            if stop_desk == position and status == "failed":
                _reject_desk(story, execute, desk_id)
                return
            _pass_park(story, execute, decision="approve")
            output = {
                "deskId": desk_id,
                "status": "approved",
                "kind": kind,
                "decision": "approve",
                "approvedBy": story.approvals[-1]["decided_by"],
                "payload": story.approvals[-1]["payload"],
                "received": payload,
                "memory": {},
            }
        else:
            if kind == "desk:join":
                output = {"deskId": desk_id, "status": "joined", "merged": payload, "memory": {}}
            else:
                output = {
                    "deskId": desk_id,
                    "status": "ok",
                    "kind": kind,
                    "received": payload,
                    "memory": {},
                }
            execute.output = output
            if stop_desk == position and status == "failed":
                execute.error = (
                    "DESK_FAILED",
                    "coordination.workflows.DeskFailed",
                    f"desk {desk_id} output does not match its outputSchema at "
                    "status: 'ok' is not one of ['approved', 'rejected']",
                    False,
                )
                error = _full_error(execute)
                _fail_at(
                    story,
                    execute,
                    [
                        (
                            "desk.failed",
                            execute.step_id,
                            {
                                "deskId": desk_id,
                                "detail": error["message"],
                                "error": _public(error),
                            },
                        )
                    ],
                )
                return
            _pass_step(story, execute)
        scope = desk.get("memoryScope") or {}
        if scope.get("persist") is True:
            key = f"{scope['namespace']}:lastOutput" if scope.get("namespace") else "lastOutput"
            _pass_step(story, _StepDef(f"{prefix}/memory-write", {"key": key}, median=0.005))
        story.wait(0.002)
        completed = {"deskId": desk_id, "output": output}
        story.step(f"{prefix}/completed", attempts=1, starts=1, output=completed, finished=story.t)
        story.ev("desk.completed", f"{prefix}/completed", completed)
        outputs[desk_id] = output
        last = output
    story.wait(0.003)
    story.status, story.output, story.finished = "completed", last, story.t
    story.ev("run.completed", payload={"attempt": story.attempt})


def _shallow(output: Any) -> Any:
    """A desk's output as the next desk receives it, minus the nested history (keeps the
    seeded rows small; the executor would nest every upstream output)."""
    if not isinstance(output, dict):
        return output
    return {k: v for k, v in output.items() if k not in ("received", "merged", "memory")}


def _reject_desk(story: _Story, d: _StepDef, desk_id: str) -> None:
    rng = story.rng
    row = _park(story, d)
    approval = story.approvals[-1]
    story.wait(d.park["after"])
    by = rng.choice(OPERATORS[:3])
    if rng.random() < 0.2:  # nobody decided in time
        story.t = row["wake"]
        approval["status"] = "expired"
        story.claim("waiting")
        row.update(status="completed", finished=story.t, output=None)
        story.ev("approval.expired", d.step_id, {"approvalId": approval["id"]})
        story.ev("step.timed_out", d.step_id, {"attempts": 0})
        message = f"desk {desk_id} timed out waiting for approval after {d.park['timeout']:g}s"
        detail: dict[str, Any] = {"timedOut": True}
    else:
        payload = {"reason": "budget exceeded"}
        approval.update(
            status="rejected", decision="reject", payload=payload, decided_by=by, decided=story.t
        )
        row.update(
            status="completed",
            finished=story.t,
            output={
                "decision": "reject",
                "payload": payload,
                "decidedBy": by,
                "approvalId": approval["id"],
            },
        )
        story.ev(
            "approval.decided",
            d.step_id,
            {"approvalId": approval["id"], "decision": "reject", "by": by, "payload": payload},
        )
        story.ev("step.completed", d.step_id, {"approvalId": approval["id"], "by": by})
        story.ev("run.resumed", d.step_id, {"approvalId": approval["id"]})
        story.claim("queued")
        message = f"desk {desk_id} was rejected by {by}"
        detail = {"decision": "reject", "by": by, "payload": payload}
    story.wait(0.002)
    failed_step = f"desk/{desk_id}/failed"
    story.step(
        failed_step,
        attempts=1,
        starts=1,
        finished=story.t,
        output={"deskId": desk_id, "detail": message, **detail},
    )
    story.ev("desk.failed", failed_step, {"deskId": desk_id, "detail": message, **detail})
    error = {
        "code": "DESK_FAILED",
        "message": f"DeskFailed: {message}",
        "traceback": "Traceback (most recent call last):\n"
        '  File "/app/workflows/_engine.py", line 742, in execute\n'
        "    output = function.body(ctx, step)\n"
        '  File "/app/coordination/workflows.py", line 48, in run_workflow\n'
        "    outputs[desk_id] = _run_desk(ctx, step, spec, desk, payload)\n"
        '  File "/app/coordination/workflows.py", line 172, in _human_wait\n'
        "    _fail_desk(\n"
        '  File "/app/coordination/workflows.py", line 195, in _fail_desk\n'
        "    raise DeskFailed(message)\n"
        f"coordination.workflows.DeskFailed: {message}\n",
    }
    story.ev("run.failed", payload={"error": _public(error)})
    story.status, story.error, story.finished, story.wake = "failed", error, story.t, None


# -- the big timelines ------------------------------------------------------------------------
def _big_story(index: int, seed: int, now: datetime, workflows: list[dict[str, Any]]) -> _Story:
    """A completed coordination run whose timeline has exactly ``BIG_TIMELINE_ROWS`` rows: its
    execution desk reports progress (``desk.progress``) every 1.5 s while it works."""
    rng = _rng(seed, 10_000_000 + index, 1)
    document = next((w for w in workflows if w["workflowId"] == "linear-review"), workflows[0])
    story = _Story(big_id(index), EXECUTOR, "coordination", rng, now)
    story.principal = "user:ops-chen"
    story.correlation_id = _hex(rng)
    _coordination_story(story, "completed", document, rng)
    kinds = {d["deskId"]: d.get("kind") for d in document["desks"]}
    executes = [
        i
        for i, e in enumerate(story.events)
        if e[0] == "step.completed" and e[1].endswith("/execute")
    ]
    target = next(
        (i for i in executes if kinds.get(story.events[i][1].split("/")[1]) == "desk:execution"),
        executes[-1],
    )
    step_id = story.events[target][1]
    desk_id = step_id.split("/")[1]
    missing = BIG_TIMELINE_ROWS - len(story.events)
    start, per = story.events[target - 1][3], 1.5
    story.shift_after(start, missing * per)
    progress = [
        (
            "desk.progress",
            step_id,
            {"deskId": desk_id, "processed": (i + 1) * 50, "total": missing * 50},
            start + (i + 1) * per * 0.999,
        )
        for i in range(missing)
    ]
    story.events[target:target] = progress
    story.idle = rng.uniform(3600, 3 * 86400)
    return story


# -- the command ------------------------------------------------------------------------------
def add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--runs",
        type=int,
        required=True,
        metavar="N",
        help="Seeded runs wanted in total (tops up; never duplicates).",
    )
    parser.add_argument(
        "--big-timelines",
        type=int,
        default=2,
        metavar="K",
        help=f"Coordination runs with {BIG_TIMELINE_ROWS:,} timeline rows each (default 2).",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="S",
        help="Random seed (default 0): same seed, same runs.",
    )
    parser.add_argument("--json", action="store_true", help="One JSON object on stdout.")


def run_command(options: dict[str, Any], out: TextIO, err: TextIO) -> int:
    if options["runs"] < 0 or options["big_timelines"] < 0:
        err.write("--runs and --big-timelines must be >= 0\n")
        return 2
    shown = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - shown[0] >= 2.0 or done == total:
            shown[0] = time.monotonic()
            err.write(f"  {done:,}/{total:,} runs\n")
            err.flush()

    report = seed_runs(
        runs=options["runs"],
        big_timelines=options["big_timelines"],
        seed=options["seed"],
        on_progress=progress if not options["json"] else None,
    )
    if options["json"]:
        out.write(json.dumps(report.as_json()) + "\n")
        return 0
    data = report.as_json()
    for label, key in (
        ("runs", "runs"),
        ("big-timeline runs", "bigTimelineRuns"),
        ("steps", "steps"),
        ("timeline rows", "timelineRows"),
        ("approvals", "approvals"),
    ):
        c = data[key]
        out.write(f"{label:18} {c['created']:>11,} created {c['existing']:>11,} already there\n")
    out.write(
        f"{data['rowsCreated']:,} rows in {data['seconds']:.1f} s "
        f"({data['rowsPerSecond']:,} rows/s) on {data['database']}\n"
    )
    return 0
