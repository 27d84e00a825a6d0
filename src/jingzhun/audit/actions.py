"""Writing audit events. Called by every action inside that action's own transaction."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from jingzhun.core import context

from .models import AuditChainHead, AuditEvent

GENESIS = "0" * 64


def event_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    """SHA-256 over the previous hash and the event's canonical JSON."""
    payload = json.dumps(
        fields, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":")
    )
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


def _chain_fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "at": event.at.isoformat(),
        "actor_id": event.actor_id,
        "actor_name": event.actor_name,
        "role": event.role,
        "ip": event.ip,
        "request_id": event.request_id,
        "channel": event.channel,
        "event": event.event,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "outcome": event.outcome,
        "reason": event.reason,
        "diff": event.diff,
    }


def record(
    event: str,
    *,
    actor: Any,
    object_type: str = "",
    object_id: object = "",
    outcome: str = "success",
    reason: str = "",
    diff: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain. Must run inside the caller's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit.record must be called inside the action's transaction")
    ctx = context.current()
    head, _ = AuditChainHead.objects.select_for_update().get_or_create(id=1)
    row = AuditEvent(
        at=timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=getattr(actor, "username", "") or "system",
        role=getattr(actor, "role", "") or "",
        ip=ctx.ip,
        request_id=ctx.request_id,
        channel=ctx.channel,
        event=event,
        object_type=object_type,
        object_id=str(object_id),
        outcome=outcome,
        reason=reason[:500],
        diff=diff or {},
        prev_hash=head.last_hash,
    )
    row.hash = event_digest(head.last_hash, _chain_fields(row))
    row.save(force_insert=True)
    AuditChainHead.objects.filter(id=1).update(last_hash=row.hash)
    return row


def verify_chain() -> int | None:
    """Return the id of the first event whose hash does not match, or None when the chain holds."""
    prev = GENESIS
    for row in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        if row.prev_hash != prev or event_digest(prev, _chain_fields(row)) != row.hash:
            return row.id
        prev = row.hash
    return None


@transaction.atomic
def record_now(event: str, **kwargs: Any) -> AuditEvent:
    """Record an event that has no surrounding action (a login, a refused request)."""
    return record(event, **kwargs)
