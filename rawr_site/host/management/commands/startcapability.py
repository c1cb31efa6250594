"""``manage.py startcapability NAME``: scaffold a capability that works with no host edits.

Renders ``rawr_site/host/capability_template`` (``*.py-tpl``, like ``startapp``) into
``capabilities/NAME/``, refuses to overwrite, then regenerates the manifest so the new app
is installed and its routes are mounted. Run ``migrate`` and ``rawr schema`` afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser
from django.core.management.templates import TemplateCommand

from rawr_site.contract.procedure import CAPABILITY_ID_RE

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "capability_template"


class Command(TemplateCommand):
    help = "Create a capability app in capabilities/NAME with a contract, handlers and tests."
    missing_args_message = "You must provide a capability name."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Capability id: lower_snake_case, e.g. invoicing.")
        parser.add_argument(
            "--no-manifest", action="store_true", help="Do not regenerate the manifest."
        )

    def handle(self, **options: Any) -> None:
        name = options.pop("name")
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
                extensions=["py"],
                files=[],
                exclude=[],
                verbosity=options.get("verbosity", 1),
            )
        except Exception:
            # Never leave a half-rendered capability behind.
            import shutil

            shutil.rmtree(target, ignore_errors=True)
            raise
        self.stdout.write(f"Created capabilities/{name}/")
        if not options["no_manifest"]:
            call_command("rawr", "manifest", stdout=self.stdout, stderr=self.stderr)
        self.stdout.write(
            "Next: python manage.py migrate && python manage.py rawr schema "
            f"(routes: /rpc/{name}/*, /api/orpc/{name}/*)"
        )
