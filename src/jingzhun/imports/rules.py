"""The household and member rules of an import, once for both planning paths (issue 19 item 5).

The per-row pipeline (`pipeline._compare`) words every refusal from here; the columnar path
(`columnar._plan`) flags, from the same tables, the households these rules may refuse and sends
them to the pipeline, so the two cannot disagree (ADR 0015). Change detection (`changes`) is the
one comparison of a file's values with the registry's, used for households, members and incomes.

The tables are field key -> the Chinese reason: what a new household or a new member must give.
They are the place where the registry's data dictionary (field metadata: required for a new
record, labels) plugs in: a dictionary entry marked "required when created" becomes a key here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from jingzhun.registry import choices as c

# What a household new to the registry must give (the code itself is the key of a row).
NEW_HOUSEHOLD_REQUIRED: Final[dict[str, str]] = {"village": "新户必须填写村级区划代码"}
NEW_HOUSEHOLD_NO_MEMBERS: Final = "新户在文件中没有任何成员"
NEW_HOUSEHOLD_NO_HEAD: Final = "新户缺少户主（与户主关系为“户主”的成员）"
# What a person new to the registry must give (the ID number is the key of a row).
NEW_MEMBER_REQUIRED: Final[dict[str, str]] = {
    "relation": "新成员必须填写与户主关系",
    "name": "新成员必须填写姓名",
}
HEAD: Final = "head"  # the relation of the one head a household has

# A conflict with a person or household outside the user's scope is answered without saying
# what, where or whom it conflicts with (no region, household code or name): the check must not
# tell a village cadre that a number is registered elsewhere in the county.
ID_NUMBER_UNUSABLE = "该证件号码无法在本次导入中使用，请与县级管理员联系核实"
HOUSEHOLD_CODE_UNUSABLE = "该户编号无法在本次导入中使用，请与县级管理员联系核实"


def one_head(first_row: int) -> str:
    """The reason a second head of the same household is refused."""
    return f"每户只能有一名户主（已有第 {first_row} 行）"


def village_refusal(village: str, known: bool, visible: bool) -> str:
    """Why a household's village is refused ("" when it is not): unknown, or outside the
    importing user's scope."""
    if not known:
        return f"村级区划代码“{village}”在区划表中不存在"
    if not visible:
        return "该村不在您的管理范围内，不能导入"
    return ""


def comparable(key: str, value: Any) -> Any:
    if key == "village" and hasattr(value, "code"):
        return value.code
    if isinstance(value, Decimal):
        return value.normalize()
    return value


def changes(current: dict[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """The values of `incoming` that differ from `current` (the registry's): what a file changes."""
    return {k: v for k, v in incoming.items() if comparable(k, current.get(k)) != comparable(k, v)}


def household_type_status(kind: str, status: str | None) -> tuple[str | None, str]:
    """The poverty status a 户类型 / 是否建档立卡 cell (`kind`) gives with the 脱贫状态 of the same
    household (`status`, None when not given), and why the two disagree ("" when they agree).
    A registered household without a status keeps the registry's (or the new household's default)."""
    if kind == "ordinary":
        if status not in (None, c.NOT_REGISTERED):
            return (
                None,
                f"户类型为一般农户（未建档立卡），脱贫状态却为“{c.POVERTY_STATUS[str(status)]}”",
            )
        return c.NOT_REGISTERED, ""
    if status == c.NOT_REGISTERED:
        return None, "户类型为建档立卡户，脱贫状态却为“未建档立卡(一般农户)”"
    return status, ""
