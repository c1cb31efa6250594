"""Durable functions of the search capability (autodiscovered by the runtime)."""

from __future__ import annotations

from capabilities.search.contract import EnrichInput
from workflows import NonRetriableError, durable_function


@durable_function(
    "search.enrich",
    capability="search",
    input=EnrichInput,
    retries=3,
    concurrency=4,
    concurrency_key=lambda data: "all",
    idempotency_key=None,
)
def enrich(ctx, step) -> dict:
    """Extract a document's keywords and store them on it."""
    document = step.run("load-document", _load, ctx.input.document_id)
    keywords = step.run("extract-keywords", _extract, document["title"], document["body"])
    step.run("store-keywords", _store, ctx.input.document_id, keywords)
    return step.run(
        "record-result",
        lambda: {"documentId": ctx.input.document_id, "keywords": keywords, "count": len(keywords)},
    )


def _load(document_id: int) -> dict:
    from capabilities.search.selectors import document_get

    document = document_get(document_id=document_id)
    if document is None:
        raise NonRetriableError(f"document {document_id} does not exist", code="DOCUMENT_NOT_FOUND")
    return {"title": document.title, "body": document.body}


def _extract(title: str, body: str) -> list[str]:
    from capabilities.search.domain.keywords import extract_keywords

    return extract_keywords(title, body)


def _store(document_id: int, keywords: list[str]) -> dict:
    from capabilities.search.services import document_keywords_set

    return {"updated": document_keywords_set(document_id=document_id, keywords=keywords)}
