"""``manage.py rawr``: the operator's command.

The host's subcommands: ``manifest [--check]``, ``schema [--check]``,
``apikey create|list|revoke`` and ``demo``. Apps add theirs from an autodiscovered
``rawr_cli.py`` (``rawr_site.host.cli_registry``): coordination's ``workflow`` and ``seed``,
the durable runtime's ``doctor``, ``runs`` and ``sweep``; the host imports none of them.
Exit codes: 0 ok, 1 failure (stale file, unknown key, failed doctor run), 2 bad usage,
3 doctor timeout (no worker, or too slow).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rawr_site.host.cli_registry import discover, subcommands
from rawr_site.manifest import BASE_DIR, MANIFEST_PATH, render_manifest

SCHEMA_PATH = BASE_DIR / "openapi" / "rawr.yaml"


class Command(BaseCommand):
    help = "RAWR HQ operations: manifest, schema, API keys, demo data, runtime checks."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, parser_class=type(parser))

        manifest = sub.add_parser("manifest", help="Write (or --check) the capability manifest.")
        manifest.add_argument("--check", action="store_true", help="Fail if the file is stale.")
        manifest.add_argument("--emit", action="store_true", help=argparse.SUPPRESS)

        schema = sub.add_parser("schema", help="Write (or --check) openapi/rawr.yaml.")
        schema.add_argument("--check", action="store_true", help="Fail if the file is stale.")

        apikey = sub.add_parser("apikey", help="Create, list or revoke API keys.")
        keys = apikey.add_subparsers(dest="action", required=True, parser_class=type(parser))
        create = keys.add_parser("create", help="Create a key; prints the secret once.")
        create.add_argument("--name", required=True)
        create.add_argument("--first-party", action="store_true", help="Service token for /rpc.")
        create.add_argument("--scope", action="append", default=[], metavar="CAPABILITY")
        create.add_argument("--json", action="store_true", help="One JSON line.")
        listing = keys.add_parser("list", help="List keys (prefixes only).")
        listing.add_argument("--json", action="store_true")
        revoke = keys.add_parser("revoke", help="Revoke a key by prefix.")
        revoke.add_argument("prefix")

        demo = sub.add_parser("demo", help="Create demo documents (idempotent).")
        demo.add_argument("--staff-user", action="store_true", help="Also create demo/demo.")

        discover()
        for contributed in subcommands():
            contributed.add_arguments(sub.add_parser(contributed.name, help=contributed.help))

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["subcommand"]
        handler = getattr(self, f"_cmd_{name}", None)
        if handler is not None:
            handler(options)
            return
        contributed = next(c for c in subcommands() if c.name == name)
        code = contributed.handle(options, self.stdout, self.stderr)
        if code:
            sys.exit(code)

    # -- manifest --------------------------------------------------------------------
    def _manifest_bundle(self) -> dict[str, Any]:
        """The manifest and the TypeScript files, computed from this process's apps."""
        from rawr_site.manifest import build_manifest
        from rawr_site.mfe.typegen import generated_type_files

        return {"manifest": render_manifest(build_manifest()), "types": generated_type_files()}

    def _cmd_manifest(self, options: dict[str, Any]) -> None:
        from rawr_site.manifest import ManifestError

        if options["emit"]:
            try:
                bundle = self._manifest_bundle()
            except ManifestError as exc:
                self.stderr.write(str(exc))
                sys.exit(1)
            self.stdout.write(json.dumps(bundle), ending="")
            return
        if os.environ.get("RAWR_MANIFEST_SCAN") == "1":
            # This process already installs every app on disk (startcapability's child does
            # the manifest and the schema in one process): no second child needed.
            try:
                bundle = self._manifest_bundle()
            except ManifestError as exc:
                raise CommandError(f"capabilities do not form a valid manifest:\n{exc}") from exc
        else:
            bundle = self._manifest_bundle_from_child()
        check = options["check"]
        self._write_or_check(MANIFEST_PATH, bundle["manifest"], check, "manifest", "rawr manifest")
        self._write_or_check_types(bundle["types"], check)

    def _manifest_bundle_from_child(self) -> dict[str, Any]:
        # A child process scans capabilities/ with every app on disk installed, so a new
        # capability is importable before the manifest lists it.
        env = {**os.environ, "RAWR_MANIFEST_SCAN": "1"}
        result = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
            [
                sys.executable,
                str(BASE_DIR / "manage.py"),
                "rawr",
                "manifest",
                "--emit",
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise CommandError(
                f"capabilities do not form a valid manifest:\n{result.stderr.strip()}"
            )
        return json.loads(result.stdout)

    def _write_or_check_types(self, files: dict[str, str], check: bool) -> None:
        """The MFE TypeScript declarations (``static/rawr/types``): one per capability."""
        from rawr_site.mfe.typegen import TYPES_DIR

        for name, content in sorted(files.items()):
            self._write_or_check(TYPES_DIR / name, content, check, "types", "rawr manifest")
        orphans = sorted(p for p in TYPES_DIR.glob("*.d.ts") if p.name not in files)
        for orphan in orphans:
            if check:
                raise CommandError(
                    f"{orphan.relative_to(BASE_DIR)} belongs to no capability: run "
                    "`python manage.py rawr manifest` and commit the result."
                )
            orphan.unlink()
            self.stdout.write(f"removed {orphan.relative_to(BASE_DIR)}")

    # -- schema ----------------------------------------------------------------------
    def _cmd_schema(self, options: dict[str, Any]) -> None:
        from rawr_site.schema_export import render_schema_yaml

        self._write_or_check(
            SCHEMA_PATH, render_schema_yaml(), options["check"], "schema", "rawr schema"
        )

    def _write_or_check(self, path: Path, fresh: str, check: bool, what: str, cmd: str) -> None:
        current = path.read_text() if path.exists() else ""
        rel = path.relative_to(BASE_DIR) if path.is_relative_to(BASE_DIR) else path
        if check:
            if current == fresh:
                self.stdout.write(f"{rel} is up to date.")
                return
            diff = difflib.unified_diff(
                current.splitlines(),
                fresh.splitlines(),
                f"{rel} (committed)",
                f"{rel} (generated)",
                lineterm="",
            )
            self.stderr.write("\n".join(list(diff)[:200]))
            raise CommandError(f"{rel} is stale: run `python manage.py {cmd}` and commit it.")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fresh)
        self.stdout.write(f"wrote {rel}")

    # -- api keys --------------------------------------------------------------------
    def _cmd_apikey(self, options: dict[str, Any]) -> None:
        from rawr_site.host.models import ApiKey
        from rawr_site.host.services import apikey_create, apikey_revoke

        action = options["action"]
        if action == "create":
            known = set(_capability_ids())
            unknown = [scope for scope in options["scope"] if scope not in known]
            if unknown:
                raise CommandError(
                    f"unknown capability scope(s): {', '.join(unknown)}", returncode=2
                )
            issued = apikey_create(
                name=options["name"], first_party=options["first_party"], scopes=options["scope"]
            )
            key = issued.api_key
            if options["json"]:
                self.stdout.write(
                    json.dumps({"name": key.name, "prefix": key.prefix, "key": issued.secret})
                )
            else:
                self.stdout.write(f"Created API key {key.name!r} (prefix {key.prefix}).")
                self.stdout.write("Copy the key now; it is not stored and cannot be shown again:")
                self.stdout.write(issued.secret)
        elif action == "list":
            rows = [
                {
                    "name": k.name,
                    "prefix": k.prefix,
                    "firstParty": k.first_party,
                    "scopes": k.scopes,
                    "revoked": k.revoked_at is not None,
                    "lastUsedAt": k.last_used_at.isoformat() if k.last_used_at else None,
                }
                for k in ApiKey.objects.order_by("created_at")
            ]
            if options["json"]:
                self.stdout.write(json.dumps(rows))
            else:
                for row in rows:
                    state = "revoked" if row["revoked"] else "active"
                    self.stdout.write(
                        f"{row['prefix']}  {state:8} {row['name']}  scopes={row['scopes']}"
                    )
        elif action == "revoke":
            key = ApiKey.objects.filter(prefix=options["prefix"]).first()
            if key is None:
                raise CommandError(f"no API key with prefix {options['prefix']!r}")
            apikey_revoke(api_key=key)
            self.stdout.write(f"revoked {key.prefix} ({key.name})")

    # -- demo data -------------------------------------------------------------------
    def _cmd_demo(self, options: dict[str, Any]) -> None:
        from rawr_site.host.demo import demo_data_create

        for line in demo_data_create(staff_user=options["staff_user"]):
            self.stdout.write(line)


def _capability_ids() -> list[str]:
    from rawr_site.contract import registry

    return [contract.capability for contract in registry.all_contracts()]
