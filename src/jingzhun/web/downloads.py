"""Sending a stored file (core.StoredFile: case evidence, measure evidence, visit photos) to the
user who may see it: always as an attachment, with the type sniffed when it was stored, never
cached, never re-sniffed by the browser."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.utils.translation import gettext as _

from jingzhun.core.models import StoredFile


def stored_file_response(item: StoredFile) -> FileResponse:
    """The file's bytes as a download; 404 when they are no longer on the server (a restore
    without the data files)."""
    path = item.path
    if not path.exists():
        raise Http404(_("文件已不在服务器上。"))
    response = FileResponse(
        path.open("rb"), as_attachment=True, filename=item.filename, content_type=item.content_type
    )
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
