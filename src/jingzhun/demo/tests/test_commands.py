"""`jingzhun demo` and `jingzhun stats` as an operator runs them."""

from __future__ import annotations

import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from jingzhun.access.models import HelperPairing, User
from jingzhun.access.scoping import scope_households
from jingzhun.registry.models import Household, Member

from .conftest import PASSWORD


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_demo_creates_the_five_accounts_with_their_scopes(db: Any) -> None:
    # When the demo is generated for Lindian at a fifth of its size
    output = run(
        "demo",
        "--county",
        "230623",
        "--scale",
        "0.2",
        "--password",
        PASSWORD,
        "--no-serve",
        "--no-progress",
    )

    # Then the accounts are printed with password, role and scope in Chinese
    for username, label in [
        ("county", "县级业务人员"),
        ("township", "乡镇业务人员"),
        ("village", "村级干部"),
        ("helper", "帮扶责任人"),
        ("auditor", "审计查阅人员"),
    ]:
        line = next(x for x in output.splitlines() if x.strip().startswith(username + " "))
        assert PASSWORD in line and label in line
    assert "林甸县" in output and "密码只显示这一次" in output

    # and each account sees what its grant allows
    users = {
        u.username: u
        for u in User.objects.filter(
            username__in=["county", "township", "village", "helper", "auditor"]
        )
    }
    assert {u: users[u].role for u in users} == {
        "county": "county",
        "township": "township",
        "village": "village",
        "helper": "helper",
        "auditor": "auditor",
    }
    assert all(u.check_password(PASSWORD) for u in users.values())
    grants = {u: list(users[u].grants.values_list("region_id", flat=True)) for u in users}
    assert grants["county"] == grants["auditor"] == ["230623000000"]
    township, village = grants["township"][0], grants["village"][0]
    assert village.startswith(township[:9]) and township == min(
        Household.objects.values_list("township_code", flat=True)
    )
    assert grants["helper"] == []
    everyone = Household.objects.count()
    assert scope_households(users["county"], Household.objects.all()).count() == everyone
    in_township = scope_households(users["township"], Household.objects.all())
    assert 0 < in_township.count() < everyone and set(
        in_township.values_list("township_code", flat=True)
    ) == {township}
    in_village = scope_households(users["village"], Household.objects.all())
    assert set(in_village.values_list("village_id", flat=True)) == {village}
    paired = scope_households(users["helper"], Household.objects.all())
    assert paired.count() == HelperPairing.objects.count() == 8
    assert set(paired.values_list("village_id", flat=True)) == {village}
    # the demo helper is a county leader: within that rank's quota where the county has one
    from jingzhun.assistance.quotas import quota_for

    profile = users["helper"].helper_profile
    quota = quota_for(township[:6], profile.kind, timezone.localdate())
    assert profile.kind == "county_leader" and (quota is None or paired.count() <= quota.limit)
    # a work team with a first secretary in each poor village (issue 21 item 1); the demo
    # work-team account is the demo village's first secretary and sees that village only
    from jingzhun.assistance.models import TeamCheckIn, TeamMember, WorkTeam
    from jingzhun.regions.models import Region

    poor = set(Region.objects.filter(is_poor_village=True).values_list("code", flat=True))
    teamed = set(WorkTeam.objects.values_list("village_id", flat=True))
    assert poor and poor <= teamed <= poor | {village}
    secretaries = TeamMember.objects.filter(role="secretary", ended_on__isnull=True)
    assert set(secretaries.values_list("team__village_id", flat=True)) == teamed
    member = User.objects.get(username="workteam")
    assert member.role == "workteam"
    assert secretaries.get(user=member).team.village_id == village
    assert set(
        scope_households(member, Household.objects.all()).values_list("village_id", flat=True)
    ) == {village}
    assert TeamCheckIn.objects.exists()
    # projects at every stage of the bank, with money received, allocated and paid and
    # beneficiaries, all in the demo village (projects.demo, issue 23)
    from jingzhun.projects import lifecycle
    from jingzhun.projects.models import BenefitLink, Posting, Project
    from jingzhun.projects.selectors import project_balance

    assert "10 个项目" in output
    projects = Project.objects.all()
    assert set(projects.values_list("region_id", flat=True)) == {village}
    forward = set(lifecycle.STATES) - {"rejected", "withdrawn"}
    assert set(projects.values_list("state", flat=True)) == forward
    paid = Posting.objects.filter(kind="disbursement")
    assert paid.count() == 10 and all(p.voucher and p.payee for p in paid)
    for project in projects.filter(state__in=["implementing", "accepted"]):
        assert project_balance(project.pk) == project.budget_fen * 40 // 100
    linked = BenefitLink.objects.filter(project__state__in=["evaluated", "handed_over"])
    assert linked.count() == 24
    assert set(linked.values_list("household__village_id", flat=True)) == {village}


def test_demo_random_passwords_are_strong_and_differ(db: Any) -> None:
    output = run("demo", "--county", "230623", "--scale", "0.05", "--no-serve", "--no-progress")
    passwords = {}
    for line in output.splitlines():
        parts = line.split()
        if parts and parts[0] in {"county", "township", "village", "helper", "auditor"}:
            passwords[parts[0]] = parts[1]
    assert len(set(passwords.values())) == 5
    for username, password in passwords.items():
        assert len(password) >= 12
        classes = [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
        assert sum(classes) >= 3
        assert User.objects.get(username=username).check_password(password)


def test_demo_never_overwrites_data_without_reset(db: Any) -> None:
    # Given a generated demo
    run(
        "demo",
        "--county",
        "230623",
        "--scale",
        "0.1",
        "--password",
        PASSWORD,
        "--no-serve",
        "--no-progress",
    )
    before = sorted([m.id_number for m in Member.objects.all()])

    # When it is run again without --reset (and without serving)
    with pytest.raises(CommandError) as refused:
        run(
            "demo",
            "--county",
            "230231",
            "--scale",
            "0.1",
            "--password",
            "Other-pass-2026",
            "--no-serve",
        )

    # Then it refuses with a clear message, and the data and passwords are untouched
    assert "数据库中已有数据，如需重新生成请加 --reset" in str(refused.value)
    assert sorted([m.id_number for m in Member.objects.all()]) == before
    assert User.objects.get(username="county").check_password(PASSWORD)

    # When it is run with --reset
    run(
        "demo",
        "--county",
        "230231",
        "--scale",
        "0.05",
        "--password",
        "Other-pass-2026",
        "--reset",
        "--no-serve",
        "--no-progress",
    )

    # Then the old county is gone and the new one is there
    assert set(Household.objects.values_list("county_code", flat=True)) == {"230231000000"}
    assert User.objects.get(username="county").check_password("Other-pass-2026")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--county", "110101"], "可选：230231 拜泉县"),
        (["--password", "short"], "密码不符合要求"),
        (["--password", "alllowercaseletters"], "至少三类"),
        (["--scale", "0"], "放大倍数"),
    ],
)
def test_demo_refuses_bad_arguments_before_touching_the_database(
    db: Any, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError) as refused:
        run("demo", *args, "--no-serve")
    assert message in str(refused.value)
    assert not Household.objects.exists() and not User.objects.exists()


def test_stats_prints_json_and_a_chinese_table(db: Any) -> None:
    run(
        "demo",
        "--county",
        "230623",
        "--scale",
        "0.1",
        "--password",
        PASSWORD,
        "--no-serve",
        "--no-progress",
    )
    got = json.loads(run("stats", "--county", "230623", "--year", "2018", "--json"))
    assert list(got) == [
        "registered_households",
        "registered_persons",
        "exited_households",
        "exited_persons",
        "remaining_households",
        "remaining_persons",
        "rural_population",
        "poverty_incidence",
        "poor_villages",
        "villages",
        "townships",
        "ordinary_households",
        "ordinary_persons",
        "monitored_households",
    ]
    assert got["poverty_incidence"] == 0.74 and got["villages"] == 83
    # Ordinary households (in the registry since 2021) are shown apart, never as registered
    assert (got["ordinary_households"], got["monitored_households"]) == (0, None)
    end = json.loads(run("stats", "--county", "230623", "--year", "2020", "--json"))
    later = json.loads(run("stats", "--county", "230623", "--year", "2025", "--json"))
    assert later["ordinary_households"] > 0 and later["monitored_households"] > 0
    for key in ("registered_households", "registered_persons", "remaining_persons"):
        assert later[key] == end[key]
    table = run("stats", "--county", "230623000000", "--year", "2018")
    assert "林甸县" in table and "贫困发生率(%)" in table and "0.74" in table


@pytest.mark.parametrize("county", ["999999", "230623100000", "abc"])
def test_stats_refuses_an_unknown_county(db: Any, county: str) -> None:
    with pytest.raises(CommandError) as refused:
        run("stats", "--county", county, "--year", "2019", "--json")
    assert "县" in str(refused.value) or "区划代码" in str(refused.value)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_jingzhun_demo_generates_and_serves_the_web_ui(tmp_path: Path) -> None:
    # Given an empty directory and a free port
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "JINGZHUN_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "jingzhun.settings.embedded",
    }
    command = [
        sys.executable,
        "-m",
        "jingzhun.cli",
        "demo",
        "--county",
        "230623",
        "--scale",
        "0.05",
        "--password",
        PASSWORD,
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        # When the server comes up, it answers on 127.0.0.1
        status = None
        deadline = time.monotonic() + 600  # a liveness bound, not a speed check (shared CI cores)
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    status = response.status
                break
            except urllib.error.HTTPError as exc:
                status = exc.code
                break
            except OSError:
                time.sleep(0.5)
        assert status is not None and status < 500, (
            proc.stdout.read() if proc.poll() is not None else status
        )
        # And a job queued meanwhile is run by the worker the demo started beside the server
        queued = subprocess.run(
            [sys.executable, "-c", QUEUE_REFRESH], env=env, capture_output=True, text=True
        )
        assert queued.returncode == 0, queued.stderr[-2000:]
        job = int(queued.stdout.split()[-1])
        state = ("queued",)
        while time.monotonic() < deadline and state[0] in ("queued", "running"):
            time.sleep(0.5)  # polling the job's row, bounded by the deadline
            with sqlite3.connect(tmp_path / "demo.sqlite3") as conn:
                state = conn.execute(
                    "SELECT status, worker FROM analytics_refreshjob WHERE id = ?", (job,)
                ).fetchone()
        assert state[0] == "done", state
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=60)
    # Then it had printed the accounts and the address
    assert "county" in output and PASSWORD in output and f"http://127.0.0.1:{port}/" in output
    # and the worker that ran the job stopped with the demo
    worker = int(state[1].rpartition(":")[2])
    assert f"后台任务进程 {state[1]} 已启动" in output
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)


QUEUE_REFRESH = """
import django
django.setup()
from django.db import transaction
from jingzhun.analytics.actions import request_refresh
with transaction.atomic():
    job = request_refresh(["230623"], reason="test")
print(job.pk)
"""


def test_children_of_demo_stop_when_it_is_killed(tmp_path):
    """`jingzhun demo` starts its server and worker with spawn_child: killed with SIGKILL, it
    leaves no orphan behind (PR_SET_PDEATHSIG)."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    pid_file = tmp_path / "child.pid"
    parent_code = (
        "import sys, time\n"
        "from jingzhun.core.processes import spawn_child\n"
        "child = spawn_child([sys.executable, '-c', 'import time; time.sleep(120)'], {})\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code])
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the parent did not start its child"
        time.sleep(0.05)
    child_pid = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while True:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            break
        # a zombie reparented to init is reaped there; /proc shows its state meanwhile
        proc = Path(f"/proc/{child_pid}/status")
        if proc.exists() and "zombie" in proc.read_text():
            break
        assert time.monotonic() < deadline, "the child outlived its killed parent"
        time.sleep(0.05)
