"""Probabilistic linking of rows with a missing or damaged ID (issue 22 item 2): a golden roster
with planted hits (a damaged ID, a missing ID with the address, a typo in the name, day and month
swapped, a 15-digit ID taken by the exact path, a stranger), the review queue with its decisions
remembered by a second run, accepted pairs screened like exact matches, and scope."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
from conftest import VILLAGES, World, make_id

from jingzhun.core.errors import DomainError, Forbidden, OutOfScope
from jingzhun.feeds import actions, link_actions, linking, selectors
from jingzhun.feeds.models import Alert, FeedRow, LinkReview
from jingzhun.feeds.roster import id_hints

from .conftest import csv_bytes, head_id

V1 = VILLAGES["230231100000"][0]  # township 100: 张三 (1970-01-01), 张小 (2010-06-01)
V2 = VILLAGES["230231100000"][1]  # township 100: 李四, 李小
V4 = VILLAGES["230231101000"][1]  # township 101: 赵六, 赵小


def damaged(number: str, at: int) -> str:
    """`number` with the digit at (0-based) position `at` changed: the check character fails."""
    digit = str((int(number[at]) + 3) % 10)
    return number[:at] + digit + number[at + 1 :]


def golden(amounts: tuple[str, ...] = ("500",) * 6) -> bytes:
    """张三: damaged ID (a sequence digit), no address → linked. 李四: no ID, birth date, sex and
    village → linked. 张小: no ID, day and month swapped, no address → review. 赵陆 (赵六): a
    typo in the name and a damaged ID → review. 王五 as a 15-digit number → the exact path.
    路人甲: nobody → stays invalid."""
    head3 = head_id(3)
    return csv_bytes(
        [
            ["姓名", "身份证号", "出生日期", "性别", "住址", "个人自付"],
            ["张三", damaged(head_id(1), 15), "", "", "", amounts[0]],
            ["李四", "", "1970-01-01", "男", "第1镇2村", amounts[1]],
            ["张小", "", "2010-01-06", "女", "", amounts[2]],
            ["赵陆", damaged(head_id(4), 14), "", "", "", amounts[3]],
            ["王五", head3[:6] + head3[8:17], "", "", "", amounts[4]],
            ["路人甲", "", "1988-08-08", "男", "第1镇1村", amounts[5]],
        ]
    )


def load(world: World, data: bytes) -> Any:
    submitted = actions.do_submit_roster(
        "medical_spending", "roster.csv", data, actor=world.user("medic")
    )
    (batch,) = actions.run_pending()
    assert batch.pk == submitted.batch.pk and batch.status == "done", batch.error
    return batch


def test_id_hints_read_what_a_damaged_number_still_tells() -> None:
    hints = id_hints(damaged(head_id(1), 15))
    assert (hints.birth, hints.sex, hints.county) == ("19700101", "male", "230231")
    assert id_hints(head_id(1)[:15] + "000").sex is None  # Excel's 15 digits: no sex digit
    assert id_hints(None).birth is None and id_hints("2302").county is None


def test_twins_and_namesakes_go_to_review_not_to_a_link() -> None:
    """Two residents both above the review band: nobody is linked alone (pure Splink run)."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE link_villages AS SELECT '230231100201' AS code, '新华村' AS name, "
        "'宝泉镇' AS township_name, '230231000000' AS county_code"
    )
    con.execute(
        "CREATE TABLE link_residents AS SELECT * FROM (VALUES "
        "(1, 1, '张伟', 'male', '19900101', '230231100201', '230231100000', '230231000000'), "
        "(2, 1, '张玮', 'male', '19900101', '230231100201', '230231100000', '230231000000'), "
        "(3, 2, '刘洋', 'male', '19900303', '230231100201', '230231100000', '230231000000')) "
        "t(unique_id, household_id, name, sex, birth, village_code, township_code, county_code)"
    )
    con.execute(
        "CREATE TABLE link_rows AS SELECT * FROM (VALUES "
        "(10, '张伟', '19900101', 'male', '宝泉镇新华村', NULL, NULL, NULL), "
        "(11, '刘洋', '19900303', 'male', '新华村三组', NULL, NULL, NULL)) "
        "t(unique_id, name, birth, sex, residence, id_birth, id_sex, id_county)"
    )
    linking.prepare(con)
    found = linking.predict(con, review=0.5, prior_floor=1_000_000)
    outcome = linking.classify(found, match=0.99, review=0.5)
    assert set(outcome.links) == {11} and outcome.links[11].member_id == 3
    assert [c.member_id for c in outcome.review[10]] == [1, 2]  # the exact name first
    assert outcome.review[10][0].levels["name"] == "exact"
    assert outcome.review[10][1].levels["name"] == "one_char"


def test_golden_roster_links_reviews_and_remembers_decisions(feeds_world: World) -> None:
    w, h = feeds_world, feeds_world.households
    batch = load(w, golden())
    rows = {r.name: r for r in FeedRow.objects.filter(batch=batch).select_related("member")}
    assert rows["张三"].status == "matched" and rows["张三"].match_method == "linked"
    assert rows["张三"].member.name == "张三" and rows["张三"].household_id == h[V1].pk
    assert rows["李四"].match_method == "linked" and rows["李四"].household_id == h[V2].pk
    assert rows["王五"].match_method == "id" and rows["王五"].converted_15
    assert rows["张小"].status == "review" and rows["赵陆"].status == "review"
    assert rows["路人甲"].status == "invalid" and rows["路人甲"].member_id is None
    assert (batch.matched, batch.linked, batch.review, batch.invalid) == (3, 2, 2, 1)
    # what a damaged ID still told is kept, never the number
    assert rows["张三"].hints == {"birth": "19700101", "sex": "male", "county": "230231"}
    assert head_id(1)[:14] not in str(FeedRow.objects.values_list("fingerprint", "hints"))
    pending = {r.member.name: r for r in LinkReview.objects.select_related("member")}
    assert set(pending) == {"张小", "赵六"}
    assert pending["张小"].levels["birth"] == "swapped"
    assert pending["赵六"].levels["name"] == "one_char"
    assert 0.5 <= pending["张小"].probability < 0.99

    # decisions: 张小 is the same person, 赵陆 is not 赵六 (audited)
    medic = w.user("medic")
    link_actions.do_decide_link(
        pending["张小"].pk, pending["张小"].version, "accepted", actor=medic
    )
    link_actions.do_decide_link(
        pending["赵六"].pk, pending["赵六"].version, "rejected", "不是同一人", actor=medic
    )
    rows["张小"].refresh_from_db()
    rows["赵陆"].refresh_from_db()
    assert rows["张小"].status == "matched" and rows["张小"].match_method == "reviewed"
    assert rows["赵陆"].status == "invalid"
    batch.refresh_from_db()
    assert (batch.matched, batch.review, batch.invalid) == (4, 0, 2)
    with pytest.raises(DomainError):  # decided once
        link_actions.do_decide_link(pending["张小"].pk, 2, "rejected", actor=medic)

    # a later roster of the feed: the same people written the same way, other amounts (a new
    # file): nothing is asked again; the accepted pair counts as a match for the warnings
    second = load(w, golden(("500", "500", "25000", "500", "500", "500")))
    again = {r.name: r for r in FeedRow.objects.filter(batch=second)}
    assert again["张小"].status == "matched" and again["张小"].match_method == "reviewed"
    assert again["赵陆"].status == "invalid"
    assert LinkReview.objects.count() == 2
    assert not selectors.reviews_for(w.user("county")).exists()
    raised = actions.do_screen_county("230231000000", actor=w.user("county")).raised
    assert [(r.household_code, r.rule) for r in raised if r.source == "medical_spending"] == [
        ("H100201", "medical_spending")
    ]
    assert Alert.objects.get(rule="medical_spending").row_id == again["张小"].pk


def test_review_queue_scope_liaison_and_township(feeds_world: World) -> None:
    w = feeds_world
    load(w, golden())
    names = {r.member.name for r in LinkReview.objects.select_related("member")}
    assert names == {"张小", "赵六"}

    def seen(user: str) -> set[str]:
        return {r.member.name for r in selectors.reviews_for(w.user(user))}

    assert seen("medic") == seen("county") == {"张小", "赵六"}
    assert seen("police") == set()  # another feed's liaison
    assert seen("township") == {"张小"}  # township 100: only its region's pairs
    assert seen("other_township") == {"赵六"}
    assert seen("helper") == set()
    other = LinkReview.objects.get(member__name="张小")
    with pytest.raises(OutOfScope):
        link_actions.do_decide_link(other.pk, other.version, "accepted", actor=w.user("police"))
    with pytest.raises(OutOfScope):
        link_actions.do_decide_link(
            other.pk, other.version, "accepted", actor=w.user("other_township")
        )
    with pytest.raises(Forbidden):
        link_actions.do_decide_link(other.pk, other.version, "accepted", actor=w.user("village"))
    assert LinkReview.objects.filter(status="pending").count() == 2
    decided = link_actions.do_decide_link(
        other.pk, other.version, "accepted", actor=w.user("township")
    )
    assert decided.status == "accepted" and decided.decided_by == w.user("township")


def test_pages_show_the_pairs_masked_and_decide(feeds_world: World, client: Any) -> None:
    from conftest import signed_in

    w = feeds_world
    load(w, golden())
    signed_in(client, w.user("medic"))
    page = client.get("/feeds/review/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "张小" in text and "2010" in text and "2010-06-01" not in text
    assert make_id("230231", "20100601", 2) not in text  # 张小's ID number: masked
    review = LinkReview.objects.get(member__name="张小")
    answer = client.post(
        f"/feeds/review/{review.pk}/decide/",
        {"version": review.version, "decision": "accepted", "note": ""},
    )
    assert answer.status_code == 302
    review.refresh_from_db()
    assert review.status == "accepted"
