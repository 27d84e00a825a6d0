"""Assessment's primary key becomes (household, year, policy version): the surrogate id and the
unique constraint that duplicated it go (ADR 0022).

Django cannot alter a table to a composite primary key, so the table is rebuilt: its rows are
copied aside, the table is created again from the new model state, and the rows come back.
"""

from typing import Any

import django.db.models.functions.datetime
import django.utils.timezone
from django.db import migrations, models

COLUMNS = (
    "household_id",
    "year",
    "policy_id",
    "run_id",
    "passed",
    "failed",
    "unknown",
    "criteria",
    "facts",
    "created_at",
)


def rebuild(apps: Any, schema_editor: Any) -> None:
    model = apps.get_model("assessments", "Assessment")
    table = model._meta.db_table
    quote = schema_editor.quote_name
    aside = quote(f"{table}_rebuild")
    names = ", ".join(quote(c) for c in COLUMNS)
    schema_editor.execute(f"CREATE TABLE {aside} AS SELECT {names} FROM {quote(table)}")
    schema_editor.execute(f"DROP TABLE {quote(table)}")
    schema_editor.create_model(model)
    schema_editor.execute(f"INSERT INTO {quote(table)} ({names}) SELECT {names} FROM {aside}")
    schema_editor.execute(f"DROP TABLE {aside}")


class Migration(migrations.Migration):
    dependencies = [
        ("assessments", "0005_run_scope_as_text"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(
                    model_name="assessment",
                    name="assessment_once_per_policy_version",
                ),
                migrations.RemoveField(
                    model_name="assessment",
                    name="id",
                ),
                migrations.AddField(
                    model_name="assessment",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "household_id",
                        "year",
                        "policy_id",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                migrations.AlterField(
                    model_name="assessment",
                    name="created_at",
                    field=models.DateTimeField(
                        db_default=django.db.models.functions.datetime.Now(),
                        default=django.utils.timezone.now,
                        verbose_name="判定时间",
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(rebuild, elidable=False),
    ]
