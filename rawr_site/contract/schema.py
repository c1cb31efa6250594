"""Base class for contract payload shapes.

Wire names are camelCase (as in the TypeScript original) while Python code keeps
snake_case attributes; both names are accepted on input.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, GetJsonSchemaHandler
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema
from pydantic_core import core_schema as cs


class Schema(BaseModel):
    """A contract payload. Unknown keys are ignored, as zod objects do by default."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        from_attributes=True,
        extra="ignore",
        # Outputs always carry every field (``null`` when empty), so the published output
        # schema lists them all as required; inputs keep their defaults optional.
        json_schema_serialization_defaults_required=True,
    )
    #: Kept for old capability code: outputs are never trimmed any more (every declared
    #: field is on the wire, ``null`` when empty), whatever a model sets here.
    wire_omit_none: ClassVar[bool] = False


class DocumentedAs:
    """``Annotated[dict[str, Any], DocumentedAs(Model)]``: validated as the plain type, published
    as ``Model``'s schema (a named component).

    For documents a service validates itself (and stores exactly as sent, unknown keys
    included), so the published schema is still the real shape instead of an untyped
    object.
    """

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        # Handed over as a reference to the model's definition, so the generator emits one
        # named component (``$ref``) instead of a copy at every use.
        core = self.model.__pydantic_core_schema__
        root, definitions = core, []
        if core["type"] == "definitions":
            root, definitions = core["schema"], list(core["definitions"])
        ref = root.get("ref")
        if ref is None:
            return handler(core)
        return handler(
            cs.definitions_schema(cs.definition_reference_schema(ref), [root, *definitions])
        )

    def __repr__(self) -> str:
        return f"DocumentedAs({self.model.__name__})"
