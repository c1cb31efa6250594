"""Template filters of the console: ``{{ run.created_at|when }}``, ``{{ seconds|duration }}``.

They wrap ``workflows.admin.display`` so templates and ``list_display`` columns agree.
"""

from __future__ import annotations

from typing import Any

from django import template

from workflows.admin import display

register = template.Library()

register.filter("when", display.when)
register.filter("exact_time", display.exact_time)
register.filter("relative_time", display.relative_time)
register.filter("duration", display.duration)
register.filter("status_badge", display.status_badge)
register.filter("folded_json", display.folded_json)
register.filter("json_text", display.json_text)


@register.simple_tag
def span(start: Any, end: Any) -> str:
    return display.span(start, end)
