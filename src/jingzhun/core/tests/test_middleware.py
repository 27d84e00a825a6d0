from typing import Any

from django.test import Client


def test_pages_are_chinese_even_for_an_english_browser(db: Any) -> None:
    response = Client().get("/login/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert response.headers["Content-Language"] == "zh-hans"


def test_the_language_cookie_switches_to_english(db: Any) -> None:
    client = Client()
    client.cookies["django_language"] = "en"
    response = client.get("/login/")
    assert response.headers["Content-Language"] == "en"


def test_pages_are_not_cached_and_carry_a_request_id(db: Any) -> None:
    response = Client().get("/login/")
    assert response.headers["Cache-Control"] == "no-store"
    assert len(response.headers["X-Request-ID"]) == 32
