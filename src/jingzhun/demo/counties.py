"""Calibration data for the five demo counties (domain.md section 9).

Every number carries its source: ``reports`` (the county reports in shared/seeds, via domain.md 9),
``derived`` (computed from published numbers, the formula in the note) or ``assumed`` (no published
figure; a plausible value and a one-line reason). The generator reproduces the published registry
counts exactly at scale 1; everything else is shaped to look like a real county.

Counts are "at the end of the target year": registered = exited + remaining, from the status history
(docs/adr/0004). The rural population of the target year is derived from the published incidence
(remaining persons / incidence), the 2014 one from the 2014 incidence where published; years in
between are interpolated (assumed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

REPORTS = "reports"
DERIVED = "derived"
ASSUMED = "assumed"

FIRST_YEAR = 2014
LAST_YEAR = 2020
YEARS = tuple(range(FIRST_YEAR, LAST_YEAR + 1))
MONITORING_FIRST_YEAR = 2021  # 防返贫监测 (domain.md 3.6); every rural household from then on


@dataclass(frozen=True)
class Figure:
    """One calibration number with its source label and, unless published, a reason."""

    value: float
    source: str
    note: str = ""

    @property
    def int(self) -> int:
        return round(self.value)


def reports(value: float, note: str = "") -> Figure:
    return Figure(value, REPORTS, note)


def derived(value: float, note: str) -> Figure:
    return Figure(value, DERIVED, note)


def assumed(value: float, note: str) -> Figure:
    return Figure(value, ASSUMED, note)


@dataclass(frozen=True)
class CountySpec:
    """What the generator needs to build one county. Shares are fractions, incidences percent."""

    code: str  # 6 digits
    name: str
    province: tuple[str, str]  # (6-digit code, name)
    prefecture: tuple[str, str]
    townships: Figure
    villages: Figure
    poor_villages: Figure
    deep_villages: Figure
    target_year: Figure  # the year-end the published counts refer to
    registered_households: Figure
    registered_persons: Figure
    exited_households: Figure
    exited_persons: Figure
    remaining_households: Figure
    remaining_persons: Figure
    incidence_target: Figure  # percent at the end of target_year
    # Exactly one of incidence_2014 (published) and rural_2014 (assumed) is set.
    incidence_2014: Figure | None
    rural_2014: Figure | None
    removed_households: Figure  # 清退 in the dynamic-adjustment rounds 2015-2017
    removed_persons: Figure
    added_households: Figure  # identified in the 2015-2016 rounds (part of the registered)
    returned_exited_households: Figure  # returned and exited again by the target year
    returned_remaining_households: Figure  # status "returned" at the end of the target year
    exit_schedule: dict[int, float]  # share of the exits by target_year, per year (assumed)
    late_schedule: dict[int, float]  # exits after target_year of the remaining (all by 2020)
    rural_trend: Figure  # yearly relative change of the rural population after target_year
    attribute_shares: dict[str, float]  # general/dibao/tekun shares where not fixed exactly
    exact_tekun: tuple[Figure, Figure] | None = None  # (households, persons) in 特困 support
    exact_dibao: tuple[Figure, Figure] | None = None
    exact_relocated: tuple[Figure, Figure | None] | None = None
    relocated_share: float = 0.0
    ethnicities: dict[str, float] = field(default_factory=lambda: {"han": 1.0})
    causes: dict[str, float] = field(default_factory=dict)
    region_style: str = "northeast"  # naming and land-use style: northeast, mongol, guizhou
    # When set, removals balance additions (households and persons), so the registered count at
    # the end of 2014 equals the one at the target year (Horqin publishes its 2014 registration).
    removals_balance_additions: bool = False
    helper_quota: Figure = field(
        default_factory=lambda: reports(8, "Baiquan: county leaders pair with 8 households")
    )
    # Ordinary rural households (一般农户, issue 19). Their number is derived: the rural
    # population (from the published incidence) that no registered household holds; only their
    # size and monitoring shares are assumed.
    ordinary_household_size: Figure = field(
        default_factory=lambda: assumed(
            2.62, "mean size of an ordinary rural household: near the 2020 census's 2.62 per family"
        )
    )
    ordinary_edge_share: Figure = field(
        default_factory=lambda: assumed(
            0.01,
            "share of ordinary households monitored as edge households (边缘易致贫户) since 2021",
        )
    )
    ordinary_sudden_share: Figure = field(
        default_factory=lambda: assumed(
            0.003, "share of ordinary households monitored for sudden hardship since 2021"
        )
    )

    @property
    def county_code(self) -> str:
        return self.code + "000000"

    def figures(self) -> dict[str, Figure]:
        """Every labelled figure, by name, for documentation and tests."""
        out: dict[str, Figure] = {}
        for name, value in vars(self).items():
            if isinstance(value, Figure):
                out[name] = value
            elif (
                isinstance(value, tuple)
                and value
                and all(isinstance(v, Figure | None) for v in value)
            ):
                for i, v in enumerate(value):
                    if v is not None:
                        out[f"{name}[{i}]"] = v
        return out


# Main causes of poverty (domain.md 2.2): illness is the main cause of 42.4-44.1% of households.
NORTHEAST_CAUSES = {
    "illness": 0.43,
    "disability": 0.13,
    "lack_labour": 0.10,
    "lack_capital": 0.08,
    "lack_skills": 0.07,
    "schooling": 0.05,
    "lack_drive": 0.04,
    "disaster": 0.03,
    "lack_land": 0.03,
    "marriage": 0.01,
    "lack_water": 0.01,
    "other": 0.02,
}
GUIZHOU_CAUSES = {
    "illness": 0.36,
    "lack_skills": 0.12,
    "lack_capital": 0.11,
    "disability": 0.09,
    "poor_transport": 0.08,
    "lack_labour": 0.07,
    "schooling": 0.06,
    "lack_land": 0.04,
    "lack_drive": 0.03,
    "disaster": 0.02,
    "lack_water": 0.01,
    "other": 0.01,
}

BAIQUAN = CountySpec(
    code="230231",
    name="拜泉县",
    province=("230000", "黑龙江省"),
    prefecture=("230200", "齐齐哈尔市"),
    townships=assumed(16, "the report gives none; a Heilongjiang county of this size has about 16"),
    villages=assumed(
        204, "the report gives none; 104 poor villages are about half of the villages"
    ),
    poor_villages=reports(104),
    deep_villages=reports(30),
    target_year=reports(2019, "counts 'as of the end of 2019'"),
    registered_households=reports(25586),
    registered_persons=reports(53414),
    exited_households=reports(24082),
    exited_persons=reports(50621),
    remaining_households=reports(1504),
    remaining_persons=reports(2793),
    incidence_target=reports(0.56),
    incidence_2014=reports(11.3),
    rural_2014=None,
    removed_households=assumed(
        2400, "wrongly included households removed 2015-2017 (about 9% of 2014)"
    ),
    removed_persons=assumed(5400, "removed households slightly larger than average (2.25)"),
    added_households=assumed(500, "missed households added in the 2015-2016 rounds (about 2%)"),
    returned_exited_households=assumed(120, "a few returned households that exited again by 2019"),
    returned_remaining_households=assumed(
        60, "a few households with status 'returned' at the end of 2019"
    ),
    exit_schedule={2015: 0.12, 2016: 0.22, 2017: 0.28, 2018: 0.30, 2019: 0.08},
    late_schedule={2020: 1.0},
    rural_trend=assumed(-0.004, "rural registered population shrinks slowly (migration to towns)"),
    attribute_shares={"general": 0.70, "dibao": 0.30},
    exact_tekun=(reports(1344, "特困分散供养 households"), reports(1534, "特困分散供养 persons")),
    ethnicities={"han": 0.968, "manchu": 0.015, "mongol": 0.006, "hui": 0.006, "korean": 0.005},
    causes=NORTHEAST_CAUSES,
    region_style="northeast",
)

LINDIAN = CountySpec(
    code="230623",
    name="林甸县",
    province=("230000", "黑龙江省"),
    prefecture=("230600", "大庆市"),
    townships=assumed(8, "the report gives none; 83 villages in about 8 townships"),
    villages=reports(83),
    poor_villages=reports(48),
    deep_villages=assumed(0, "no deep-poverty villages are mentioned"),
    target_year=assumed(2018, "the end of the year before the 2019 exit self-check"),
    registered_households=derived(4176, "exited 3,566 + remaining 610"),
    registered_persons=derived(8629, "exited 7,445 + remaining 1,184"),
    exited_households=reports(3566),
    exited_persons=reports(7445),
    remaining_households=assumed(610, "1,184 persons in households of about 1.94"),
    remaining_persons=derived(1184, "0.74% of the assumed rural population of 160,000"),
    incidence_target=reports(0.74),
    incidence_2014=None,
    rural_2014=assumed(
        164000, "not published; the rural population shrinks slowly to 160,000 in 2018"
    ),
    removed_households=assumed(250, "wrongly included households removed 2015-2017"),
    removed_persons=assumed(560, "removed households of about 2.24 persons"),
    added_households=assumed(80, "missed households added in the 2015-2016 rounds"),
    returned_exited_households=assumed(15, "a few returned households that exited again by 2018"),
    returned_remaining_households=assumed(
        10, "a few households with status 'returned' at the end of 2018"
    ),
    exit_schedule={2015: 0.10, 2016: 0.25, 2017: 0.35, 2018: 0.30},
    late_schedule={2019: 0.9, 2020: 0.1},
    rural_trend=assumed(-0.006, "rural registered population shrinks slowly"),
    attribute_shares={"general": 0.66, "dibao": 0.28, "tekun": 0.06},
    ethnicities={"han": 0.96, "manchu": 0.02, "mongol": 0.01, "hui": 0.01},
    causes=NORTHEAST_CAUSES,
    region_style="northeast",
)

YIAN = CountySpec(
    code="230223",
    name="依安县",
    province=("230000", "黑龙江省"),
    prefecture=("230200", "齐齐哈尔市"),
    townships=reports(15),
    villages=reports(149),
    poor_villages=reports(54),
    deep_villages=assumed(0, "no deep-poverty villages are mentioned"),
    target_year=assumed(2019, "Heilongjiang's last poor counties exited on end-2019 figures"),
    registered_households=derived(
        11188, "半亩园 9,897 = 88.47% and 百只鹅 10,943 = 97.8% of households"
    ),
    registered_persons=assumed(23040, "about 2.06 persons a household, as in Baiquan"),
    exited_households=derived(10768, "registered 11,188 - remaining 420"),
    exited_persons=derived(22250, "registered 23,040 - remaining 790"),
    remaining_households=assumed(420, "a small remainder like Baiquan's"),
    remaining_persons=assumed(790, "about 1.88 persons a household"),
    incidence_target=derived(0.23, "790 / an assumed rural population of about 343,500"),
    incidence_2014=None,
    rural_2014=assumed(352000, "not published; about 72% of Yi'an's roughly 480,000 people"),
    removed_households=assumed(700, "wrongly included households removed 2015-2017"),
    removed_persons=assumed(1600, "removed households of about 2.3 persons"),
    added_households=assumed(200, "missed households added in the 2015-2016 rounds"),
    returned_exited_households=assumed(40, "a few returned households that exited again by 2019"),
    returned_remaining_households=assumed(
        15, "a few households with status 'returned' at the end of 2019"
    ),
    exit_schedule={2015: 0.10, 2016: 0.20, 2017: 0.30, 2018: 0.30, 2019: 0.10},
    late_schedule={2020: 1.0},
    rural_trend=assumed(-0.005, "rural registered population shrinks slowly"),
    attribute_shares={"general": 0.68, "dibao": 0.27, "tekun": 0.05},
    ethnicities={"han": 0.97, "manchu": 0.015, "mongol": 0.01, "hui": 0.005},
    causes=NORTHEAST_CAUSES,
    region_style="northeast",
)

JINPING = CountySpec(
    code="522628",
    name="锦屏县",
    province=("520000", "贵州省"),
    prefecture=("522600", "黔东南苗族侗族自治州"),
    townships=reports(15),
    villages=reports(193),
    poor_villages=assumed(97, "not published; the 75 deep-poverty villages are most of them"),
    deep_villages=reports(75),
    target_year=assumed(2019, "Guizhou's 2020 exit batch was judged on end-2019 figures"),
    registered_households=assumed(
        19060, "the 19,060 households paired with cadres are taken as all registered"
    ),
    registered_persons=assumed(62898, "3.3 persons a household (Guizhou households are larger)"),
    exited_households=derived(18500, "registered 19,060 - remaining 560"),
    exited_persons=derived(61078, "registered 62,898 - remaining 1,820"),
    remaining_households=assumed(560, "the remainder that exited in 2020"),
    remaining_persons=assumed(1820, "about 3.25 persons a household"),
    incidence_target=derived(0.96, "1,820 / an assumed rural population of about 190,000"),
    incidence_2014=None,
    rural_2014=assumed(205000, "not published; most of Jinping's roughly 230,000 people are rural"),
    removed_households=assumed(800, "wrongly included households removed 2015-2017"),
    removed_persons=assumed(2600, "removed households of about 3.25 persons"),
    added_households=assumed(400, "missed households added in the 2015-2016 rounds"),
    returned_exited_households=assumed(60, "a few returned households that exited again by 2019"),
    returned_remaining_households=assumed(
        20, "a few households with status 'returned' at the end of 2019"
    ),
    exit_schedule={2015: 0.10, 2016: 0.15, 2017: 0.20, 2018: 0.30, 2019: 0.25},
    late_schedule={2020: 1.0},
    rural_trend=assumed(-0.008, "out-migration from the mountains"),
    attribute_shares={"general": 0.71, "dibao": 0.25, "tekun": 0.04},
    exact_relocated=(
        reports(2267, "易地扶贫搬迁 households"),
        reports(9955, "易地扶贫搬迁 persons"),
    ),
    ethnicities={"dong": 0.55, "miao": 0.25, "han": 0.18, "other": 0.02},
    causes=GUIZHOU_CAUSES,
    region_style="guizhou",
)

HORQIN = CountySpec(
    code="150522",
    name="科尔沁左翼后旗",
    province=("150000", "内蒙古自治区"),
    prefecture=("150500", "通辽市"),
    townships=assumed(18, "the report gives none; towns and sumu of the banner"),
    villages=reports(262),
    poor_villages=derived(68, "68 poor villages have village solar stations"),
    deep_villages=assumed(0, "no deep-poverty villages are mentioned"),
    target_year=reports(2018, "report of December 2018: end-2018 figures"),
    registered_households=reports(13065),
    registered_persons=reports(34261),
    exited_households=reports(11690, "减贫 11,690 households in five years"),
    exited_persons=reports(30285, "减贫 30,285 persons"),
    remaining_households=reports(1375),
    remaining_persons=reports(3976),
    incidence_target=reports(1.23),
    incidence_2014=reports(11.0),
    rural_2014=None,
    removed_households=assumed(600, "four identification rounds; removals balance the additions"),
    removed_persons=derived(
        0, "equal to the persons added, so the 2014 registration is 13,065 / 34,261"
    ),
    added_households=assumed(600, "missed households added in the 2015-2016 rounds"),
    returned_exited_households=assumed(40, "a few returned households that exited again by 2018"),
    returned_remaining_households=assumed(
        25, "a few households with status 'returned' at the end of 2018"
    ),
    exit_schedule={2015: 0.15, 2016: 0.25, 2017: 0.35, 2018: 0.25},
    late_schedule={2019: 0.85, 2020: 0.15},
    rural_trend=assumed(-0.004, "rural registered population shrinks slowly"),
    attribute_shares={"general": 0.96, "tekun": 0.04},
    exact_dibao=(reports(3237, "households on 低保"), reports(7147, "persons on 低保")),
    removals_balance_additions=True,
    exact_relocated=(reports(303, "易地搬迁 households"), None),
    ethnicities={"mongol": 0.72, "han": 0.27, "manchu": 0.005, "hui": 0.005},
    causes=NORTHEAST_CAUSES,
    region_style="mongol",
)

COUNTIES: dict[str, CountySpec] = {c.code: c for c in (BAIQUAN, LINDIAN, YIAN, JINPING, HORQIN)}
DEFAULT_COUNTY = BAIQUAN.code


def county_spec(code: str) -> CountySpec | None:
    """The spec for a 6- or 12-digit county code, or None."""
    raw = code.strip()
    if len(raw) == 12 and raw.endswith("000000"):
        raw = raw[:6]
    return COUNTIES.get(raw)


def known_counties_text() -> str:
    """ "230231 拜泉县、…" for error messages."""
    return "、".join(f"{c.code} {c.name}" for c in COUNTIES.values())


def poverty_lines() -> dict[int, float]:
    """Current-price national poverty lines per year, read from policies/tables/poverty_line.yaml.

    The generator shapes synthetic incomes around them (exited households above their exit
    year's line); the policy file is the one place these numbers live.
    """
    from jingzhun.policy.store import default_store

    store = default_store()
    lines: dict[int, float] = {}
    for year in YEARS:
        found = store.poverty_line(year)
        if found is None or found.value is None:
            raise ValueError(f"policies/ 中没有 {year} 年的国家扶贫标准")
        lines[year] = float(found.value)
    return lines
