"""Code tables of the command structure, responsibility lists and scheduled tasks (issue 24
item 1). Codes are lower-case English; the labels are the Chinese shown in the UI."""

from __future__ import annotations

# The command structure as the county reports describe it: a headquarters (指挥部), special
# squads (专班) under it, and the leaders responsible for each township and village (包乡/包村).
UNIT_KINDS = {
    "headquarters": "指挥部",
    "squad": "专班",
    "township_leader": "包乡领导",
    "village_leader": "包村领导",
}
# The region level each kind is attached to.
UNIT_LEVELS = {
    "headquarters": "county",
    "squad": "county",
    "township_leader": "township",
    "village_leader": "village",
}

LEVELS = {"county": "县级", "township": "乡镇级", "village": "村级"}

SCHEDULES = {"weekly": "每周调度", "monthly": "每月调度"}

OPEN, DONE = "open", "done"
TASK_STATUSES = {OPEN: "推进中", DONE: "已完成"}

ESCALATION_REASONS = {"overdue": "逾期未完成", "missing_report": "未按期报送进展"}

RULES_TABLE = "duty_rules"
