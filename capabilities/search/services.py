"""Writes of the search capability."""

from __future__ import annotations

from django.contrib.postgres.search import SearchVector
from django.db import connection, transaction
from django.utils import timezone

from capabilities.search.models import Document


def _index_vector() -> SearchVector:
    return SearchVector("title", weight="A", config="english") + SearchVector(
        "body", weight="B", config="english"
    )


@transaction.atomic
def document_index(*, title: str, body: str = "", tags: list[str] | None = None) -> Document:
    """Create a document and, on Postgres, its search vector in the same transaction."""
    document = Document.objects.create(title=title, body=body, tags=sorted(set(tags or [])))
    if connection.vendor == "postgresql":
        Document.objects.filter(pk=document.pk).update(search_vector=_index_vector())
    return document


def document_keywords_set(*, document_id: int, keywords: list[str]) -> int:
    """Store extracted keywords. Idempotent (a retried step writes the same value)."""
    return Document.objects.filter(pk=document_id).update(
        keywords=keywords, enriched_at=timezone.now()
    )
