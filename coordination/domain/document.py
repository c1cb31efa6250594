"""The shape of a ``CoordinationWorkflowV1`` document, with the original's wire names.

These models answer one question: is the document *structurally* usable (required keys
present, each with the right JSON type)? A document that is not gets a 400 ``BAD_REQUEST``
with ``issues``. Everything about *meaning* is left to ``validation.validate_workflow``, so
the shape deliberately accepts what the validator must be able to report: any string as a
desk ``kind`` (``UNKNOWN_DESK_KIND``), anything as ``memoryScope`` (``INVALID_MEMORY_SCOPE``),
any string as an id (``INVALID_*_ID_FORMAT``), an empty ``workflowId`` or ``entryDeskId``.

Unknown keys are allowed at every level. The models are never dumped back: storage keeps
the caller's own dict, so a document round-trips exactly, extra keys included.

JSON numbers follow JavaScript: an "integer" is any number with no fractional part (``3``
or ``3.0``), never a boolean.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

__all__ = [
    "DESK_KINDS_V1",
    "CoordinationWorkflowV1",
    "DeskDefinitionV1",
    "DocumentShapeError",
    "HandoffDefinitionV1",
    "RuntimePolicyV1",
    "check_document_shape",
    "is_json_integer",
    "iso_timestamp",
    "parse_document",
]

#: The desk kinds the original knows, in its order.
DESK_KINDS_V1: tuple[str, ...] = (
    "desk:analysis",
    "desk:execution",
    "desk:qa",
    "desk:join",
    "desk:human-wait",
    "desk:observer",
)


def is_json_integer(value: object) -> bool:
    """``Number.isInteger(value)``: an int or a finite integral float, never a bool."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def iso_timestamp(moment: datetime) -> str:
    """``Date.prototype.toISOString()`` (the format of ``updatedAt``): UTC, ms, ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json_integer(value: Any) -> Any:
    if not is_json_integer(value):
        raise PydanticCustomError("int_type", "Input should be an integer")
    return value


def _non_negative_json_integer(value: Any) -> Any:
    _json_integer(value)
    if value < 0:
        raise PydanticCustomError(
            "greater_than_equal", "Input should be greater than or equal to 0"
        )
    return value


JsonInteger = Annotated[int | float, PlainValidator(_json_integer)]
NonNegativeJsonInteger = Annotated[int | float, PlainValidator(_non_negative_json_integer)]


class _Shape(BaseModel):
    # strict: no coercion ("1" is not a number, 1 is not a string); extra keys are kept.
    # Optional fields default to None without validating it, so an explicit JSON null
    # for an optional string is refused (the original's ``Type.Optional(Type.String())``).
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


class RuntimePolicyV1(_Shape):
    retries: NonNegativeJsonInteger = Field(default=None)
    timeoutSeconds: NonNegativeJsonInteger = Field(default=None)
    priority: Literal["low", "normal", "high"] = Field(default=None)


class DeskDefinitionV1(_Shape):
    deskId: str
    kind: str
    name: str
    responsibility: str
    domain: str
    inputSchema: dict[str, Any]
    outputSchema: dict[str, Any]
    #: Checked by the validator (``INVALID_MEMORY_SCOPE``), so any value passes here.
    memoryScope: Any = None
    runtimePolicy: RuntimePolicyV1 = Field(default=None)


class HandoffDefinitionV1(_Shape):
    handoffId: str
    fromDeskId: str
    toDeskId: str
    condition: str = Field(default=None)
    mappingRefs: dict[str, str] = Field(default=None)


class CoordinationWorkflowV1(_Shape):
    workflowId: str
    #: Optional here: saving assigns the next version number whatever the caller sent.
    version: JsonInteger = Field(default=None)
    name: str
    description: str = Field(default=None)
    entryDeskId: str
    desks: list[DeskDefinitionV1]
    handoffs: list[HandoffDefinitionV1]
    observabilityProfile: Literal["basic", "full"] = Field(default=None)
    updatedAt: str = Field(default=None)


class DocumentShapeError(ValueError):
    """A document that is not structurally a ``CoordinationWorkflowV1``; see ``issues``."""

    def __init__(self, issues: list[dict[str, Any]]) -> None:
        self.issues = issues
        first = issues[0] if issues else {"message": "invalid document", "path": []}
        where = ".".join(str(part) for part in first.get("path", [])) or "document"
        super().__init__(f"{where}: {first['message']}")


def _issues(exc: ValidationError) -> list[dict[str, Any]]:
    # Same shape as the contract toolkit's issues: code + path + message.
    return [
        {"code": err["type"], "path": list(err["loc"]), "message": err["msg"]}
        for err in exc.errors(include_url=False)
    ]


def check_document_shape(document: object) -> list[dict[str, Any]]:
    """The structural issues of ``document`` (empty when it is usable)."""
    if not isinstance(document, Mapping):
        return [{"code": "model_type", "path": [], "message": "Document must be a JSON object"}]
    try:
        CoordinationWorkflowV1.model_validate(dict(document))
    except ValidationError as exc:
        return _issues(exc)
    return []


def parse_document(document: object) -> CoordinationWorkflowV1:
    """A typed, read-only view of ``document``; raises ``DocumentShapeError`` if malformed."""
    issues = check_document_shape(document)
    if issues:
        raise DocumentShapeError(issues)
    assert isinstance(document, Mapping)
    return CoordinationWorkflowV1.model_validate(dict(document))
