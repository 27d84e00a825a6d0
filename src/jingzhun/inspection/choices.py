"""Code tables of inspections and problems (issue 24 item 2). Codes are lower-case English; the
labels are the Chinese shown in the UI (their English in locale/en)."""

from __future__ import annotations

INSPECTION_KINDS = {
    "routine": "常规督查",
    "unannounced": "暗访（四不两直）",
    "provincial_feedback": "省级反馈问题",
    "national_feedback": "国家反馈问题",
}

# Problem categories as the county reports group them (识别、退出、帮扶、政策、资金、数据、作风).
PROBLEM_CATEGORIES = {
    "identification": "识别不精准",
    "exit": "退出不实",
    "assistance": "帮扶不实",
    "policy": "政策落实不到位",
    "funds": "资金使用管理",
    "data": "数据信息质量",
    "conduct": "工作作风",
    "other": "其他",
}

# open → submitted (rectification evidence given) → verified (a different user checked it) →
# closed (销号). A failed verification sends it back to open.
OPEN, SUBMITTED, VERIFIED, CLOSED = "open", "submitted", "verified", "closed"
PROBLEM_STATUSES = {
    OPEN: "整改中",
    SUBMITTED: "待核验",
    VERIFIED: "已核验待销号",
    CLOSED: "已销号",
}
# Statuses in which the deadline runs: a problem waiting for its verification is not overdue.
RUNNING = (OPEN,)

ACCOUNTABILITY_MEASURES = {
    "reminder": "谈话提醒",
    "criticism": "通报批评",
    "admonishment": "诫勉",
    "party_discipline": "党纪处分",
    "government_sanction": "政务处分",
    "organisational": "组织处理",
    "other": "其他",
}

RULES_TABLE = "inspection_rules"
