"""UPDATE and DELETE on audit events fail in the database itself (AUDIT-2), see audit/guard.py.

On SQLite, a later migration that rebuilds the audit table drops these triggers: it must create
them again (audit/tests/test_append_only.py checks that they exist after all migrations).
"""

from django.db import migrations

from jingzhun.audit.guard import install, uninstall


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_archive")]

    operations = [migrations.RunPython(install, uninstall)]
