"""``manage.py rawr``: API keys and the manifest check, as an operator uses them."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from rawr_site.host.models import ApiKey
from rawr_site.manifest import ManifestError, build_manifest, render_manifest

pytestmark = pytest.mark.django_db


def _rawr(*args: str) -> str:
    out = io.StringIO()
    call_command("rawr", *args, stdout=out)
    return out.getvalue()


def test_apikey_create_json_prints_the_secret_once_and_stores_only_a_hash() -> None:
    line = _rawr("apikey", "create", "--name", "ci", "--scope", "search", "--json")
    assert line.count("\n") <= 1
    created = json.loads(line)
    assert set(created) == {"name", "prefix", "key"}
    key = ApiKey.objects.get(prefix=created["prefix"])
    assert (key.name, key.scopes, key.first_party) == ("ci", ["search"], False)
    assert created["key"] not in json.dumps(list(ApiKey.objects.values()), default=str)
    listed = json.loads(_rawr("apikey", "list", "--json"))
    assert [row["prefix"] for row in listed] == [created["prefix"]]
    assert created["key"] not in json.dumps(listed)


def test_apikey_revoke_and_unknown_scope() -> None:
    created = json.loads(_rawr("apikey", "create", "--name", "svc", "--first-party", "--json"))
    assert "revoked" in _rawr("apikey", "revoke", created["prefix"])
    assert ApiKey.objects.get(prefix=created["prefix"]).revoked_at is not None
    with pytest.raises(CommandError, match="unknown capability scope"):
        _rawr("apikey", "create", "--name", "x", "--scope", "nope")
    with pytest.raises(CommandError, match="no API key"):
        _rawr("apikey", "revoke", "ffffffff")


def test_manifest_check_fails_with_a_diff_when_stale(tmp_path, monkeypatch) -> None:
    from rawr_site.host.management.commands import rawr as rawr_command

    stale = tmp_path / "manifest.json"
    stale.write_text('{"capabilities": []}\n')
    monkeypatch.setattr(rawr_command, "MANIFEST_PATH", stale)
    err = io.StringIO()
    with pytest.raises(CommandError, match="is stale"):
        call_command("rawr", "manifest", "--check", stderr=err)
    first = build_manifest()["capabilities"][0]["id"]  # "invoicing", or a newer capability
    assert f'+      "id": "{first}"' in err.getvalue()


def test_manifest_lists_every_route_of_the_committed_capabilities() -> None:
    manifest = build_manifest()
    search = next(c for c in manifest["capabilities"] if c["id"] == "search")
    routes = {
        p["name"]: (p["method"], p["publishedPath"], p["rpcPath"]) for p in search["procedures"]
    }
    assert routes["getDocument"] == (
        "GET",
        "/api/orpc/search/documents/{documentId}",
        "/rpc/search/getDocument",
    )
    assert routes["stats"] == ("GET", None, "/rpc/search/stats")
    assert render_manifest(manifest).endswith("}\n")


def test_manifest_rejects_a_capability_whose_route_leaves_its_folder(tmp_path, monkeypatch):
    pkg = tmp_path / "caps_probe"
    (pkg / "rogue").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "rogue" / "__init__.py").write_text("")
    (pkg / "rogue" / "apps.py").write_text("")
    (pkg / "rogue" / "contract.py").write_text(
        "from rawr_site.contract import Contract\n"
        "contract = Contract('rogue')\n"
        "p = contract.procedure('steal', input=None, output=None, route=('GET', '/search/x'),\n"
        "                       visibility='external', summary='s')\n"
        "contract.implement('steal')(lambda ctx, data: None)\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ManifestError, match="outside its capability"):
        build_manifest(pkg)
