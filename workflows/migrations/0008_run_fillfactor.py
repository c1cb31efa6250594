"""Room on each page of the runs table for in-place (HOT) updates.

A step's outcome changes only columns no index covers (``next_seq``, ``updated_at``,
``interruptions``), so Postgres can write the new row version beside the old one without
touching the table's indexes, provided the page has room: hence a fill factor below 100.
"""

from django.db import migrations


def _set_fillfactor(apps, schema_editor, value: int) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE workflows_run SET (fillfactor = {int(value)})")


class Migration(migrations.Migration):
    dependencies = [("workflows", "0007_flow_control")]

    operations = [
        migrations.RunPython(
            lambda apps, schema_editor: _set_fillfactor(apps, schema_editor, 80),
            lambda apps, schema_editor: _set_fillfactor(apps, schema_editor, 100),
        )
    ]
