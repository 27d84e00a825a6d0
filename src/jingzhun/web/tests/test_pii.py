"""No page shows a full ID number, phone or bank account, whoever looks and whatever they search."""

from __future__ import annotations

from typing import Any

import pytest

from jingzhun.registry.models import Household, Member

from .conftest import FULL_ID, body


@pytest.mark.parametrize("username", ["county", "township", "village", "helper", "auditor"])
def test_every_page_and_search_is_free_of_full_sensitive_values(
    world: Any, client_for: Any, username: str
) -> None:
    # Given every member's ID number and every household's phone and bank account
    client = client_for(username)
    ids = list([m.id_number for m in Member.objects.all()])
    assert ids and all(FULL_ID.fullmatch(n) for n in ids)  # the scan would see them
    secrets = ids + [v for h in Household.objects.all() for v in (h.phone, h.bank_account) if v]
    # When the user opens every page and searches every ID number (page and HTMX partial)
    pages = [client.get("/"), client.get("/households/")]
    pages += [client.get(f"/households/{h.pk}/") for h in Household.objects.all()]
    pages += [client.post("/households/", {"q": n}) for n in ids]
    pages += [client.post("/households/", {"q": n}, HTTP_HX_REQUEST="true") for n in ids]
    pages += [client.get("/households/", {"q": n}) for n in ids]
    # Then no response contains any of them, nor anything shaped like a full ID number
    for response in pages:
        html = body(response)
        assert FULL_ID.findall(html) == []
        assert [s for s in secrets if s in html] == []
        assert response["Cache-Control"] == "no-store"
    assert {r.status_code for r in pages} <= {200, 400, 404}
