"""Apps contribute ``rawr`` subcommands through ``rawr_site.host.cli_registry``."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from rawr_site.host import cli_registry


def test_every_app_subcommand_is_discovered_and_a_name_registered_twice_raises() -> None:
    cli_registry.discover()
    names = [sub.name for sub in cli_registry.subcommands()]
    assert {"doctor", "runs", "sweep", "workflow", "seed"} <= set(names)
    with pytest.raises(ValueError, match="'doctor' is registered twice"):
        cli_registry.register_subcommand(
            "doctor", help="again", add_arguments=lambda p: None, handle=lambda o, out, err: 0
        )
    ours = ["search.documents", "coordination.workflows", "invoicing.invoices"]
    # In this order; a capability added since (startcapability) may bring its own too.
    loaders = [loader.name for loader in cli_registry.demo_loaders()]
    assert [name for name in loaders if name in ours] == ours


def test_a_contributed_subcommand_gets_its_arguments_output_and_exit_code() -> None:
    def handle(options, out, err) -> int:
        out.write(f"hello {options['who']}")
        return 0 if options["who"] == "ok" else 4

    cli_registry.register_subcommand(
        "probe-hello",
        help="Test probe.",
        add_arguments=lambda parser: parser.add_argument("who"),
        handle=handle,
    )
    try:
        out = io.StringIO()
        call_command("rawr", "probe-hello", "ok", stdout=out)
        assert out.getvalue() == "hello ok\n"
        with pytest.raises(SystemExit) as exited:
            call_command("rawr", "probe-hello", "nope", stdout=io.StringIO())
        assert exited.value.code == 4
    finally:
        cli_registry.unregister("probe-hello")
