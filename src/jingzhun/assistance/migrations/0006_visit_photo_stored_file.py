"""The second half of 0005: visit photos' `file_type` goes (its value now lives in
`content_type`) and the file fields take core.models.StoredFile's types and labels."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("assistance", "0005_stored_file_fields")]

    operations = [
        migrations.RemoveField(model_name="visitphoto", name="file_type"),
        migrations.AlterField(
            model_name="visitphoto",
            name="filename",
            field=models.CharField(max_length=200, verbose_name="文件名"),
        ),
        migrations.AlterField(
            model_name="visitphoto",
            name="sha256",
            field=models.CharField(max_length=64, verbose_name="SHA-256"),
        ),
        migrations.AlterField(
            model_name="visitphoto",
            name="size",
            field=models.PositiveIntegerField(verbose_name="大小(字节)"),
        ),
        migrations.AlterField(
            model_name="measureevidence",
            name="uploaded_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="上传时间"),
        ),
    ]
