"""Issue 26 (B12; ADR 0070): the household list's indexes.

- (county, code), (township, code), (village, code): a region's households in household-code
  order straight from an index, for keyset pages (core.paging) instead of sorting the region.
- The head's and members' names with varchar_pattern_ops (PostgreSQL; a plain index elsewhere,
  where opclasses are ignored): one- and two-character searches match from the start of the name
  (LIKE 'x%'), which a plain b-tree serves only under the C collation.
- On PostgreSQL, trigram (pg_trgm, a trusted extension) GIN indexes on the same names: searches of
  three or more characters match anywhere in the name (LIKE '%xyz%').
"""

from django.db import migrations, models

TRIGRAM_INDEXES = (
    ("household_head_name_trgm", "registry_household", "head_name"),
    ("member_name_trgm", "registry_member", "name"),
)


def add_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ('regions', '0001_initial'),
        ('registry', '0006_encrypt_health'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='household',
            name='registry_ho_head_na_e31cc2_idx',
        ),
        migrations.RemoveIndex(
            model_name='member',
            name='registry_me_name_eeebe5_idx',
        ),
        migrations.AddIndex(
            model_name='household',
            index=models.Index(fields=['county_code', 'household_code'], name='household_county_code'),
        ),
        migrations.AddIndex(
            model_name='household',
            index=models.Index(fields=['township_code', 'household_code'], name='household_town_code'),
        ),
        migrations.AddIndex(
            model_name='household',
            index=models.Index(fields=['village', 'household_code'], name='household_village_code'),
        ),
        migrations.AddIndex(
            model_name='household',
            index=models.Index(fields=['head_name'], name='household_head_name_like', opclasses=['varchar_pattern_ops']),
        ),
        migrations.AddIndex(
            model_name='member',
            index=models.Index(condition=models.Q(('deleted_at__isnull', True)), fields=['name'], include=('household',), name='member_name_like', opclasses=['varchar_pattern_ops']),
        ),
        migrations.RunPython(add_trigram_indexes, drop_trigram_indexes),
    ]
