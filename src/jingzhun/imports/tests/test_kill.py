"""REL-2: an import killed (SIGKILL) in the middle of its commit leaves nothing behind.

A real `jingzhun import` process, on its own SQLite file, is killed as soon as its progress bar
shows the write stage (the commit's transaction is open and has written its first chunk); the
tables are then exactly as before, no file is left beside the database, the same import run
again commits everything, and running it once more changes nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

SETUP = r"""
import csv, os, sys
import django
django.setup()
from django.core.management import call_command
from django.db import transaction
call_command("migrate", verbosity=0)
from jingzhun.demo.actions import DemoSpec, _create_accounts, _write_regions, plan_for
from jingzhun.core.bulk import BulkWriter
from jingzhun.regions.models import Region
from jingzhun.registry.idcard import check_char
plan = plan_for(DemoSpec(county="230231", scale=0.001, seed=1, password="Kill-test-2026"))
with transaction.atomic(), BulkWriter() as writer:
    _write_regions(plan, writer)
    _create_accounts(plan, "Kill-test-2026")
villages = list(Region.objects.filter(level="village").values_list("code", flat=True))
with open(sys.argv[1], "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["户编号", "村级区划代码", "姓名", "证件号码", "性别", "与户主关系", "脱贫状态"])
    for i in range(int(sys.argv[2])):
        first17 = f"230231{1950 + i // 1000 % 60}0101{i % 1000:03d}"
        number = first17 + check_char(first17)
        sex = "男" if int(number[16]) % 2 else "女"
        w.writerow([f"K{i:06d}", villages[i % len(villages)], f"户主{i}", number, sex, "户主", "未脱贫"])
"""

HOUSEHOLDS = 6_000  # three write chunks of 2,000: the kill lands while the second is written
# `jingzhun` itself, with the import's write chunk (20,000 households) cut to 2,000 so that a
# small roster still spans three chunks (other import tests set the same constant in process).
JINGZHUN = [
    sys.executable,
    "-c",
    "import sys, django; django.setup(); from jingzhun.imports import actions; "
    "actions.NEW_CHUNK = 2000; from jingzhun.cli import main; main(sys.argv[1:])",
]


def _counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        tables = {
            "households": "registry_household",
            "members": "registry_member",
            "status": "registry_statuschange",
            "changes": "imports_importchange",
            "copies": "imports_importcreatedcopy",
            "batches": "imports_importbatch",
        }
        return {
            k: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for k, t in tables.items()
        }


def _files(root: Path) -> set[str]:
    return {
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and not p.name.endswith(("-wal", "-shm", "-journal"))
    }


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*JINGZHUN, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_an_import_killed_during_its_commit_leaves_nothing_and_reruns(tmp_path: Path) -> None:
    db = tmp_path / "kill.sqlite3"
    var = tmp_path / "var"
    var.mkdir()
    data = tmp_path / "roster.csv"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "JINGZHUN_VAR_DIR": str(var),
        "DJANGO_SETTINGS_MODULE": "jingzhun.settings.embedded",
    }
    subprocess.run(
        [sys.executable, "-c", SETUP, str(data), str(HOUSEHOLDS)], env=env, check=True, timeout=600
    )
    before = _counts(db)
    files_before = _files(tmp_path)
    # The progress bars draw only on a terminal: give the import a pseudo-terminal for stderr.
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))  # tqdm's width
    process = subprocess.Popen(
        [*JINGZHUN, "import", str(data), "--user", "county"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=slave,
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 600
    try:
        while "写入".encode() not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
            if process.poll() is not None:
                break
        assert process.poll() is None, (
            seen.decode(errors="replace")[-2000:],
            process.stdout.read() if process.stdout else "",
        )
        assert "写入".encode() in seen
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    assert process.returncode == -signal.SIGKILL
    assert _counts(db) == before
    assert _files(tmp_path) == files_before  # no temporary file left behind

    again = _run(env, "import", str(data), "--user", "county")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "导入完成" in again.stdout
    after = _counts(db)
    assert after["households"] == before["households"] + HOUSEHOLDS
    assert after["members"] == before["members"] + HOUSEHOLDS
    assert after["copies"] == before["copies"] + -(-HOUSEHOLDS // 10_000)  # masked copy parts

    once_more = _run(env, "import", str(data), "--user", "county")
    assert once_more.returncode == 0, once_more.stderr[-2000:]
    assert "新增 0，变更 0" in once_more.stdout
    assert _counts(db) == after


QUEUE = r"""
import sys
import django
django.setup()
from pathlib import Path
from jingzhun.access.models import User
from jingzhun.imports.actions import do_queue_import_check, do_queue_import_commit
from jingzhun.imports.models import ImportBatch
county = User.objects.get(username="county")
if sys.argv[1] == "check":
    path = Path(sys.argv[2])
    job = do_queue_import_check(path.read_bytes(), path.name, actor=county)
else:
    job = do_queue_import_commit(ImportBatch.objects.get(status="pending"), actor=county)
print(job.pk)
"""


def _job(db: Path, job_id: int) -> tuple[str, str]:
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT status, error FROM imports_importjob WHERE id = ?", (job_id,)
        ).fetchone()
        return str(row[0]), str(row[1])


def test_a_web_commit_job_killed_while_writing_leaves_nothing_and_can_be_confirmed_again(
    tmp_path: Path,
) -> None:
    """REL-2 for the web path (ADR 0029): the worker running a commit job (`jingzhun worker`) is
    killed once the job's progress file shows the write stage; the registry is as before, the
    batch still pending; the next worker's sweep marks the job and its queue entry failed with the
    reason, and confirming again commits the file once."""
    import json

    db = tmp_path / "kill.sqlite3"
    var = tmp_path / "var"
    var.mkdir()
    data = tmp_path / "roster.csv"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "JINGZHUN_VAR_DIR": str(var),
        "DJANGO_SETTINGS_MODULE": "jingzhun.settings.embedded",
    }
    subprocess.run(
        [sys.executable, "-c", SETUP, str(data), str(HOUSEHOLDS)], env=env, check=True, timeout=600
    )

    def queue(*args: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", QUEUE, *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        return int(done.stdout.strip().splitlines()[-1])

    check = queue("check", str(data))
    assert _run(env, "worker", "--batch").returncode == 0  # the queue carried the job
    assert _job(db, check)[0] == "done"
    before = _counts(db)
    commit = queue("commit")
    progress = var / "imports" / f"job-{commit}.progress"
    process = subprocess.Popen(
        [*JINGZHUN, "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    stage = ""
    deadline = time.monotonic() + 600
    try:
        while stage != "写入" and time.monotonic() < deadline and process.poll() is None:
            with contextlib.suppress(OSError, ValueError):  # not written yet, or being replaced
                stage = json.loads(progress.read_text()).get("stage", "")
            time.sleep(0.05)  # polling the worker's progress file, bounded by the deadline
        assert stage == "写入" and process.poll() is None, stage
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert _counts(db) == before
    assert _job(db, commit)[0] == "running"  # its process is gone: the page shows it interrupted

    swept = _run(env, "worker", "--batch")  # a new worker sweeps first
    assert swept.returncode == 0, swept.stderr[-2000:]
    assert _job(db, commit) == ("failed", "执行进程已中断，未写入任何数据。")
    with sqlite3.connect(db) as conn:
        assert conn.execute(
            "SELECT status, traceback FROM django_tasks_database_dbtaskresult"
            " WHERE task_path LIKE '%run_import_job' ORDER BY enqueued_at"
        ).fetchall() == [("SUCCESSFUL", ""), ("FAILED", "执行进程已中断，未写入任何数据。")]
    again = queue("commit")
    assert _run(env, "worker", "--batch").returncode == 0
    assert _job(db, again)[0] == "done"
    after = _counts(db)
    assert after["households"] == before["households"] + HOUSEHOLDS
    assert after["members"] == before["members"] + HOUSEHOLDS
    assert after["batches"] == before["batches"]  # the pending batch itself was committed
