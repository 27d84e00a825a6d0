"""Measure evidence and visit photos inherit core.models.StoredFile (as case evidence does):
the same file fields with the same types and defaults. Visit photos gain `content_type` (from
their former `file_type`: jpg → image/jpeg, png → image/png), `uploaded_by` (the visit's helper)
and `uploaded_at` (when the visit was stored), filled set-wise before `file_type` goes; the file
name may be 200 characters like the others (0006, a migration of its own: PostgreSQL does not
alter a table with pending foreign-key checks in the same transaction; the fill checks its
own at once). Reversible:
`file_type` is rebuilt from the type."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

KINDS = {"jpg": "image/jpeg", "png": "image/png"}


def fill(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # checked now, so no foreign-key check is pending when the new column's index is made
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    photo = apps.get_model("assistance", "VisitPhoto")
    visit = apps.get_model("assistance", "Visit")
    for kind, mime in KINDS.items():
        photo.objects.filter(file_type=kind).update(content_type=mime)
    photo.objects.filter(content_type="").update(content_type="application/octet-stream")
    own = visit.objects.filter(pk=OuterRef("visit_id"))
    photo.objects.update(
        uploaded_by_id=Subquery(own.values("helper_id")[:1]),
        uploaded_at=Subquery(own.values("recorded_at")[:1]),
    )


def unfill(apps, schema_editor):
    photo = apps.get_model("assistance", "VisitPhoto")
    for kind, mime in KINDS.items():
        photo.objects.filter(content_type=mime).update(file_type=kind)


class Migration(migrations.Migration):
    dependencies = [
        ("assistance", "0004_measures"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="visitphoto",
            name="content_type",
            field=models.CharField(default="", max_length=100, verbose_name="文件类型"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="visitphoto",
            name="uploaded_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="上传人",
            ),
        ),
        migrations.AddField(
            model_name="visitphoto",
            name="uploaded_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="上传时间"),
        ),
        # the reverse needs file_type back (with a value) before it is filled again
        migrations.AlterField(
            model_name="visitphoto",
            name="file_type",
            field=models.CharField(default="", max_length=4, verbose_name="类型"),
        ),
        migrations.RunPython(fill, unfill),
    ]
