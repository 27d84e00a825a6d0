"""The self-check report (PDF, Chinese) in the style of the county reports: what was checked,
how many households in which groups, the 三率一度 figures with sample sizes and 95% intervals,
the one-vote veto, and the problems found (exports.pdf building blocks)."""

from __future__ import annotations

from typing import IO, Any

from jingzhun.exports import pdf

from .choices import GROUPS, STRATA
from .models import SampledHousehold, SelfCheck
from .selectors import Results


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def write_report(item: SelfCheck, results: Results, out: IO[bytes], *, watermark: str) -> int:
    font = pdf.cjk_font()
    styles = pdf.Styles(font)
    design = item.design or {}
    strata = design.get("village_strata", {})
    counts: dict[str, int] = {g: 0 for g in GROUPS}
    persons: dict[str, int] = {g: 0 for g in GROUPS}
    for group, p in SampledHousehold.objects.filter(
        selfcheck=item, surveyed_on__isnull=False
    ).values_list("group", "persons"):
        counts[group] += 1
        persons[group] += p
    teams = (
        SampledHousehold.objects.filter(selfcheck=item, surveyed_on__isnull=False)
        .exclude(team="")
        .values("team")
        .distinct()
        .count()
    )
    villages = len(design.get("villages", {}))
    title = f"{item.title}情况报告"
    by_rate = {r.key: r for r in results.rates}
    approval = by_rate["approval"].estimate.rate
    lead = (
        f"按照贫困县退出有关要求，{item.county.name}组织 {teams} 个专项核查组，对照“两不愁三保障”"
        f"“三率一度”等退出指标，采取分层随机抽样、入户核查、问卷调查的方式开展退出自查。"
        f"共抽取 {villages} 个村（贫困村 {strata.get('poor', {}).get('sample', 0)} 个、非贫困村 "
        f"{strata.get('non_poor', {}).get('sample', 0)} 个），抽中农户 {results.sampled} 户，"
        f"已核查 {results.surveyed} 户 {sum(persons.values())} 人，其中已脱贫户 "
        f"{counts['exited']} 户 {persons['exited']} 人，未脱贫户 {counts['remaining']} 户，"
        f"一般农户 {counts['ordinary']} 户 {persons['ordinary']} 人。自查结果显示，脱贫人口错退率为 "
        f"{_pct(by_rate['wrong_exit'].estimate.rate)}，贫困人口漏评率为 "
        f"{_pct(by_rate['missed'].estimate.rate)}，群众认可度为 {_pct(approval)}。"
    )
    verdict = {
        True: "三率一度中的错退率、漏评率、群众认可度均达到退出标准。",
        False: "有指标未达到退出标准，按一票否决，不具备退出条件。",
        None: "有指标的置信区间跨越阈值或尚无数据，结论不确定，须扩大样本或复核后再作结论。",
    }[results.passed]
    rows: list[list[Any]] = [
        [
            "指标",
            "估计值",
            f"{results.confidence:.0%} 置信区间",
            "调查户数",
            "调查人数（户）",
            "有效样本量",
            "阈值",
            "结论",
        ]
    ]
    for r in results.rates:
        e = r.estimate
        rows.append(
            [
                r.label,
                _pct(e.rate),
                f"{_pct(e.low)} ～ {_pct(e.high)}",
                e.households,
                f"{e.units:.0f}",
                "—" if e.effective_n is None else f"{e.effective_n:.0f}",
                ("< " if r.upper else "≥ ") + _pct(r.threshold),
                r.verdict.text,
            ]
        )
    design_rows: list[list[Any]] = [["村层", "村数", "抽取村数", "村权数"]]
    for key, label in STRATA.items():
        s = strata.get(key, {})
        design_rows.append(
            [label, s.get("population", 0), s.get("sample", 0), f"{s.get('weight', 0):.2f}"]
        )
    problems = list(
        SampledHousehold.objects.filter(selfcheck=item)
        .exclude(finding_problem__isnull=True, complaint_problem__isnull=True)
        .select_related("household", "village", "finding_problem", "complaint_problem")
        .order_by("village_id", "pk")
    )
    problem_rows: list[list[Any]] = [["村", "户编号", "户类别", "发现", "问题编号", "整改期限"]]
    for row in problems:
        for problem, what in (
            (
                row.finding_problem,
                f"错退 {row.wrongly_exited_persons} 人"
                if row.wrongly_exited_persons
                else f"漏评 {row.missed_persons} 人",
            ),
            (row.complaint_problem, "意见投诉"),
        ):
            if problem is not None:
                problem_rows.append(
                    [
                        row.village.name,
                        row.household.household_code,
                        row.group_label,
                        what,
                        problem.pk,
                        problem.deadline.isoformat(),
                    ]
                )
    story: list[Any] = [
        pdf.Paragraph(pdf.text(title), styles.title),
        pdf.Spacer(1, 4 * pdf.mm),
        pdf.Paragraph(pdf.text(lead), styles.body),
        pdf.Spacer(1, 3 * pdf.mm),
        pdf.Paragraph(pdf.text("一、三率一度"), styles.heading),
        pdf.grid(rows, styles, total=pdf.PORTRAIT_WIDTH),
        pdf.Spacer(1, 2 * pdf.mm),
        pdf.Paragraph(pdf.text(f"判定：{verdict}"), styles.body),
        pdf.Paragraph(pdf.text("二、抽样设计"), styles.heading),
        pdf.Paragraph(
            pdf.text(
                f"村按贫困村、非贫困村分层随机抽取，抽中村内已脱贫户、未脱贫户、一般农户分组随机抽取；"
                f"随机种子 {item.seed}，抽样规则 {item.policy_file}（内容哈希 {item.policy_hash[:12]}），"
                f"同一种子可复现同一样本。各比率按抽样权数加权估计，区间按分层两阶段设计计算"
                f"（以村为初级单元的线性化方差，Wilson 区间）。"
            ),
            styles.body,
        ),
        pdf.grid(design_rows, styles, total=pdf.PORTRAIT_WIDTH),
        pdf.Paragraph(pdf.text("三、发现的问题及整改"), styles.heading),
    ]
    if len(problem_rows) > 1:
        story.append(pdf.grid(problem_rows, styles, total=pdf.PORTRAIT_WIDTH))
    else:
        story.append(pdf.Paragraph(pdf.text("未发现错退、漏评及意见投诉。"), styles.body))
    story.append(
        pdf.Paragraph(
            pdf.text("对自查发现的问题，已全部登记为督查问题，坚持立行立改，限期整改销号。"),
            styles.body,
        )
    )
    return pdf.build(out, story, title=title, watermark=watermark, font=font)
