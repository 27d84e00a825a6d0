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


def test_a_plain_request_id_from_the_caller_is_kept(db: Any) -> None:
    for given in ("abcd-1234", "req.2026-12-06_0001", "A" * 64):
        response = Client().get("/login/", headers={"X-Request-ID": given})
        assert response.headers["X-Request-ID"] == given


def test_a_bad_request_id_is_replaced_by_a_new_one(db: Any) -> None:
    from conftest import make_id

    bad = [
        "short",  # fewer than 8 characters
        "A" * 65,  # more than 64
        "abc def 123",  # a space
        "abc<script>1",  # markup
        "x\u00e9x-12345",  # not ASCII
        make_id("230231", "19690814", 1),  # an ID number: it would go into every audit row
        "req-13912345678",  # a phone number
    ]
    for given in bad:
        response = Client().get("/login/", headers={"X-Request-ID": given})
        assert response.headers["X-Request-ID"] != given
        assert len(response.headers["X-Request-ID"]) == 32
