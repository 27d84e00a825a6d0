"""PII-2 (ADR 0066): a member's health status and disability grade encrypted at rest, as
the ID number already is (ADR 0058). The grade's range check moves from the database (which
cannot see through the ciphertext) to the field's validators. The data step encrypts the
existing rows with the current field key; its reverse decrypts them (before the columns go
back to their plain types)."""

import jingzhun.core.fieldcrypt
from django.db import migrations

from jingzhun.core import fieldcrypt

TABLE = "registry_member"
COLUMNS = ("health_status", "disability_grade")
BATCH = 5000


def _convert(schema_editor, forward):
    connection = schema_editor.connection
    ring = fieldcrypt.keyring()
    last = 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, {', '.join(COLUMNS)} FROM {TABLE} WHERE id > %s ORDER BY id "
                f"LIMIT {BATCH}",
                [last],
            )
            rows = cursor.fetchall()
        if not rows:
            break
        pks = [r[0] for r in rows]
        new_columns = []
        for i, column in enumerate(COLUMNS, start=1):
            values = [None if r[i] is None else str(r[i]) for r in rows]
            if forward:
                new_columns.append(
                    [
                        v
                        if v in (None, "") or fieldcrypt.is_token(v)
                        else fieldcrypt.seal(TABLE, column, pk, v, ring)
                        for pk, v in zip(pks, values)
                    ]
                )
            else:
                tokens = [v if fieldcrypt.is_token(v) else None for v in values]
                opened = fieldcrypt.open_tokens(TABLE, column, pks, tokens, ring)
                new_columns.append(
                    [o if t is not None else v for v, t, o in zip(values, tokens, opened)]
                )
        updates = [[*values, pk] for pk, *values in zip(pks, *new_columns)]
        sets = ", ".join(f"{c} = %s" for c in COLUMNS)
        with connection.cursor() as cursor:
            cursor.executemany(f"UPDATE {TABLE} SET {sets} WHERE id = %s", updates)
        last = pks[-1]


def encrypt(apps, schema_editor):
    _convert(schema_editor, forward=True)


def decrypt(apps, schema_editor):
    _convert(schema_editor, forward=False)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_encrypt_sensitive_fields"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="member",
            name="member_disability_grade_range",
        ),
        migrations.AlterField(
            model_name="member",
            name="disability_grade",
            field=jingzhun.core.fieldcrypt.EncryptedIntegerField(
                blank=True,
                max_length=200,
                max_value=4,
                min_value=1,
                null=True,
                verbose_name="残疾等级",
            ),
        ),
        migrations.AlterField(
            model_name="member",
            name="health_status",
            field=jingzhun.core.fieldcrypt.EncryptedCharField(
                blank=True,
                choices=[
                    ("healthy", "健康"),
                    ("chronic", "长期慢性病"),
                    ("serious_illness", "患有大病"),
                    ("disabled", "残疾"),
                ],
                default="",
                max_length=200,
                plain_max_length=16,
                verbose_name="健康状况",
            ),
        ),
        migrations.RunPython(encrypt, decrypt),
    ]
