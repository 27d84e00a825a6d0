"""PII-2 (ADR 0058): ID numbers, phones and bank accounts encrypted at rest; the ID number's
uniqueness among live members moves to its blind index. The data step encrypts the existing rows
with the current field key (and fills the index); its reverse decrypts them."""

import jingzhun.core.fieldcrypt
import jingzhun.registry.models
from django.db import migrations, models

from jingzhun.core import fieldcrypt

# table → (encrypted columns, (index column, source column, normalisation) or None)
SEALED = {
    "registry_household": (("phone", "bank_account"), None),
    "registry_member": (("id_number",), ("id_number_index", "id_number", "upper")),
}
BATCH = 5000


def _rows(cursor, table, columns, last):
    cursor.execute(
        f"SELECT id, {', '.join(columns)} FROM {table} WHERE id > %s ORDER BY id LIMIT {BATCH}",
        [last],
    )
    return cursor.fetchall()


def _convert(schema_editor, forward):
    connection = schema_editor.connection
    ring = fieldcrypt.keyring()
    for table, (columns, index) in SEALED.items():
        last = 0
        while True:
            with connection.cursor() as cursor:
                rows = _rows(cursor, table, columns, last)
            if not rows:
                break
            updates = []
            for pk, *values in rows:
                out = []
                plain = {}
                for column, value in zip(columns, values):
                    if value in (None, ""):
                        out.append(value)
                        plain[column] = value
                    elif forward:
                        plain[column] = value
                        out.append(
                            value
                            if fieldcrypt.is_token(value)
                            else fieldcrypt.seal(table, column, pk, value, ring)
                        )
                    else:
                        text = (
                            fieldcrypt.open_token(table, column, pk, value, ring)
                            if fieldcrypt.is_token(value)
                            else value
                        )
                        plain[column] = text
                        out.append(text)
                if index is not None and forward:
                    column, source, how = index
                    label = f"{table}.{source}"
                    value = plain[source]
                    if fieldcrypt.is_token(value):
                        value = fieldcrypt.open_token(table, source, pk, value, ring)
                    out.append(
                        fieldcrypt.blind_index(label, fieldcrypt.NORMALIZERS[how](value or ""), ring)
                    )
                updates.append([*out, pk])
            names = [*columns, *([index[0]] if index is not None and forward else [])]
            sets = ", ".join(f"{c} = %s" for c in names)
            with connection.cursor() as cursor:
                cursor.executemany(f"UPDATE {table} SET {sets} WHERE id = %s", updates)
            last = rows[-1][0]


def encrypt(apps, schema_editor):
    _convert(schema_editor, forward=True)


def decrypt(apps, schema_editor):
    _convert(schema_editor, forward=False)


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0004_member_joined_left'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='member',
            name='member_id_live_unique',
        ),
        migrations.AddField(
            model_name='member',
            name='id_number_index',
            field=jingzhun.core.fieldcrypt.BlindIndexField(blank=True, default='', editable=False, max_length=64, normalize='upper', source='id_number', verbose_name='证件号码索引'),
        ),
        migrations.AlterField(
            model_name='household',
            name='bank_account',
            field=jingzhun.core.fieldcrypt.EncryptedCharField(blank=True, default='', max_length=200, plain_max_length=32, validators=[jingzhun.registry.models.validate_bank_account], verbose_name='银行账号'),
        ),
        migrations.AlterField(
            model_name='household',
            name='phone',
            field=jingzhun.core.fieldcrypt.EncryptedCharField(blank=True, default='', max_length=200, plain_max_length=20, validators=[jingzhun.registry.models.validate_phone], verbose_name='联系电话'),
        ),
        migrations.AlterField(
            model_name='member',
            name='id_number',
            field=jingzhun.core.fieldcrypt.EncryptedCharField(max_length=200, plain_max_length=20, verbose_name='证件号码'),
        ),
        migrations.RunPython(encrypt, decrypt),
        migrations.AddConstraint(
            model_name='member',
            constraint=models.UniqueConstraint(condition=models.Q(('deleted_at__isnull', True)), fields=('id_number_index',), name='member_id_index_live_unique'),
        ),
    ]
