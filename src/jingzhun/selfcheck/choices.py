"""Code tables of the self-check (labels Chinese; their English in locale/en)."""

from __future__ import annotations

from .sampling import EXITED, NON_POOR, ORDINARY, POOR, REMAINING

STRATA = {POOR: "贫困村", NON_POOR: "非贫困村"}
GROUPS = {EXITED: "已脱贫户", REMAINING: "未脱贫户（拟退出）", ORDINARY: "一般农户"}
RULES_TABLE = "exit_self_check"
RATES = {
    "wrong_exit": "错退率",
    "missed": "漏评率",
    "approval": "群众认可度",
}
