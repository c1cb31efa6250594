"""Base class for contract payload shapes.

Wire names are camelCase (as in the TypeScript original) while Python code keeps
snake_case attributes; both names are accepted on input.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class Schema(BaseModel):
    """A contract payload. Unknown keys are ignored, as zod objects do by default."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        from_attributes=True,
        extra="ignore",
    )
    #: Output models that set this leave ``None`` fields out of the wire JSON (the way a
    #: TypeScript ``field?: T`` is absent rather than null).
    wire_omit_none: ClassVar[bool] = False
