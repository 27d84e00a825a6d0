import pytest

from jingzhun.regions import codes


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("230000000000", "province", None),
        ("230200000000", "prefecture", "230000000000"),
        ("230231000000", "county", "230200000000"),
        ("230231100000", "township", "230231000000"),
        ("230231100201", "village", "230231100000"),
        ("500101001001", "village", "500101001000"),
    ],
)
def test_level_and_parent_come_from_the_code(code: str, level: str, parent: str | None) -> None:
    assert codes.level_of(code) == level
    assert codes.parent_of(code) == parent


@pytest.mark.parametrize(
    "code",
    [
        "23023110020",
        "2302311002011",
        "23023110020A",
        "000000000000",
        "230231000201",
        "230200100000",
    ],
)
def test_malformed_or_gapped_codes_are_refused(code: str) -> None:
    with pytest.raises(codes.CodeError):
        codes.level_of(code)


def test_short_codes_are_padded() -> None:
    assert codes.normalize("230231") == "230231000000"
    assert codes.normalize("230231100") == "230231100000"
    assert codes.normalize("230231100201.0") == "230231100201"


def test_western_flag_follows_the_province() -> None:
    assert codes.is_western("150522000000")
    assert codes.is_western("522628000000")
    assert not codes.is_western("230231000000")


def test_prefix_selects_descendants() -> None:
    assert "230231100201".startswith(codes.prefix("230231100000"))
    assert not "230231101201".startswith(codes.prefix("230231100000"))
