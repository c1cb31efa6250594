"""``/rpc/<capability>/<procedure>``: every procedure, oRPC RPC wire format, first-party only.

Derived from the registered contracts; no capability writes code for it.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Router

from rawr_site.contract.errors import RawrError
from rawr_site.contract.procedure import Contract, Procedure
from rawr_site.transports import wire
from rawr_site.transports.execution import read_json_body, run_procedure


def _read_rpc_input(proc: Procedure):
    def read(request: HttpRequest) -> Any:
        if request.method == "GET":
            data = request.GET.get("data")
            if data is None:
                return None
            envelope = wire.loads_input(data)
        else:
            envelope = read_json_body(request)
            if envelope is None:
                return None
        return wire.rpc_decode(envelope)

    return read


def _write_rpc_output(proc: Procedure, output: Any) -> HttpResponse:
    value = proc.dump_output(output, mode="python")
    return wire.rpc_success_response(value)


def _write_rpc_error(error: RawrError, defined: bool) -> HttpResponse:
    return wire.rpc_error_response(error, defined=defined)


def make_rpc_view(proc: Procedure):
    read = _read_rpc_input(proc)

    def rpc_view(request: HttpRequest, **_: Any) -> HttpResponse:
        # Like oRPC's RPCHandler: GET only for procedures whose route is GET (reads), so a
        # cross-site <img src> can never trigger a write through a session cookie.
        if request.method == "GET" and proc.method != "GET":
            return wire.rpc_error_response(
                RawrError("METHOD_NOT_SUPPORTED", 405, f"{proc.key} must be called with POST")
            )
        return run_procedure(
            request,
            proc,
            family="rpc",
            read_input=read,
            write_output=_write_rpc_output,
            write_error=_write_rpc_error,
        )

    rpc_view.__name__ = f"rpc_{proc.capability}_{proc.name}"
    return rpc_view


def build_rpc_api(contracts: list[Contract]) -> NinjaAPI:
    api = NinjaAPI(
        title="RAWR first-party RPC",
        urls_namespace="rpc",
        docs_url=None,
        openapi_url=None,
    )
    for contract in contracts:
        router = Router(tags=[contract.capability])
        for proc in contract:
            router.add_api_operation(
                f"/{proc.name}",
                ["GET", "POST"],
                make_rpc_view(proc),
                operation_id=f"rpc_{proc.operation_id}",
                include_in_schema=False,
                url_name=f"{proc.capability}.{proc.name}",
            )
        api.add_router(f"/{contract.capability}/", router)
    return api
