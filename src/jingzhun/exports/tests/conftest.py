"""Helpers of the export tests: read .xlsx back through LibreOffice, PDF text through pypdf."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from jingzhun.access.actions import do_set_unmasked_export

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


def lo_rows(data: bytes, tmp_path: Path) -> list[list[str]]:
    """The first sheet of an .xlsx as LibreOffice reads it (headless conversion to CSV, UTF-8)."""
    if SOFFICE is None:
        pytest.skip(
            "LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui"
        )
    folder = tmp_path / "lo"
    folder.mkdir(exist_ok=True)
    source = folder / "export.xlsx"
    source.write_bytes(data)
    profile = (tmp_path / "lo-profile").as_uri()
    result = subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            # CSV filter options: comma, double quote, UTF-8 (76), first line 1, formulas as shown.
            "csv:Text - txt - csv (StarCalc):44,34,76,1",
            "--outdir",
            str(folder),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    target = folder / "export.csv"
    assert target.exists(), result.stdout + result.stderr
    with target.open(encoding="utf-8", newline="") as f:
        return list(csv.reader(f))


def pdf_text(data: bytes) -> str:
    """The text of every page, lines joined: a value wrapped inside a table cell reads whole."""
    reader = PdfReader(io.BytesIO(data))
    assert reader.pages, "a PDF with no pages"
    return "".join((page.extract_text() or "").replace("\n", "") for page in reader.pages)


def permit(user: Any) -> Any:
    return do_set_unmasked_export(user, True, actor=None)


def secrets_of(world: Any) -> list[str]:
    """Every full ID number, phone and bank account of the world."""
    from jingzhun.registry.models import Household, Member

    ids = list([m.id_number for m in Member.objects.all()])
    return ids + [v for h in Household.objects.all() for v in (h.phone, h.bank_account) if v]


def approval(requester: Any, kind: str, *, region: str = "", household: Any = None) -> int:
    """An approved request of `requester` (who is given the permission) for one unmasked export
    of `region` (default: the requester's first granted region) or of one household: asked with
    a reason, approved by a second county user of that county who holds the permission."""
    from jingzhun.access.models import RegionGrant, User
    from jingzhun.access.scoping import granted_codes
    from jingzhun.exports.actions import do_approve_unmasked_export, do_request_unmasked_export

    permit(requester)
    requester.refresh_from_db()
    region = region or granted_codes(requester)[0]
    county = region[:6] + "000000"
    approver = User.objects.filter(username=f"approver-{county}").first()
    if approver is None:
        approver = User.objects.create_user(username=f"approver-{county}", role="county")
        RegionGrant.objects.create(user=approver, region_id=county)
        permit(approver)
        approver.refresh_from_db()
    request = do_request_unmasked_export(
        kind,
        "核对银行账号，发放补贴",
        actor=requester,
        region_code="" if household is not None else region,
        household_id=household.pk if household is not None else None,
    )
    return do_approve_unmasked_export(request.pk, actor=approver).pk
