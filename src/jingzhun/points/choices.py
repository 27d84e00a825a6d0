"""Code tables of the points shops (爱心超市) and star ratings (五星新农家), issue 23 item 5."""

from __future__ import annotations

from typing import Final

ENTRY_KINDS: Final = {
    "earn": "积分获得",
    "redeem": "积分兑换",
    "reversal": "冲正",
}
# An earning under an appraisal item waits for the village's monthly appraisal to be posted
# (pending) and counts once the posting period is over (counted); everything else counts at once.
ENTRY_STATES: Final = {"pending": "待评议公示", "counted": "已计入"}
APPRAISAL_STATES: Final = {"open": "评议中", "posted": "公示中", "confirmed": "已确认"}
RATING_STATES: Final = {"draft": "已评定", "posted": "已公示"}

# Roles: who reads and who writes.
POINTS_READERS: Final = frozenset({"county", "township", "village", "auditor"})
POINTS_RECORDERS: Final = frozenset({"county", "township", "village"})  # earn, redeem, rate
SHOP_MANAGERS: Final = frozenset({"county", "township"})  # shops, goods, stock
