from __future__ import annotations

from django.contrib.postgres.search import SearchVectorField
from django.db import models


class Document(models.Model):
    """A searchable document. ``search_vector`` is maintained by ``services`` on Postgres.

    On SQLite the column exists but stays empty (SQLite accepts any column type name);
    selectors fall back to a simpler term-matching ranker there.
    """

    title = models.CharField(max_length=300)
    body = models.TextField(blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    search_vector = SearchVectorField(null=True, editable=False)
    #: Set by the ``search.enrich`` durable workflow.
    keywords = models.JSONField(default=list, blank=True)
    enriched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title
