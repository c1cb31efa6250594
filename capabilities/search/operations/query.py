from __future__ import annotations

from capabilities.search import selectors
from capabilities.search.contract import QueryHit, QueryInput, QueryResult, StatsResult, contract
from rawr_site.contract import BoundaryContext


@contract.implement("query")
def query(ctx: BoundaryContext, data: QueryInput) -> QueryResult:
    hits, total = selectors.document_search(q=data.q, limit=data.limit, tags=data.tags)
    return QueryResult(
        results=[
            QueryHit(
                document_id=hit.document.pk,
                title=hit.document.title,
                snippet=hit.snippet,
                tags=hit.document.tags,
                score=hit.score,
            )
            for hit in hits
        ],
        total=total,
    )


@contract.implement("stats")
def stats(ctx: BoundaryContext, data: None) -> StatsResult:
    documents, tags = selectors.document_stats()
    return StatsResult(documents=documents, tags=tags)
