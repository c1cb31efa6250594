"""Render the published OpenAPI document exactly as ``/api/schema/`` serves it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer


def published_schema() -> dict[str, Any]:
    generator = SchemaGenerator()
    return generator.get_schema(request=None, public=True)


def render_schema_yaml() -> str:
    return OpenApiYamlRenderer().render(published_schema(), renderer_context={}).decode()
