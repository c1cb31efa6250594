"""Stored coordination workflows (immutable versions) and desk memory.

Every save appends a ``WorkflowVersion``; the highest version of a workflow id is its
current one, and a run pins the version it started with. ``Desk`` and ``Handoff`` rows
repeat parts of ``document`` for the admin and for queries; the document itself is the
source of truth. All writes go through ``coordination.services``.
"""

from __future__ import annotations

from django.db import models

from workflows.models import safe_id_validator


class WorkflowVersion(models.Model):
    workflow_id = models.CharField(max_length=128, validators=[safe_id_validator])
    version = models.PositiveIntegerField()
    name = models.TextField()
    entry_desk_id = models.CharField(max_length=128)
    #: The saved CoordinationWorkflowV1 document, ``version`` and ``updatedAt`` included.
    document = models.JSONField()
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["workflow_id", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow_id", "version"], name="coordination_workflow_version_unique"
            )
        ]
        indexes = [
            models.Index(fields=["workflow_id", "-version"], name="coordination_wf_latest_idx"),
            models.Index(fields=["-created_at"], name="coordination_wf_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} v{self.version}"


class Desk(models.Model):
    workflow_version = models.ForeignKey(
        WorkflowVersion, on_delete=models.CASCADE, related_name="desks"
    )
    #: Not unique: an invalid document is never stored, but ids are kept verbatim.
    desk_id = models.CharField(max_length=128)
    kind = models.CharField(max_length=64)
    name = models.TextField()
    domain = models.TextField(blank=True, default="")
    #: Index in the document's ``desks`` list.
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["workflow_version", "position"]
        indexes = [models.Index(fields=["kind"], name="coordination_desk_kind_idx")]

    def __str__(self) -> str:
        return self.desk_id


class Handoff(models.Model):
    workflow_version = models.ForeignKey(
        WorkflowVersion, on_delete=models.CASCADE, related_name="handoffs"
    )
    handoff_id = models.CharField(max_length=128)
    from_desk_id = models.CharField(max_length=128)
    to_desk_id = models.CharField(max_length=128)
    #: The handoff's ``condition`` ("" when absent: always taken).
    condition = models.TextField(blank=True, default="")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["workflow_version", "position"]

    def __str__(self) -> str:
        return f"{self.handoff_id}: {self.from_desk_id} -> {self.to_desk_id}"


class DeskMemory(models.Model):
    """One remembered value of a desk, for one workflow version (reads never cross versions)."""

    workflow_id = models.CharField(max_length=128)
    workflow_version = models.PositiveIntegerField()
    desk_id = models.CharField(max_length=128)
    key = models.CharField(max_length=255)
    data = models.JSONField(null=True)
    #: ``None``: never expires. Expired rows are ignored by reads (not deleted by them).
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "desk memory"
        ordering = ["workflow_id", "workflow_version", "desk_id", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["workflow_id", "workflow_version", "desk_id", "key"],
                name="coordination_desk_memory_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.workflow_id} v{self.workflow_version} {self.desk_id}:{self.key}"
