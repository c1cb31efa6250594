"""Reads of the search capability."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.contrib.postgres.search import SearchHeadline, SearchQuery, SearchRank
from django.db import connection
from django.db.models import F

from capabilities.search.domain.text import query_terms, snippet, term_score
from capabilities.search.models import Document

#: Candidate cap for the portable ranker (it ranks in Python).
PORTABLE_SCAN_LIMIT = 5000


@dataclass(frozen=True)
class Hit:
    document: Document
    score: float
    snippet: str


def document_get(*, document_id: int) -> Document | None:
    return Document.objects.filter(pk=document_id).first()


def document_search(*, q: str, limit: int, tags: list[str]) -> tuple[list[Hit], int]:
    """Ranked hits (best first, ties by newest) and the total number of matches."""
    if connection.vendor == "postgresql":
        return _search_postgres(q=q, limit=limit, tags=tags)
    return _search_portable(q=q, limit=limit, tags=tags)


def _search_postgres(*, q: str, limit: int, tags: list[str]) -> tuple[list[Hit], int]:
    query = SearchQuery(q, search_type="websearch", config="english")
    matches = Document.objects.filter(search_vector=query)
    if tags:
        matches = matches.filter(tags__contains=sorted(set(tags)))
    total = matches.count()
    ranked = matches.annotate(
        rank=SearchRank(F("search_vector"), query),
        headline=SearchHeadline(
            "body", query, config="english", max_words=30, min_words=10, start_sel="", stop_sel=""
        ),
    ).order_by("-rank", "-id")[:limit]
    return [Hit(doc, round(float(doc.rank), 6), doc.headline or "") for doc in ranked], total


def _search_portable(*, q: str, limit: int, tags: list[str]) -> tuple[list[Hit], int]:
    terms = query_terms(q)
    if not terms:
        return [], 0
    candidates = Document.objects.all()
    for term in terms:
        candidates = candidates.filter(title__icontains=term) | candidates.filter(
            body__icontains=term
        )
    wanted = set(tags)
    hits = []
    for doc in candidates.order_by("-id")[:PORTABLE_SCAN_LIMIT]:
        if wanted and not wanted.issubset(doc.tags):
            continue
        hits.append(Hit(doc, term_score(terms, doc.title, doc.body), snippet(doc.body, terms)))
    hits.sort(key=lambda hit: (-hit.score, -hit.document.pk))
    return hits[:limit], len(hits)


def document_stats() -> tuple[int, dict[str, int]]:
    counter: Counter[str] = Counter()
    for tags in Document.objects.values_list("tags", flat=True).iterator():
        counter.update(tags or [])
    return Document.objects.count(), dict(sorted(counter.items()))
