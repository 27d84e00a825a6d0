"""API route of department feeds (issue 22 item 1): a machine push of roster rows.

POST /api/feeds/{source}/batches with the pushing system's batch id: the same id twice stores
once (200 with the stored batch; 201 the first time). The rows go the same way as an uploaded
file (the contained reader, the same checks) and are loaded by `jingzhun worker`.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from django.http import HttpRequest
from ninja import Path, Router, Schema
from pydantic import Field

from jingzhun.core.errors import DomainError
from jingzhun.feeds.actions import do_submit_roster

from . import schemas as s

POLICY_KEY = "x-jingzhun-policy"
AUTHENTICATED = {POLICY_KEY: "authenticated"}
Cell = str | int | float | None

router = Router(tags=["部门数据"])


class FeedPushIn(Schema):
    batch_id: str = Field(
        ..., pattern=r"^[A-Za-z0-9._:-]{1,80}$", description="推送方的批次号：同一批次号只保存一次"
    )
    rows: list[dict[str, Cell]] = Field(
        ...,
        min_length=1,
        max_length=200_000,
        description="名册行：键为数据源目录中的列代码（id_number、name、…）",
    )


class FeedPushOut(Schema):
    batch: int
    status: str
    created: bool = Field(description="false：该批次号已保存过，本次未重复保存")


def _csv(rows: list[dict[str, Cell]]) -> bytes:
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(k for k in row if isinstance(k, str) and k.strip()))
    if "id_number" not in keys:
        raise DomainError("推送的名册行缺少 id_number（证件号码）。", field="rows")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(keys))
    for row in rows:
        writer.writerow(["" if row.get(k) is None else str(row.get(k)) for k in keys])
    return out.getvalue().encode("utf-8")


@router.post(
    "/feeds/{source}/batches",
    response={200: FeedPushOut, 201: FeedPushOut, **s.WRITE},
    summary="部门名册推送：同一批次号只保存一次，由后台任务比对",
    openapi_extra=AUTHENTICATED,
)
def push(
    request: HttpRequest,
    body: FeedPushIn,
    source: str = Path(..., pattern=r"^[a-z][a-z0-9_]{0,31}$"),
) -> tuple[int, dict[str, Any]]:
    submitted = do_submit_roster(
        source,
        f"push-{body.batch_id}.csv",
        _csv(body.rows),
        actor=request.auth,  # type: ignore[attr-defined]
        origin="push",
        batch_key=f"push:{body.batch_id}",
    )
    batch = submitted.batch
    out = {"batch": batch.pk, "status": batch.status, "created": submitted.created}
    return (201 if submitted.created else 200), out
