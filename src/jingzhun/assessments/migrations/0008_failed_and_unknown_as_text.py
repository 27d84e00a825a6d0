"""Assessment.failed and .unknown become space-separated text instead of JSON lists (ADR 0043):
'["income", "housing"]' becomes 'income housing', '[]' becomes ''.

PostgreSQL: ALTER TABLE ... TYPE text USING rewrites each column in place. SQLite: Django
rebuilds the table (its JSON columns carry a JSON_VALID check), then an UPDATE rewrites the
values.
"""

from typing import Any

from django.db import migrations

from jingzhun.assessments.fields import CriterionIdsField

VERBOSE = {"failed": "未通过的标准", "unknown": "未知的标准"}


def _pair(model: Any, name: str) -> tuple[Any, Any]:
    """(the JSON field, the text field) for column `name` of the model as it stands."""
    new = CriterionIdsField(verbose_name=VERBOSE[name])
    new.set_attributes_from_name(name)
    new.model = model
    return model._meta.get_field(name), new


# (PostgreSQL ALTER ... USING, SQLite UPDATE) for each direction; ids are identifiers, so
# dropping the JSON punctuation leaves them space-separated.
TO_TEXT = (
    "TYPE text USING regexp_replace(btrim(translate({c}::text, '[]\",', '    ')), '\\s+', ' ', 'g')",
    "trim(replace(replace(replace(replace(replace({c}, '[', ''), ']', ''), '\"', ''), ',', ' '), "
    "'  ', ' '))",
)
TO_JSON = (
    "TYPE jsonb USING to_jsonb(string_to_array({c}, ' '))",
    "CASE WHEN {c} = '' THEN '[]' ELSE '[\"' || replace({c}, ' ', '\", \"') || '\"]' END",
)


def _convert(name: str, to_text: bool) -> Any:
    def run(apps: Any, schema_editor: Any) -> None:
        model = apps.get_model("assessments", "Assessment")  # `name` is the JSON field here
        table = schema_editor.quote_name(model._meta.db_table)
        c = schema_editor.quote_name(name)
        alter, update = TO_TEXT if to_text else TO_JSON
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE {table} ALTER COLUMN {c} {alter.format(c=c)}")
            return
        json_field, text_field = _pair(model, name)
        if to_text:
            schema_editor.alter_field(model, json_field, text_field)
        schema_editor.execute(f"UPDATE {table} SET {c} = {update.format(c=c)}")
        if not to_text:
            schema_editor.alter_field(model, text_field, json_field)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("assessments", "0007_assessment_key_adds_household_version"),
    ]

    # One column at a time, so that the model each step sees matches the table as it stands.
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="assessment",
                    name=name,
                    field=CriterionIdsField(default=list, verbose_name=VERBOSE[name]),
                )
            ],
            database_operations=[
                migrations.RunPython(_convert(name, True), _convert(name, False), elidable=False)
            ],
        )
        for name in ("failed", "unknown")
    ]
