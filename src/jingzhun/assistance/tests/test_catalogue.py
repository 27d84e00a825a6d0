"""The measure catalogue is policy data validated by the policy store (issue 21 item 3)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jingzhun.policy.store import PolicyError, PolicyStore, load_file

ROOT = Path(__file__).parents[4] / "policies"
FILE = ROOT / "tables" / "measure_kinds.yaml"


def test_the_catalogue_loads_and_names_every_kind_of_the_issue() -> None:
    from jingzhun.assistance.catalogue import catalogue

    cat = catalogue()
    assert cat.path == "tables/measure_kinds.yaml"
    assert {
        "industry",
        "employment",
        "public_welfare_job",
        "education_subsidy",
        "medical_aid",
        "housing_renovation",
        "relocation_followup",
        "social_assistance",
        "microcredit",
        "equity_dividend",
        "solar_income",
        "training",
        "consumption_assistance",
    } <= set(cat.kinds)
    assert {"industry", "microcredit", "equity_dividend", "solar_income"} <= cat.industry_kinds
    (rule,) = [r for r in cat.rules if r.id == "industry_links"]
    assert (rule.min, rule.industry_link, rule.applies_to) == (2, True, "registered")
    assert (
        "林甸" in PolicyStore.load(ROOT).catalogue("measure_kinds").doc.sources[rule.source].title
    )


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d["kinds"][0].update(department="police"), "未在 departments 中声明"),
        (lambda d: d["kinds"].append(dict(d["kinds"][0])), "重复"),
        (lambda d: d["rules"][0].pop("min"), "min 或 each_risk_type"),
        (lambda d: d["kinds"][0].update(colour="red"), "colour"),
        (lambda d: d["rules"][0].update(source="nowhere"), "未在 sources 中声明"),
    ],
)
def test_a_bad_catalogue_is_refused_naming_the_place(tmp_path: Path, change, words) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(FILE.read_text("utf-8"))
    change(data)
    bad = tmp_path / "measure_kinds.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(PolicyError, match=words):
        load_file(bad)
