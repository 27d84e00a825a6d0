"""The differentiated distribution rules (差异化分配) of policy table asset_income_rules, checked
against a plan: each check is one line of the trace kept on the approved plan (with the table's
file and content hash), and a failed check is a Chinese refusal naming the rule."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jingzhun.core.errors import DomainError
from jingzhun.policy.store import PolicyError, default_store

from .choices import RULES_TABLE, USES
from .money import yuan


@dataclass(frozen=True)
class Rules:
    labour_min_percent: Decimal
    retention_max_percent: Decimal
    reward_max_percent: Decimal
    household_basis_required: bool
    posting_days: int
    version: str  # file and content hash

    def cite(self, rule: str) -> str:
        return f"策略表 {RULES_TABLE} 规则 {rule}（{self.version}）"


def rules_on(on: datetime.date, county: str = "") -> Rules:
    store = default_store()
    try:
        loaded = store.table_file(RULES_TABLE, on)

        def value(rule: str, use: str | None = None) -> Decimal:
            keys: dict[str, Any] = {"rule": rule}
            if use:
                keys["use"] = use
            found = store.lookup(RULES_TABLE, on=on, **keys)
            if found is None or found.value is None:
                raise DomainError(
                    f"资产收益分配规则表 {loaded.path} 缺少规则 {rule}（{use or ''}）。"
                )
            return Decimal(found.value)

        return Rules(
            labour_min_percent=value("min_percent", "labour"),
            retention_max_percent=value("max_percent", "retention"),
            reward_max_percent=value("max_percent", "reward"),
            household_basis_required=bool(value("household_uses")),
            posting_days=int(value("posting_days")),
            version=f"{loaded.path} {loaded.hash[:12]}",
        )
    except PolicyError as exc:
        raise DomainError(f"{on} 没有生效的资产收益分配规则表（{RULES_TABLE}）。") from exc


def check_plan(
    rules: Rules,
    amounts: dict[str, int],
    available_fen: int,
    paid_by_use: dict[str, int],
) -> list[dict[str, Any]]:
    """Check a plan's amounts (use → fen), the income left for it and its household payments
    (use → fen): the trace, or DomainError at the first rule broken."""
    total = sum(amounts.values())
    trace: list[dict[str, Any]] = []

    def line(rule: str, ok: bool, text: str) -> None:
        trace.append({"rule": rule, "passed": ok, "explain": text, "source": rules.cite(rule)})
        if not ok:
            raise DomainError(f"{text}（{rules.cite(rule)}）", field=rule)

    line(
        "income",
        total <= available_fen,
        f"分配合计 {yuan(total)} 元{'未超过' if total <= available_fen else '超过了'}"
        f"该资产本年度已到账且未分配的收益 {yuan(available_fen)} 元",
    )
    if total == 0:
        raise DomainError("分配方案的合计为零，请填写各用途的金额。", field="public_job")
    for use, most in (
        ("retention", rules.retention_max_percent),
        ("reward", rules.reward_max_percent),
    ):
        ok = amounts[use] * 100 <= most * total
        line(
            f"max_percent_{use}",
            ok,
            f"{USES[use]} {yuan(amounts[use])} 元，占分配合计的比例{'未超过' if ok else '超过了'} {most}%",
        )
    labour = amounts["public_job"] + amounts["works"]
    ok = labour * 100 >= rules.labour_min_percent * total
    line(
        "min_percent",
        ok,
        f"公益岗位工资与小型公益事业合计 {yuan(labour)} 元，占分配合计的比例"
        f"{'不低于' if ok else '低于'} {rules.labour_min_percent}%",
    )
    for use, paid in paid_by_use.items():
        ok = paid <= amounts.get(use, 0)
        line(
            f"payments_{use}",
            ok,
            f"到户的{USES[use]} {yuan(paid)} 元{'未超过' if ok else '超过了'}方案中该用途的金额 "
            f"{yuan(amounts.get(use, 0))} 元",
        )
    return trace
