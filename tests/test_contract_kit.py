"""The contract toolkit: declaration rules, registry, context and query-string input."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.test import Client

from capabilities.search.contract import QueryInput
from rawr_site.contract import BoundaryContext, Contract, ErrorSpec, RawrError, Schema
from rawr_site.contract.registry import register, temporarily_registered
from rawr_site.log_context import correlation_id_from_headers
from rawr_site.transports.querystring import parse_query
from tests.factories import issue_key


class Ping(Schema):
    message: str


def _contract_with(path: str) -> Contract:
    contract = Contract("demo")
    contract.procedure(
        "ping", input=Ping, output=Ping, route=("POST", path), visibility="external", summary="p"
    )
    contract.implement("ping")(lambda ctx, data: data)
    return contract


def test_a_route_outside_its_capability_is_reported() -> None:
    assert _contract_with("/demo/ping").problems() == []
    problems = _contract_with("/other/ping").problems()
    assert problems == [
        "demo.ping: route path '/other/ping' is outside its capability "
        "(it must start with '/demo/')"
    ]


def test_declaring_or_implementing_twice_raises() -> None:
    contract = _contract_with("/demo/ping")
    with pytest.raises(ValueError, match="declared twice"):
        contract.procedure(
            "ping",
            input=None,
            output=None,
            route=("GET", "/demo/x"),
            visibility="internal",
            summary="again",
        )
    with pytest.raises(ValueError, match="already has a handler"):
        contract.implement("ping")(lambda ctx, data: data)


def test_registering_a_capability_twice_raises() -> None:
    with temporarily_registered(_contract_with("/demo/ping")), pytest.raises(ValueError):
        register(_contract_with("/demo/ping"))


def test_missing_handler_and_path_param_typos_are_reported() -> None:
    contract = Contract("demo")
    contract.procedure(
        "get",
        input=Ping,
        output=Ping,
        route=("GET", "/demo/{nope}"),
        visibility="external",
        summary="g",
    )
    problems = contract.problems()
    assert any("path params ['nope'] are not fields" in p for p in problems)
    assert any("no handler" in p for p in problems)


def test_defined_flag_follows_the_contract_declaration() -> None:
    spec = ErrorSpec("THING_GONE", 410, "Gone")
    contract = Contract("demo")
    proc = contract.procedure(
        "get",
        input=None,
        output=None,
        route=("GET", "/demo/x"),
        visibility="internal",
        summary="g",
        errors=[spec],
    )
    assert proc.is_defined(spec()) is True
    assert proc.is_defined(RawrError("NOT_FOUND")) is False


def test_handler_receives_the_boundary_context() -> None:
    seen: list[BoundaryContext] = []
    contract = Contract("demo")
    contract.procedure(
        "who",
        input=None,
        output=Ping,
        route=("POST", "/demo/who"),
        visibility="external",
        summary="w",
    )

    @contract.implement("who")
    def who(ctx: BoundaryContext, data: None) -> Ping:
        seen.append(ctx)
        return Ping(message=ctx.principal.label())

    ctx = BoundaryContext.internal(correlation_id="cid-1")
    assert contract.get("who").call(ctx, None).message == "system"
    assert (seen[0].capability, seen[0].procedure, seen[0].correlation_id) == (
        "demo",
        "who",
        "cid-1",
    )


@pytest.mark.django_db
def test_http_context_carries_principal_mode_and_request_id(monkeypatch) -> None:
    from capabilities.search import selectors
    from capabilities.search.contract import contract as search_contract

    captured: list[BoundaryContext] = []
    original = search_contract.get("stats").handler

    def spy(ctx, data):
        captured.append(ctx)
        return original(ctx, data)

    monkeypatch.setattr(search_contract.get("stats"), "handler", spy)
    monkeypatch.setattr(selectors, "document_stats", lambda: (0, {}))
    token = issue_key(name="svc", first_party=True)
    response = Client().post(
        "/rpc/search/stats",
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token.secret}",
        HTTP_X_REQUEST_ID="req-42",
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-42"
    ctx = captured[0]
    assert ctx.correlation_id == "req-42"
    assert ctx.caller_mode == "first-party"
    assert ctx.principal.label() == f"api_key:{token.api_key.prefix}"
    assert (ctx.capability, ctx.procedure, ctx.transport) == ("search", "stats", "rpc")


def test_correlation_id_sources() -> None:
    trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert correlation_id_from_headers("abc-123", trace) == "abc-123"
    assert correlation_id_from_headers(None, trace) == "4bf92f3577b34da6a3ce929d0e0e4736"
    generated = correlation_id_from_headers("<script>", "garbage")
    assert len(generated) == 32 and generated.isalnum()


@pytest.mark.django_db
def test_every_response_echoes_a_generated_request_id() -> None:
    response = Client().get("/api/orpc/search/query?q=x")
    assert response.status_code == 401
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.parametrize(
    "query",
    [
        "q=tea&tags=a&tags=b&limit=5",
        "q=tea&tags%5B0%5D=a&tags%5B1%5D=b&limit=5",
        "q=tea&tags[1]=b&tags[0]=a&limit=5",
        "q=tea&tags[]=a&tags[]=b&limit=5",
    ],
)
def test_form_style_and_bracket_notation_parse_to_the_same_input(query: str) -> None:
    raw = parse_query(QueryDict(query), QueryInput)
    assert raw == {"q": "tea", "tags": ["a", "b"], "limit": "5"}
    assert QueryInput.model_validate(raw).limit == 5


def test_single_value_for_an_array_field_becomes_a_list_and_nesting_works() -> None:
    assert parse_query(QueryDict("q=x&tags=only"), QueryInput) == {"q": "x", "tags": ["only"]}
    assert parse_query(QueryDict("filter[k]=v&filter[n][0]=1"), None) == {
        "filter": {"k": "v", "n": ["1"]}
    }
    assert parse_query(QueryDict(""), QueryInput) is None
