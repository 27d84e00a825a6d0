"""Code tables of requests and grievances (issue 24 item 3). Codes are lower-case English; the
labels are the Chinese shown in the UI."""

from __future__ import annotations

CHANNELS = {
    "secretary": "有事找书记",
    "hotline": "12317 热线",
    "petition": "信访",
    "self_report": "农户自主申报",
}
# A clue of feeds (ADR 0069) becomes a ticket of this channel.
CLUE_CHANNELS = {"self_report": "self_report", "hotline": "hotline"}

CATEGORIES = {
    "hardship": "生活困难、返贫致贫风险",
    "policy": "政策咨询",
    "assistance": "帮扶措施诉求",
    "funds": "资金项目问题",
    "conduct": "作风问题投诉举报",
    "other": "其他",
}

# open (routed, being handled) → replied → closed; an unsatisfied requester sends it back to open.
OPEN, REPLIED, CLOSED = "open", "replied", "closed"
STATUSES = {OPEN: "办理中", REPLIED: "已答复待回访", CLOSED: "已办结"}

SATISFACTION = {
    "satisfied": "满意",
    "basically": "基本满意",
    "unsatisfied": "不满意",
    "unreachable": "无法联系",
}

ESCALATION_REASONS = {"overdue": "逾期未答复", "repeat": "重复诉求"}

RULES_TABLE = "ticket_rules"

# Age bands of open tickets and problems on the battle map (days since received / found).
AGE_BANDS = {"d0_7": "7 天内", "d8_30": "8-30 天", "d31_90": "31-90 天", "d90": "90 天以上"}
