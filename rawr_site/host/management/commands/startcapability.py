"""``manage.py startcapability NAME``: scaffold a capability that works with no host edits.

Renders ``rawr_site/host/capability_template`` (``*.py-tpl`` and ``*.js-tpl``, like
``startapp``) into ``capabilities/NAME/``, refuses to overwrite, then regenerates the
generated files so the new capability is live at once: the manifest (which installs the app
and mounts its routes) with the MFE TypeScript declarations, and the OpenAPI document (one
child process for both). What it writes: a contract with a durable-workflow trigger,
handlers, model, migration, admin, a two-step durable workflow, a coordination desk handler,
demo data, an MFE (``web/index.js``) and tests (unit tests and one browser test of the MFE).
Run ``migrate`` afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser
from django.core.management.templates import TemplateCommand

from rawr_site.contract.procedure import CAPABILITY_ID_RE

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "capability_template"


class Command(TemplateCommand):
    help = (
        "Create a capability app in capabilities/NAME: contract, handlers, workflow, desk "
        "handler, demo data, MFE and tests; then regenerate the manifest and OpenAPI schema."
    )
    missing_args_message = "You must provide a capability name."
    #: ``.js-tpl`` too, so the template's MFE is neither served nor linted as real code.
    rewrite_template_suffixes = ((".py-tpl", ".py"), (".js-tpl", ".js"))

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Capability id: lower_snake_case, e.g. invoicing.")
        parser.add_argument(
            "--no-manifest",
            action="store_true",
            help="Only write capabilities/NAME/: regenerate neither the manifest nor the schema.",
        )
        # The child process of _regenerate (every app on disk installed).
        parser.add_argument("--regenerate-only", action="store_true", help=argparse.SUPPRESS)

    def handle(self, **options: Any) -> None:
        name = options.pop("name")
        if options["regenerate_only"]:
            call_command("rawr", "manifest", stdout=self.stdout, stderr=self.stderr)
            call_command("rawr", "schema", stdout=self.stdout, stderr=self.stderr)
            return
        if not CAPABILITY_ID_RE.match(name):
            raise CommandError(
                f"{name!r} is not a valid capability id (use lower_snake_case, e.g. 'invoicing')",
                returncode=2,
            )
        target = Path(settings.BASE_DIR) / "capabilities" / name
        if target.exists():
            raise CommandError(
                f"capabilities/{name} already exists; refusing to overwrite it", returncode=2
            )
        target.mkdir(parents=True)
        try:
            super().handle(
                "app",
                name,
                str(target),
                template=str(TEMPLATE_DIR),
                extensions=["py", "js"],
                files=[],
                exclude=[],
                verbosity=options.get("verbosity", 1),
            )
        except Exception:
            # Never leave a half-rendered capability behind.
            shutil.rmtree(target, ignore_errors=True)
            raise
        self._format(target)
        self.stdout.write(f"Created capabilities/{name}/")
        if not options["no_manifest"]:
            self._regenerate(name)
        self.stdout.write(
            f"Next: python manage.py migrate, then open /rawr/{name} "
            f"(routes: /rpc/{name}/*, /api/orpc/{name}/*, /api/workflows/{name}/*; "
            f"tests: pytest capabilities/{name})"
        )

    def _format(self, target: Path) -> None:
        """``ruff format`` the new package when ruff is installed (line lengths depend on
        the name), as ``startapp`` runs black."""
        beside = Path(sys.executable).with_name("ruff")
        ruff = str(beside) if beside.exists() else shutil.which("ruff")
        if ruff is None:
            return
        subprocess.run(  # noqa: S603 - ruff on the files just written
            [ruff, "format", "--quiet", str(target)], capture_output=True, check=False
        )

    def _regenerate(self, name: str) -> None:
        """The manifest (with the TypeScript files) and the OpenAPI document.

        Both need the new app installed, which this process's settings predate: one child
        process installs every app on disk (``RAWR_MANIFEST_SCAN=1``: the apps and order the
        manifest is about to list) and writes both.
        """
        result = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
            [
                sys.executable,
                str(Path(settings.BASE_DIR) / "manage.py"),
                "startcapability",
                name,
                "--regenerate-only",
            ],
            env={**os.environ, "RAWR_MANIFEST_SCAN": "1"},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise CommandError(
                f"capabilities/{name} was written, but regenerating failed:\n"
                f"{result.stderr.strip()}\nFix it, then run `python manage.py rawr manifest` "
                "and `python manage.py rawr schema`."
            )
        self.stdout.write(result.stdout.strip())
