"""The project's URLconf for the logging test plus a view whose exception text carries what it
was sent."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def boom(request: HttpRequest, number: str) -> HttpResponse:
    raise ValueError(f"cannot handle {number} / {request.body.decode()}")


urlpatterns = [path("boom/<str:number>/", boom), path("", include("jingzhun.urls"))]
