"""URLs of the JSON API, included at /api/ (docs at /api/docs, schema at /api/openapi.json)."""

from django.urls import URLPattern, URLResolver, path

from .api import api

urlpatterns: list[URLPattern | URLResolver] = [path("", api.urls)]
