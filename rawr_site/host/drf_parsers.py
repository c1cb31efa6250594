"""DRF's JSON parser with the host's strict JSON (see ``rawr_site.strict_json``).

DRF's own ``JSONParser`` refuses ``NaN`` but accepts ``1e309`` (stored as ``inf``) and
lets ``RecursionError`` from over-deep nesting escape as a 500.
"""

from __future__ import annotations

import codecs
from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from rawr_site import strict_json


class StrictJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError("Malformed JSON: the body is not UTF-8 text") from exc
        try:
            return strict_json.loads(text)
        except strict_json.StrictJSONError as exc:
            raise ParseError(str(exc)) from exc
