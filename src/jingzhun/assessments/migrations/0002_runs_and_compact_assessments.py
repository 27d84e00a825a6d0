"""Assessments become compact rows of a run (ADR 0011).

Pre-release change: the per-row assessments of 0001 are dropped (re-run `jingzhun assess`).
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("assessments", "0001_assessment")]

    operations = [migrations.DeleteModel(name="Assessment")]
