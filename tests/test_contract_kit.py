"""The contract toolkit: declaration rules, registry, context and query-string input."""

from __future__ import annotations

import json

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


# -- permissions declared in the contract ------------------------------------------------
PERMISSION = "auth.view_user"


def _guarded_contract(ran: list[str]) -> Contract:
    """A tiny contract whose procedures need ``auth.view_user`` and record that they ran."""
    contract = Contract("demo")
    contract.procedure(
        "peek",
        input=None,
        output=Ping,
        route=("GET", "/demo/peek"),
        visibility="external",
        summary="p",
        permission=PERMISSION,
    )
    contract.procedure(
        "echo",
        input=Ping,
        output=Ping,
        route=("POST", "/demo/echo"),
        visibility="internal",
        summary="e",
        permission=PERMISSION,
    )

    @contract.implement("peek")
    def peek(ctx: BoundaryContext, data: None) -> Ping:
        ran.append(ctx.principal.label())
        return Ping(message="secret")

    contract.implement("echo")(lambda ctx, data: ran.append("echo") or data)
    return contract


def _user_with(*codenames: str):
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    user = UserFactory()
    for codename in codenames:
        app_label, code = codename.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=code)
        )
    return type(user).objects.get(pk=user.pk)  # fresh: no stale permission cache


def test_a_malformed_permission_is_reported() -> None:
    contract = Contract("demo")
    contract.procedure(
        "p",
        input=None,
        output=None,
        route=("GET", "/demo/p"),
        visibility="internal",
        summary="p",
        permission="decide approval",
    )
    contract.implement("p")(lambda ctx, data: None)
    assert contract.problems() == [
        "demo.p: permission 'decide approval' must be 'app_label.codename'"
    ]


@pytest.mark.django_db
def test_declared_permission_is_enforced_on_rpc_published_and_client_calls() -> None:
    from django.test import RequestFactory

    from rawr_site.contract.client import CapabilityClient
    from rawr_site.host.principals import principal_for_user
    from rawr_site.transports.openapi import make_published_view
    from rawr_site.transports.rpc import make_rpc_view

    ran: list[str] = []
    contract = _guarded_contract(ran)
    peek = contract.get("peek")
    views = {"rpc": make_rpc_view(peek), "published": make_published_view(peek)}
    plain, allowed = _user_with(), _user_with(PERMISSION)

    for family, view in views.items():
        request = RequestFactory().get("/x")
        request.user = plain
        response = view(request)
        assert response.status_code == 403, family
        body = json.loads(response.content)
        error = body["json"] if family == "rpc" else body
        assert error["code"] == "FORBIDDEN" and error["status"] == 403
        assert f"Permission '{PERMISSION}' is required to call demo.peek" == error["message"]
        assert error["data"] == {"permission": PERMISSION}
        assert ran == [], "a refused call must not run the handler"

        request = RequestFactory().get("/x")
        request.user = allowed
        response = view(request)
        assert response.status_code == 200, (family, response.content)
        assert ran.pop() == f"user:{allowed.username}"

    # API keys keep the scope rule: a key within its scopes may call it, no Django perm.
    key = issue_key(name="scoped", scopes=["demo"])
    request = RequestFactory().get("/x", HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    request.user = plain
    assert views["published"](request).status_code == 200
    assert ran.pop() == f"api_key:{key.api_key.prefix}"

    # In-process: the system principal is trusted; a user principal is checked, before
    # the input is even validated (a refused caller learns nothing about the input rules).
    client = CapabilityClient(contract)
    assert client.echo(message="hi").message == "hi"
    as_plain = BoundaryContext.internal(principal=principal_for_user(plain))
    with pytest.raises(RawrError) as refused:
        client.echo({"nonsense": 1}, ctx=as_plain)
    assert (refused.value.code, refused.value.status) == ("FORBIDDEN", 403)
    as_allowed = BoundaryContext.internal(principal=principal_for_user(allowed))
    assert client.echo(message="ok", ctx=as_allowed).message == "ok"
    assert ran == ["echo", "echo"]


def test_a_user_principal_without_has_perm_holds_no_permission() -> None:
    from rawr_site.contract.context import Principal

    bare = Principal(kind="user", id="1", name="bare", first_party=True)
    assert bare.holds(PERMISSION) is False
    assert Principal(kind="api_key", id="k", name="k", first_party=False).holds(PERMISSION)
