"""Writing audit events. Called by every action inside that action's own transaction."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from jingzhun.core import context
from jingzhun.core.errors import DomainError, Forbidden

from .keys import AuditKey, all_keys, key_by_id, signing_key
from .models import AuditArchive, AuditChainHead, AuditEvent

GENESIS = "0" * 64


def _canonical(fields: dict[str, Any]) -> str:
    return json.dumps(
        fields, ensure_ascii=False, sort_keys=True, default=str, separators=(",", ":")
    )


def event_digest(prev_hash: str, fields: dict[str, Any], key: AuditKey | None = None) -> str:
    """HMAC-SHA256 with the audit key over the previous hash and the event's canonical JSON; plain
    SHA-256 without a key (events written before the chain was keyed, ADR 0050)."""
    message = (prev_hash + _canonical(fields)).encode("utf-8")
    return key.mac(message) if key is not None else hashlib.sha256(message).hexdigest()


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
    row.hash = event_digest(head.last_hash, _chain_fields(row), signing_key())
    row.save(force_insert=True)
    AuditChainHead.objects.filter(id=1).update(last_hash=row.hash)
    return row


@dataclass(frozen=True)
class ChainReport:
    """The outcome of a chain check. `broken`: the first event that does not verify (or the
    anchored event that no longer matches its anchor); `legacy`: unkeyed events (written before
    the chain was keyed), which only an anchor protects against a rewrite."""

    broken: int | None
    events: int
    legacy: int
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.broken is None


def _event_key(
    prev: str, row: AuditEvent, keys: list[AuditKey], keyed: bool
) -> tuple[bool, AuditKey | None]:
    """Whether the row verifies, and the key whose MAC it carries (None: a legacy row)."""
    message = (prev + _canonical(_chain_fields(row))).encode("utf-8")
    for key in keys:
        if hmac.compare_digest(key.mac(message), row.hash):
            return True, key
    # An unkeyed event is accepted only before the first keyed one.
    return not keyed and hmac.compare_digest(hashlib.sha256(message).hexdigest(), row.hash), None


def check_chain(anchor: dict[str, Any] | None = None) -> ChainReport:
    """Walk the chain: every event must chain to the one before and carry the MAC of one of the
    audit keys (or, before the first keyed event, the plain SHA-256 of the events written before
    the chain was keyed). With an anchor (`read_anchor`), the anchored event must still carry the
    anchored hash: a chain rewritten with recomputed hashes no longer does.

    After a purge the chain starts at the first remaining event, whose `prev_hash` must be the
    last hash of an archive (AuditArchive); otherwise it starts at the genesis hash.
    """
    keys = all_keys()
    head = AuditChainHead.objects.filter(id=1).values_list("last_hash", flat=True).first()
    prev: str | None = None
    anchors = set(AuditArchive.objects.values_list("last_hash", flat=True))
    events = legacy = 0
    keyed = False
    for row in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        if prev is None:
            prev = row.prev_hash if row.prev_hash in anchors else GENESIS
        ok, key = _event_key(prev, row, keys, keyed) if row.prev_hash == prev else (False, None)
        if not ok:
            return ChainReport(row.id, events, legacy, "哈希不符或与前一条不相连")
        if key is None:
            legacy += 1
        else:
            keyed = True
            keys = [key] + [k for k in keys if k is not key]  # the usual key first
        events += 1
        prev = row.hash
    missing_head = head and head != GENESIS and head not in anchors
    if missing_head and not AuditEvent.objects.filter(hash=head).exists():
        # The newest events were removed: the chain head still names the missing last hash.
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        return ChainReport(last, events, legacy, "最新的事件已被删除")
    if anchor is not None:
        problem = _anchor_problem(anchor)
        if problem:
            return ChainReport(int(anchor["last_id"]), events, legacy, problem)
    return ChainReport(None, events, legacy)


def verify_chain(anchor: dict[str, Any] | None = None) -> int | None:
    """Return the id of the first event whose hash does not match, or None when the chain holds
    (and matches the anchor, when one is given). See `check_chain`."""
    return check_chain(anchor).broken


# --- Anchors: the chain head signed with the audit key, kept by the audit administrator -----------

ANCHOR_FORMAT = "jingzhun-audit-anchor/1"
ANCHOR_FIELDS = ("format", "last_id", "last_hash", "events", "written_at", "key_id")


def _anchor_mac(anchor: dict[str, Any], key: AuditKey) -> str:
    return key.mac(_canonical({k: anchor.get(k) for k in ANCHOR_FIELDS}).encode("utf-8"))


def _anchor_problem(anchor: dict[str, Any]) -> str:
    key = key_by_id(str(anchor.get("key_id", "")))
    if key is None:
        return "锚点文件由未知的审计密钥签名"
    if not hmac.compare_digest(_anchor_mac(anchor, key), str(anchor.get("mac", ""))):
        return "锚点文件的签名无效（文件被修改，或密钥不符）"
    last_id = int(anchor["last_id"])
    stored = AuditEvent.objects.filter(id=last_id).values_list("hash", flat=True).first()
    if stored is None:
        archived = AuditArchive.objects.filter(first_id__lte=last_id, last_id__gte=last_id)
        return "" if archived.exists() else f"锚点记录的事件 #{last_id} 已不存在"
    if not hmac.compare_digest(stored, str(anchor["last_hash"])):
        return f"事件 #{last_id} 与锚点不符：锚点之前的审计记录已被改写"
    return ""


def read_anchor(path: Path) -> dict[str, Any]:
    """An anchor file, or the latest (highest event id) of the anchor files in a directory."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    found: list[dict[str, Any]] = []
    for file in files:
        try:
            anchor = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DomainError(f"无法读取锚点文件 {file}：{exc}") from exc
        if not isinstance(anchor, dict) or anchor.get("format") != ANCHOR_FORMAT:
            if path.is_dir():
                continue
            raise DomainError(f"{file} 不是审计锚点文件。")
        if not isinstance(anchor.get("last_id"), int) or not isinstance(
            anchor.get("last_hash"), str
        ):
            raise DomainError(f"锚点文件 {file} 的内容不完整。")
        found.append(anchor)
    if not found:
        raise DomainError(f"{path} 中没有审计锚点文件。")
    return max(found, key=lambda a: int(a["last_id"]))


@transaction.atomic
def do_anchor_audit_chain(out: Path, *, actor: Any) -> dict[str, Any]:
    """Write the chain head, signed with the audit key, to `out` (JSON). The anchoring is audited
    first, so the anchored head is the anchoring event itself."""
    if actor is not None and getattr(actor, "role", "") not in AUDIT_READER_ROLES:
        raise Forbidden("只有审计管理员可以生成审计锚点。")
    if out.exists():
        raise DomainError(f"锚点文件已存在：{out}")
    event = record("audit.anchor", actor=actor, object_type="audit_event", diff={"file": out.name})
    key = signing_key()
    anchor: dict[str, Any] = {
        "format": ANCHOR_FORMAT,
        "last_id": event.id,
        "last_hash": event.hash,
        "events": AuditEvent.objects.count(),
        "written_at": event.at.isoformat(),
        "key_id": key.id,
    }
    anchor["mac"] = _anchor_mac(anchor, key)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(anchor, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return anchor


@transaction.atomic
def record_now(event: str, **kwargs: Any) -> AuditEvent:
    """Record an event that has no surrounding action (a login, a refused request)."""
    return record(event, **kwargs)


OUT_OF_SCOPE = "access.request.out_of_scope"
OUT_OF_SCOPE_EVERY = datetime.timedelta(minutes=1)


@transaction.atomic
def record_out_of_scope(actor: Any, *, route: str, path: str, method: str) -> AuditEvent | None:
    """A request for something outside the actor's scope, answered 404 (AUDIT-1: denied
    attempts are logged too). At most one event per actor and route a minute: a script walking
    household numbers leaves one event a minute, not one row per number (ADR 0047), so the
    chain cannot be flooded; the event names the first path of its minute. None when skipped."""
    if getattr(actor, "pk", None) is None:
        return None
    since = timezone.now() - OUT_OF_SCOPE_EVERY
    recent = AuditEvent.objects.filter(
        event=OUT_OF_SCOPE, actor=actor, object_type=route[:64], at__gte=since
    )
    if recent.exists():
        return None
    return record(
        OUT_OF_SCOPE,
        actor=actor,
        object_type=route[:64],
        object_id=path[:64],
        outcome="refused",
        diff={"method": method},
    )


# --- The audit administrator's viewer (AUDIT-1: audit queries are audited too) -----------------

AUDIT_READER_ROLES = frozenset({"auditadmin"})


@dataclass(frozen=True)
class AuditQuery:
    since: datetime.datetime | None = None
    until: datetime.datetime | None = None
    actor: str = ""
    event: str = ""
    object_type: str = ""
    object_id: str = ""

    def described(self) -> dict[str, Any]:
        return {k: str(v) for k, v in asdict(self).items() if v}


@transaction.atomic
def do_search_audit_events(query: AuditQuery, *, actor: Any, limit: int = 200) -> list[AuditEvent]:
    """Events matching the query, newest first (audit administrator only); the search is audited."""
    if actor is not None and (
        not getattr(actor, "is_active", False) or actor.role not in AUDIT_READER_ROLES
    ):
        raise Forbidden("只有审计管理员可以查阅审计日志。")
    qs = AuditEvent.objects.all()
    if query.since:
        qs = qs.filter(at__gte=query.since)
    if query.until:
        qs = qs.filter(at__lt=query.until)
    if query.actor:
        qs = qs.filter(actor_name__iexact=query.actor.strip())
    if query.event:
        qs = qs.filter(event__startswith=query.event.strip())
    if query.object_type:
        qs = qs.filter(object_type=query.object_type.strip())
    if query.object_id:
        qs = qs.filter(object_id=query.object_id.strip())
    rows = list(qs.order_by("-id")[:limit])
    record(
        "audit.query",
        actor=actor,
        object_type="audit_event",
        diff={"query": query.described(), "rows": len(rows)},
    )
    return rows


# --- Archive and purge (AUDIT-3) ------------------------------------------------------------


@transaction.atomic
def do_archive_audit_events(
    before: datetime.datetime, out: Path, *, actor: Any
) -> AuditArchive | None:
    """Write the not yet archived events older than `before` to `out` (JSON lines) and mark them
    archived. None when there is nothing to archive."""
    last = AuditArchive.objects.order_by("-last_id").values_list("last_id", flat=True).first() or 0
    digest = hashlib.sha256()
    count = 0
    first_row: AuditEvent | None = None
    final: AuditEvent | None = None
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as fh:
        # A contiguous run from the last archive on, up to the first event not older than `before`.
        for row in AuditEvent.objects.filter(id__gt=last).order_by("id").iterator(chunk_size=2000):
            if row.at >= before:
                break
            line = (
                json.dumps(
                    {
                        "id": row.id,
                        "prev_hash": row.prev_hash,
                        "hash": row.hash,
                        **_chain_fields(row),
                    },
                    ensure_ascii=False,
                    sort_keys=True,
                    default=str,
                ).encode("utf-8")
                + b"\n"
            )
            fh.write(line)
            digest.update(line)
            count += 1
            first_row = first_row or row
            final = row
    if first_row is None or final is None:
        out.unlink(missing_ok=True)
        return None
    archive = AuditArchive.objects.create(
        first_id=first_row.id,
        last_id=final.id,
        last_hash=final.hash,
        last_at=final.at,
        event_count=count,
        sha256=digest.hexdigest(),
        path=str(out),
    )
    record(
        "audit.archive",
        actor=actor,
        object_type="audit_archive",
        object_id=archive.pk,
        diff={
            "first_id": archive.first_id,
            "last_id": archive.last_id,
            "events": count,
            "sha256": archive.sha256,
        },
    )
    return archive


@transaction.atomic
def do_purge_audit_events(*, actor: Any, now: datetime.datetime | None = None) -> int:
    """Delete archived events older than the retention (never below 180 days), whole archives at a
    time so that the remaining chain starts at an archive's last hash. Returns the rows deleted."""
    from .guard import deletion_mode
    from .retention import retention_days

    cutoff = (now or timezone.now()) - datetime.timedelta(days=retention_days())
    deleted = 0
    with deletion_mode("purge"):
        for archive in AuditArchive.objects.order_by("first_id"):
            if archive.last_at >= cutoff:
                break  # purges remove a prefix of the chain, whole archives at a time
            n, _ = AuditEvent.objects.filter(
                id__gte=archive.first_id, id__lte=archive.last_id, at__lt=cutoff
            ).delete()
            deleted += n
    record(
        "audit.purge",
        actor=actor,
        object_type="audit_event",
        diff={"deleted": deleted, "cutoff": cutoff.isoformat()},
    )
    return deleted
