"""Assessment's primary key gains the household's data version: (household, year, policy
version, household version), so that a household judged again after its data changed gets a new
decision while the earlier one is kept (ADR 0032).

As in 0006, Django cannot alter a composite primary key, so the table is rebuilt; existing rows
get household_version 0 (older than every household state: an exit approval asks for a new
judgement).
"""

from typing import Any

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
    schema_editor.execute(
        f"INSERT INTO {quote(table)} ({names}, {quote('household_version')}) "
        f"SELECT {names}, 0 FROM {aside}"
    )
    schema_editor.execute(f"DROP TABLE {aside}")


class Migration(migrations.Migration):
    dependencies = [
        ("assessments", "0006_assessment_key_is_household_year_policy"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="assessment",
                    name="household_version",
                    field=models.PositiveIntegerField(
                        default=0, verbose_name="判定时的户数据版本"
                    ),
                ),
                migrations.AlterField(
                    model_name="assessment",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "household_id",
                        "year",
                        "policy_id",
                        "household_version",
                        blank=True,
                        editable=False,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(rebuild, elidable=False),
    ]
