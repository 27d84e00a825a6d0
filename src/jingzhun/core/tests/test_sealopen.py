"""Opening many tokens: the split over child processes gives what the plain loop gives, and the
same refusal for an altered token wherever it lies (ADR 0068)."""

from __future__ import annotations

import secrets

import pytest

from jingzhun.core import fieldcrypt, sealopen
from jingzhun.core.fieldcrypt import FieldDecryptError, FieldKey

KEYS = {1: ("aes-256-gcm", secrets.token_bytes(32)), 2: ("sm4-gcm", secrets.token_bytes(16))}
PREFIX = b"registry_member|health_status|"


def _tokens(n: int) -> tuple[list[int], list[str | None], list[str | None]]:
    pks, plain, tokens = [], [], []
    for pk in range(1, n + 1):
        value = None if pk % 7 == 0 else f"值{pk % 5}"
        key = FieldKey(1 + pk % 2, *KEYS[1 + pk % 2])
        token = None if value is None else key.seal(value.encode(), PREFIX + str(pk).encode())
        pks.append(pk)
        plain.append(value)
        tokens.append("" if pk % 11 == 0 and token is None else token)
    return pks, plain, tokens


def test_split_over_children_equals_the_plain_loop() -> None:
    pks, plain, tokens = _tokens(300)
    assert sealopen.open_many(KEYS, PREFIX, pks, tokens) == plain
    assert sealopen.open_split(KEYS, PREFIX, pks, tokens, 3) == plain


@pytest.mark.parametrize("where", [5, 250])  # in this process's part, in a child's part
def test_an_altered_token_is_refused_with_its_place(where: int) -> None:
    pks, _plain, tokens = _tokens(300)
    where += 1 if tokens[where] is None else 0
    moved = list(tokens)
    moved[where] = tokens[where + 2] if tokens[where + 2] else tokens[where + 3]  # another row's
    with pytest.raises(sealopen.OpenError) as caught:
        sealopen.open_split(KEYS, PREFIX, pks, moved, 2)
    assert (caught.value.index, caught.value.kind) == (where, "tag")


def test_open_tokens_names_the_row_when_split(monkeypatch: pytest.MonkeyPatch, settings) -> None:
    settings.JINGZHUN_FIELD_KEYS = tuple(f"{v} {a} {s.hex()}" for v, (a, s) in KEYS.items())
    monkeypatch.setattr(fieldcrypt, "SPLIT_MIN", 10)
    pks, plain, tokens = _tokens(60)
    ring = fieldcrypt.keyring()
    assert fieldcrypt.open_tokens("registry_member", "health_status", pks, tokens, ring) == plain
    tokens[40] = "jz9:" + "A" * 40  # a key version nobody has
    with pytest.raises(fieldcrypt.FieldKeyError, match="第 9 版"):
        fieldcrypt.open_tokens("registry_member", "health_status", pks, tokens, ring)
    tokens[40] = "not a token"
    with pytest.raises(FieldDecryptError, match="行 41"):
        fieldcrypt.open_tokens("registry_member", "health_status", pks, tokens, ring)
