"""Probabilistic linking in the application (issue 22 item 2; ADR 0067): a loaded batch's rows
whose ID number is missing or damaged are linked to residents by `feeds.linking` (Splink on DuckDB); pairs in the uncertain band wait in
`LinkReview` for a person, and decisions are remembered for later rosters of the feed
(`FeedRow.fingerprint`).

Residents are read through Django's connection (the job's own transaction: committed or not),
in chunks, into DuckDB: every live member of a live household, whatever the household's status
(registered, monitored or an ordinary rural household). Names, birth dates, sexes and villages
are plain columns of the registry; nothing encrypted is opened.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from jingzhun.access.scoping import household_filter
from jingzhun.audit.actions import record
from jingzhun.core import duck
from jingzhun.core.errors import DomainError, Forbidden, OutOfScope, StaleVersion
from jingzhun.core.fieldcrypt import blind_index
from jingzhun.regions.models import Region
from jingzhun.registry.models import Member

from . import linking
from .models import FeedBatch, FeedRow, LinkReview

CHUNK: Final = 50_000
# Who decides a pair: the feed's liaison, county and township staff of the household's region.
DECIDER_ROLES: Final = frozenset({"county", "township"})
DECISIONS: Final = {"accepted": "确认是同一人", "rejected": "不是同一人"}
IDENTITY: Final = ("birth_date", "sex", "residence")


def fingerprint(name: str, id_raw: Any, values: dict[str, Any]) -> str:
    """Keyed HMAC (the registry's index key) of a row's identity cells as written: the same
    person written the same way in a later roster has the same fingerprint. Never reversible
    without the key (an ID number alone would be guessable from a plain hash)."""
    raw = "" if id_raw is None else str(id_raw).strip().upper()
    parts = [name.strip(), raw, *(str(values.get(k) or "").strip() for k in IDENTITY)]
    return blind_index("feed_row", "\x1f".join(parts))


def linking_settings() -> dict[str, Any]:
    return dict(settings.FEEDS_LINKING)


# --- reading into DuckDB -------------------------------------------------------------------


def _arrow(columns: dict[str, list[Any]], types: dict[str, Any]) -> Any:
    import pyarrow as pa

    return pa.table({k: pa.array(v, types[k]) for k, v in columns.items()})


def load_table(
    con: Any,
    table: str,
    rows: Iterable[tuple[Any, ...]],
    names: tuple[str, ...],
    ints: tuple[str, ...] = ("unique_id", "household_id"),
) -> None:
    """Create DuckDB table `table` from Python rows, chunk by chunk (all columns text but the
    BIGINT ids `ints`)."""
    import pyarrow as pa

    types = {n: pa.int64() if n in ints else pa.string() for n in names}
    created = False

    def flush(chunk: list[tuple[Any, ...]]) -> None:
        nonlocal created
        cols = {n: [r[i] for r in chunk] for i, n in enumerate(names)}
        con.register("chunk_in", _arrow(cols, types))
        if created:
            con.execute(f"INSERT INTO {table} SELECT * FROM chunk_in")
        else:
            con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM chunk_in")
            created = True
        con.unregister("chunk_in")

    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            flush(chunk)
            chunk = []
    if chunk or not created:
        flush(chunk)


def _residents() -> Iterator[tuple[Any, ...]]:
    members = Member.objects.filter(household__deleted_at__isnull=True).values_list(
        "pk",
        "household_id",
        "name",
        "sex",
        "birth_date",
        "household__village_id",
        "household__township_code",
        "household__county_code",
    )
    for pk, hh, name, sex, born, village, township, county in members.iterator(chunk_size=CHUNK):
        yield (
            pk,
            hh,
            name,
            sex,
            born.strftime("%Y%m%d") if born else None,
            village,
            township,
            county,
        )


def _villages() -> Iterator[tuple[Any, ...]]:
    for code, name, township in Region.objects.filter(level="village").values_list(
        "code", "name", "parent__name"
    ):
        yield code, name, township, code[:6] + "000000"


def _row_input(row: FeedRow) -> tuple[Any, ...]:
    values, hints = row.values or {}, row.hints or {}
    born = values.get("birth_date")
    return (
        row.pk,
        row.name,
        born.replace("-", "") if isinstance(born, str) else None,
        values.get("sex"),
        values.get("residence"),
        hints.get("birth"),
        hints.get("sex"),
        hints.get("county"),
    )


def candidates_for(rows: list[FeedRow], policy: dict[str, Any]) -> list[linking.Candidate]:
    """Score `rows` against every resident (DuckDB in memory, spilling under var/)."""
    con = duck.connect(memory_limit=policy.get("memory") or None)
    try:
        load_table(
            con,
            "link_residents",
            _residents(),
            (
                "unique_id",
                "household_id",
                "name",
                "sex",
                "birth",
                "village_code",
                "township_code",
                "county_code",
            ),
        )
        load_table(
            con, "link_villages", _villages(), ("code", "name", "township_name", "county_code")
        )
        load_table(
            con,
            "link_rows",
            (_row_input(r) for r in rows),
            ("unique_id", "name", "birth", "sex", "residence", "id_birth", "id_sex", "id_county"),
        )
        linking.prepare(con)
        return linking.predict(con, review=policy["review"], prior_floor=policy["prior_floor"])
    finally:
        con.close()


# --- the batch step --------------------------------------------------------------------------


def link_batch(batch_id: int) -> None:
    """Link the batch's rows with a missing or damaged ID (status invalid): remembered
    decisions first (an accepted pair links the row, a rejected one is never offered again, a
    pending one keeps the row waiting), then Splink; links are written to the rows (status
    matched, method linked), uncertain pairs into the review queue (status review)."""
    batch = FeedBatch.objects.select_related("source").get(pk=batch_id)
    rows = list(FeedRow.objects.filter(batch_id=batch_id, status="invalid").order_by("pk"))
    if not rows:
        return
    policy = linking_settings()
    prints = {r.fingerprint for r in rows if r.fingerprint}
    known: dict[tuple[str, int], LinkReview] = {
        (lr.fingerprint, lr.member_id): lr
        for lr in LinkReview.objects.filter(source=batch.source, fingerprint__in=prints)
    }
    accepted = {fp: lr for (fp, _m), lr in known.items() if lr.status == "accepted"}
    changed: list[FeedRow] = []
    open_rows = []
    for row in rows:
        decided = accepted.get(row.fingerprint)
        if decided is not None:
            _link(row, decided.member_id, decided.household_id, "reviewed", decided.probability)
            changed.append(row)
        else:
            open_rows.append(row)
    found = candidates_for(open_rows, policy) if open_rows else []
    by_id = {r.pk: r for r in open_rows}
    kept = [
        c
        for c in found
        if getattr(known.get((by_id[c.row_id].fingerprint, c.member_id)), "status", "")
        != "rejected"
    ]
    outcome = linking.classify(
        kept, match=policy["match"], review=policy["review"], keep=policy.get("keep", 3)
    )
    waiting = {fp for (fp, _m), lr in known.items() if lr.status == "pending"}
    new_reviews: list[LinkReview] = []
    for row_id, row in by_id.items():
        link = outcome.links.get(row_id)
        queue = outcome.review.get(row_id, [])
        if link is not None and row.fingerprint not in waiting:
            _link(row, link.member_id, link.household_id, "linked", link.probability)
            changed.append(row)
            continue
        if not queue and row.fingerprint not in waiting:
            continue
        row.status, row.probability = "review", queue[0].probability if queue else None
        changed.append(row)
        for cand in queue or ([link] if link else []):
            if (row.fingerprint, cand.member_id) in known:
                continue
            new_reviews.append(
                LinkReview(
                    source=batch.source,
                    fingerprint=row.fingerprint,
                    row=row,
                    member_id=cand.member_id,
                    household_id=cand.household_id,
                    probability=cand.probability,
                    levels=cand.levels,
                )
            )
            known[(row.fingerprint, cand.member_id)] = new_reviews[-1]
    with transaction.atomic():
        FeedRow.objects.bulk_update(
            changed,
            ["status", "member", "household", "match_method", "probability"],
            batch_size=2000,
        )
        LinkReview.objects.bulk_create(new_reviews, batch_size=2000)


def _link(row: FeedRow, member_id: int, household_id: int, method: str, p: float | None) -> None:
    row.status, row.member_id, row.household_id = "matched", member_id, household_id
    row.match_method, row.probability = method, p


def batch_counts(batch_id: int) -> dict[str, int]:
    rows = FeedRow.objects.filter(batch_id=batch_id)
    counts = dict.fromkeys(("matched", "unmatched", "invalid", "review"), 0)
    for found in rows.values("status").annotate(n=Count("pk")).order_by():
        counts[found["status"]] = found["n"]
    counts["linked"] = rows.filter(
        status="matched", match_method__in=("linked", "reviewed")
    ).count()
    return counts


# --- decisions -------------------------------------------------------------------------------


def may_decide(actor: Any, review: LinkReview) -> bool:
    if actor.role == "liaison":
        return review.source.liaison_id == actor.pk
    return actor.role in DECIDER_ROLES


@transaction.atomic
def do_decide_link(
    review_id: int, expected_version: int, decision: str, note: str = "", *, actor: Any
) -> LinkReview:
    """Accept (the roster row is this resident: the row counts as matched, so the feed's red
    lines and warnings apply to the household) or reject a pair of the review queue. Accepting
    one candidate rejects the row's others; the decision holds for later rosters of the feed
    with the same row fingerprint."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise Forbidden("请先登录。")
    if actor.role != "liaison" and actor.role not in DECIDER_ROLES:
        raise Forbidden("只有该数据源的联络员或县、乡两级业务人员可以核对匹配。")
    scope = (
        Q(source__liaison=actor)
        if actor.role == "liaison"
        else household_filter(actor, prefix="household__")
    )
    review = (
        LinkReview.objects.select_for_update()
        .filter(scope, pk=review_id)
        .select_related("source")
        .first()
    )
    if review is None:
        raise OutOfScope("未找到该待核对记录，或您无权访问。")
    if not may_decide(actor, review):
        raise Forbidden("只有该数据源的联络员或县、乡两级业务人员可以核对匹配。")
    if review.version != expected_version:
        raise StaleVersion("该记录已被他人核对或修改，请刷新页面后查看最新情况。")
    if decision not in DECISIONS:
        raise DomainError("请选择核对结果：确认是同一人，或不是同一人。", field="decision")
    if review.status != "pending":
        raise DomainError(
            f"该记录已核对（{DECISIONS.get(review.status, review.status)}）。", field="decision"
        )
    now = timezone.now()
    text = note.strip()[:200]
    LinkReview.objects.filter(pk=review.pk, version=expected_version).update(
        status=decision,
        note=text,
        decided_by=actor,
        decided_at=now,
        version=F("version") + 1,
        updated_at=now,
    )
    same_row = LinkReview.objects.filter(
        source=review.source, fingerprint=review.fingerprint, status="pending"
    ).exclude(pk=review.pk)
    rows = FeedRow.objects.filter(
        batch__source=review.source, fingerprint=review.fingerprint, status="review"
    )
    batches = set(rows.values_list("batch_id", flat=True))
    others = 0
    if decision == "accepted":
        others = same_row.update(
            status="rejected",
            note="已确认另一候选",
            decided_by=actor,
            decided_at=now,
            version=F("version") + 1,
            updated_at=now,
        )
        rows.update(
            status="matched",
            member_id=review.member_id,
            household_id=review.household_id,
            match_method="reviewed",
            probability=review.probability,
        )
    elif not same_row.exists():
        rows.update(status="invalid", probability=None)
    for batch_id in batches:
        FeedBatch.objects.filter(pk=batch_id).update(**batch_counts(batch_id))
    record(
        "feeds.link.decide",
        actor=actor,
        object_type="feed_link_review",
        object_id=review.pk,
        reason=text,
        diff={
            "status": ["pending", decision],
            "source": review.source.code,
            "member": review.member_id,
            "household": review.household_id,
            "probability": round(review.probability, 4),
            "rows": len(batches),
            "others_rejected": others,
        },
    )
    review.refresh_from_db()
    return review
