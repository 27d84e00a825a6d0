"""Probabilistic linking of roster rows without a usable ID number to the registry's residents
(issue 22 item 2; ADR 0067): Splink on DuckDB, pure of Django.

Inputs are three DuckDB tables on one connection (the application fills them from the
database, benchmarks/crossmatch_fuzzy.py from its generator):

- `link_residents(unique_id BIGINT, household_id BIGINT, name, sex, birth, village_code,
  township_code, county_code)`: every resident; `birth` is YYYYMMDD, `sex` the registry code.
- `link_villages(code, name, township_name, county_code)`: the villages, to place an address.
- `link_rows(unique_id BIGINT, name, birth, sex, residence, id_birth, id_sex, id_county)`: the
  roster rows; `birth`/`sex` from the roster's columns, `id_*` read from a damaged ID number
  (its birth date, sex digit and the first 6 digits), `residence` the address text.

`prepare` places each row (village from the address's "...村/社区" and "...镇/乡" parts, county
from the ID's first 6 digits when they name a county of the registry), `predict` scores the
blocked pairs with a Fellegi-Sunter model whose m probabilities are fixed (expected rates of
each kind of error in rosters) and whose u probabilities and prior come from the residents
(how often two random residents agree), so a batch of a few hundred damaged rows needs no
training and every batch is scored by the same model. `classify` turns scores into links and
review candidates.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any, Final

log = logging.getLogger(__name__)

# Blocking (issue 22: tight): a pair is scored only when it agrees on one of these.
BLOCKING: Final = (
    "l.birth = r.birth AND l.county_code = r.county_code",
    "l.birth_swapped = r.birth AND l.county_code = r.county_code",
    "l.name = r.name AND l.village_name = r.village_name",
    "l.village_code = r.village_code AND l.birth_year = r.birth_year AND l.surname = r.surname",
    "l.village_code = r.village_code AND l.birth_day = r.birth_day AND l.surname = r.surname",
    "l.name = r.name AND l.birth_year = r.birth_year AND l.county_code = r.county_code",
    "l.name = r.name AND l.birth_day = r.birth_day AND l.county_code = r.county_code",
    "l.name = r.name AND l.birth_year = r.birth_year AND l.sex = r.sex",
    "l.name = r.name AND l.birth_day = r.birth_day AND l.sex = r.sex",
    "l.birth = r.birth AND l.sex = r.sex AND l.surname = r.surname",
    "l.name = r.name AND l.birth = r.birth",
    "l.name = r.name AND l.birth_swapped = r.birth",
)

# m probabilities: how often a true pair shows each level (rates of errors in rosters).
M_NAME: Final = {"exact": 0.88, "one_char": 0.08, "reordered": 0.02, "else": 0.02}
M_BIRTH: Final = {"exact": 0.90, "swapped": 0.04, "one_digit": 0.04, "else": 0.02}
M_SEX: Final = {"exact": 0.98, "else": 0.02}
M_COUNTY: Final = {"exact": 0.97, "else": 0.03}
# the village: its code when the address placed the row, else its name (a name many villages
# bear: the row could not be placed); the county is compared apart only for rows not placed
M_VILLAGE: Final = {"village": 0.6, "village_name": 0.3, "township": 0.04, "else": 0.06}

MACROS: Final = (
    # positions where two strings of equal length differ (99 when the lengths differ)
    "CREATE OR REPLACE MACRO jz_char_diff(a, b) AS CASE WHEN length(a) <> length(b) THEN 99 "
    "ELSE len(list_filter(range(1, length(a) + 1), i -> substr(a, i, 1) <> substr(b, i, 1))) END",
    # the same characters in another order, or one character more or fewer at either end
    "CREATE OR REPLACE MACRO jz_reordered(a, b) AS "
    "(length(a) = length(b) AND list_sort(string_split(a, '')) = list_sort(string_split(b, ''))) "
    "OR (abs(length(a) - length(b)) = 1 AND length(a) >= 2 AND length(b) >= 2 "
    "AND (contains(a, b) OR contains(b, a)))",
    # YYYYMMDD with day and month swapped (NULL when the day cannot be a month or they agree)
    "CREATE OR REPLACE MACRO jz_swapped(d) AS CASE WHEN d IS NOT NULL AND "
    "CAST(substr(d, 7, 2) AS INTEGER) BETWEEN 1 AND 12 AND substr(d, 5, 2) <> substr(d, 7, 2) "
    "THEN substr(d, 1, 4) || substr(d, 7, 2) || substr(d, 5, 2) END",
)

VILLAGE_RE: Final = r"([^省市县区旗镇乡]{1,12}?(?:村|社区|居委会))"
# the same with the township's name inside (a village registered as "宝泉镇新华村")
VILLAGE_LONG_RE: Final = r"([^省市县区旗]{1,16}?(?:村|社区|居委会))"
TOWNSHIP_RE: Final = r"([^省市县区旗]{1,12}?(?:镇|乡|街道))"


@dataclass(frozen=True)
class Candidate:
    """A scored pair: roster row `row_id` and resident `member_id`."""

    row_id: int
    member_id: int
    household_id: int
    probability: float
    weight: float
    levels: dict[str, str]


def prepare(con: Any) -> None:
    """Create `link_left` (the rows placed and their keys) and `link_right` (the residents with
    their keys) from the input tables. The roster is always the left side (`predict_between`):
    the swapped date is computed for its rows only (swapping is its own inverse)."""
    for macro in MACROS:
        con.execute(macro)
    text = ("name", "birth", "sex", "residence", "id_birth", "id_sex", "id_county")
    con.execute(
        "CREATE OR REPLACE TEMP VIEW link_rows_t AS SELECT CAST(unique_id AS BIGINT) AS unique_id, "
        + ", ".join(f"CAST({c} AS VARCHAR) AS {c}" for c in text)
        + " FROM link_rows"
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE link_place AS
        WITH parts AS (
            SELECT unique_id, id_county,
                   nullif(regexp_extract(coalesce(residence, ''), '{VILLAGE_RE}', 1), '') AS v,
                   nullif(regexp_extract(coalesce(residence, ''), '{VILLAGE_LONG_RE}', 1), '')
                       AS v2,
                   nullif(regexp_extract(coalesce(residence, ''), '{TOWNSHIP_RE}', 1), '') AS t
            FROM link_rows_t
        ), counties AS (SELECT DISTINCT county_code FROM link_villages),
        named AS (
            SELECT unique_id, id_county, t, v AS v FROM parts WHERE v IS NOT NULL
            UNION
            SELECT unique_id, id_county, t, v2 FROM parts WHERE v2 IS NOT NULL
        ),
        found AS (
            SELECT DISTINCT p.unique_id, vl.code, vl.name, vl.township_name = p.t AS same_township,
                   vl.county_code = c.county_code AS same_county
            FROM named p
            JOIN link_villages vl ON vl.name = p.v
            LEFT JOIN counties c ON c.county_code = p.id_county || '000000'
        ), ranked AS (
            SELECT unique_id, code, name,
                   count(*) OVER (PARTITION BY unique_id, coalesce(same_township, false),
                                  coalesce(same_county, false)) AS ties,
                   row_number() OVER (PARTITION BY unique_id ORDER BY coalesce(same_township,
                       false) DESC, coalesce(same_county, false) DESC, code) AS rank
            FROM found
        )
        SELECT unique_id, CASE WHEN count(*) FILTER (WHERE rank = 1 AND ties = 1) = 1
                   THEN max(code) FILTER (WHERE rank = 1) END AS village_code,
               CASE WHEN count(DISTINCT substr(code, 1, 6)) = 1
                   THEN substr(max(code), 1, 6) || '000000' END AS place_county,
               CASE WHEN count(DISTINCT name) = 1 THEN max(name) END AS village_name
        FROM ranked GROUP BY unique_id
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TABLE link_left AS
        SELECT r.unique_id, CAST(NULL AS BIGINT) AS household_id, nullif(trim(r.name), '') AS name,
               coalesce(r.birth, r.id_birth) AS birth,
               jz_swapped(coalesce(r.birth, r.id_birth)) AS birth_swapped,
               substr(coalesce(r.birth, r.id_birth), 1, 4) AS birth_year,
               substr(coalesce(r.birth, r.id_birth), 5, 4) AS birth_day,
               substr(nullif(trim(r.name), ''), 1, 1) AS surname,
               coalesce(r.sex, r.id_sex) AS sex,
               p.village_code, p.village_name,
               vl.township_code,
               coalesce(vl.county_code, c.county_code, p.place_county) AS county_code
        FROM link_rows_t r
        LEFT JOIN link_place p USING (unique_id)
        LEFT JOIN (SELECT code, substr(code, 1, 9) || '000' AS township_code, county_code
                   FROM link_villages) vl ON vl.code = p.village_code
        LEFT JOIN (SELECT DISTINCT county_code FROM link_villages) c
               ON c.county_code = r.id_county || '000000'
        """
    )
    con.execute(
        """
        CREATE OR REPLACE TABLE link_right AS
        SELECT r.unique_id, r.household_id, r.name, r.birth,
               CAST(NULL AS VARCHAR) AS birth_swapped, substr(r.birth, 1, 4) AS birth_year,
               substr(r.birth, 5, 4) AS birth_day, substr(r.name, 1, 1) AS surname, r.sex,
               r.village_code, v.name AS village_name, r.township_code, r.county_code
        FROM link_residents r LEFT JOIN link_villages v ON v.code = r.village_code
        """
    )


@dataclass(frozen=True)
class Background:
    """How often two random residents agree (the u probabilities) and the registry's size."""

    residents: int
    name: float
    birth: float
    county: float
    township: float
    village: float
    village_name: float


# A registry smaller than this cannot show how often strangers agree: it is scored with the
# agreement rates of a registry of a million rural residents (TYPICAL: about 3 counties, 60
# townships, 1,000 villages; a name shared by 1 in 20,000 pairs; birth dates over 80 years).
U_FROM_DATA: Final = 100_000
TYPICAL: Final = {
    "name": 5e-5,
    "birth": 1 / 29200,
    "county": 1 / 3,
    "township": 1 / 60,
    "village": 1 / 1000,
    "village_name": 1 / 1000,
}
# Lower bounds on rates measured from the data (a value seen once must not weigh infinitely).
U_MIN: Final = {
    "name": 1e-6,
    "birth": 1 / 36500,
    "county": 1 / 2800,
    "township": 1 / 40000,
    "village": 1 / 500000,
    "village_name": 1 / 500000,
}


def background(con: Any) -> Background:
    """u probabilities from the residents: the chance that two distinct random residents share
    a key is (sum of n^2 - N) / (N^2 - N) over its values' counts n."""
    residents = con.execute("SELECT count(*) FROM link_right").fetchone()[0]

    def agree(column: str) -> float:
        key = column.removesuffix("_code")
        if residents < U_FROM_DATA:
            return TYPICAL[key]
        found = con.execute(
            f"SELECT (sum(n * n) - sum(n)) / greatest(sum(n) * sum(n) - sum(n), 1) FROM "
            f"(SELECT count(*) AS n FROM link_right WHERE {column} IS NOT NULL GROUP BY {column})"
        ).fetchone()[0]
        return max(float(found or 0.0), U_MIN[key])

    village = agree("village_code")
    return Background(
        residents=residents,
        name=agree("name"),
        birth=agree("birth"),
        county=min(0.9, agree("county_code")),  # one county: agreeing tells little
        township=min(0.3, max(agree("township_code"), village)),
        village=min(0.3, village),
        village_name=min(0.3, max(agree("village_name"), village)),
    )


def settings_for(bg: Background, prior_floor: int) -> tuple[Any, dict[str, dict[str, float]]]:
    """The Splink model: four comparisons with fixed m and data-derived u probabilities."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator

    def level(creator: Any, m: float, u: float) -> Any:
        return creator.configure(m_probability=m, u_probability=u)

    u_name = {
        "exact": bg.name,
        "one_char": min(0.05, bg.name * 20),
        "reordered": min(0.01, bg.name * 5),
    }
    u_name["else"] = 1 - sum(u_name.values())
    u_birth = {"exact": bg.birth, "swapped": bg.birth, "one_digit": min(0.05, bg.birth * 30)}
    u_birth["else"] = 1 - sum(u_birth.values())
    u_village = {
        "village": bg.village,
        "village_name": bg.village_name,
        "township": bg.township,
    }
    u_village["else"] = max(0.1, 1 - sum(u_village.values()))
    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name"),
            level(cll.ExactMatchLevel("name"), M_NAME["exact"], u_name["exact"]),
            level(
                cll.CustomLevel("jz_char_diff(name_l, name_r) = 1", "one_char"),
                M_NAME["one_char"],
                u_name["one_char"],
            ),
            level(
                cll.CustomLevel("jz_reordered(name_l, name_r)", "reordered"),
                M_NAME["reordered"],
                u_name["reordered"],
            ),
            level(cll.ElseLevel(), M_NAME["else"], u_name["else"]),
        ],
    )
    birth = cl.CustomComparison(
        output_column_name="birth",
        comparison_levels=[
            cll.NullLevel("birth"),
            level(cll.ExactMatchLevel("birth"), M_BIRTH["exact"], u_birth["exact"]),
            level(
                cll.CustomLevel("birth_swapped_l = birth_r", "swapped"),
                M_BIRTH["swapped"],
                u_birth["swapped"],
            ),
            level(
                cll.CustomLevel("jz_char_diff(birth_l, birth_r) = 1", "one_digit"),
                M_BIRTH["one_digit"],
                u_birth["one_digit"],
            ),
            level(cll.ElseLevel(), M_BIRTH["else"], u_birth["else"]),
        ],
    )
    sex = cl.CustomComparison(
        output_column_name="sex",
        comparison_levels=[
            cll.NullLevel("sex"),
            level(cll.ExactMatchLevel("sex"), M_SEX["exact"], 0.5),
            level(cll.ElseLevel(), M_SEX["else"], 0.5),
        ],
    )
    # the county, for rows the address did not place (a placed row's village tells it)
    county = cl.CustomComparison(
        output_column_name="county",
        comparison_levels=[
            cll.CustomLevel(
                "county_code_l IS NULL OR county_code_r IS NULL OR village_code_l IS NOT NULL"
            ).configure(is_null_level=True),
            level(cll.ExactMatchLevel("county_code"), M_COUNTY["exact"], bg.county),
            level(cll.ElseLevel(), M_COUNTY["else"], 1 - bg.county),
        ],
    )
    village = cl.CustomComparison(
        output_column_name="village",
        comparison_levels=[
            cll.CustomLevel("village_name_l IS NULL OR village_name_r IS NULL").configure(
                is_null_level=True
            ),
            level(cll.ExactMatchLevel("village_code"), M_VILLAGE["village"], u_village["village"]),
            level(
                cll.ExactMatchLevel("village_name"),
                M_VILLAGE["village_name"],
                u_village["village_name"],
            ),
            level(
                cll.ExactMatchLevel("township_code"),
                M_VILLAGE["township"],
                u_village["township"],
            ),
            level(cll.ElseLevel(), M_VILLAGE["else"], u_village["else"]),
        ],
    )
    weights = {
        key: {k: math.log2(m[k] / u[k]) for k in m}
        for key, m, u in (
            ("name", M_NAME, u_name),
            ("birth", M_BIRTH, u_birth),
            ("sex", M_SEX, {"exact": 0.5, "else": 0.5}),
            ("county", M_COUNTY, {"exact": bg.county, "else": 1 - bg.county}),
            ("village", M_VILLAGE, u_village),
        )
    }
    # a roster row has at most one resident: the chance a random pair matches is 1 in the
    # registry's size (never more than 1 in `prior_floor`)
    rules: list[Any] = list(BLOCKING)
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=1 / max(bg.residents, prior_floor, 2),
        comparisons=[name, birth, sex, county, village],
        blocking_rules_to_generate_predictions=rules,
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
        additional_columns_to_retain=["household_id"],
    )
    return settings, weights


KEYS: Final = ("name", "birth", "sex", "county", "village")


def _level(weights: dict[str, float], mw: Any) -> str:
    """The level a comparison's match weight came from (each level's weight is log2(m/u))."""
    if mw is None or not math.isfinite(mw) or mw == 0:
        return "null"
    return min(weights, key=lambda k: abs(weights[k] - mw))


def predict(con: Any, *, review: float, prior_floor: int) -> list[Candidate]:
    """Score the blocked pairs of `link_left` x `link_right` (after `prepare`); pairs at or
    above the review threshold, best first per row."""
    from splink import DuckDBAPI, Linker

    if con.execute("SELECT count(*) FROM link_left").fetchone()[0] == 0:
        return []
    bg = background(con)
    db = DuckDBAPI(connection=con)
    left = db.register("link_left", table_name="link_left_in")
    right = db.register("link_right", table_name="link_right_in")
    settings, weights = settings_for(bg, prior_floor)
    linker = Linker([left, right], settings, log_level=None)
    scored = linker.inference.predict_between(
        left, right, threshold_match_probability=review, warning_mode="never"
    )
    table = scored.physical_name
    out = con.execute(
        f"""
        SELECT CASE WHEN source_dataset_l = 'link_left_in' THEN unique_id_l ELSE unique_id_r END,
               CASE WHEN source_dataset_l = 'link_left_in' THEN unique_id_r ELSE unique_id_l END,
               coalesce(household_id_r, household_id_l), match_probability, match_weight,
               mw_name, mw_birth, mw_sex, mw_county, mw_village
        FROM {table}
        """
    ).fetchall()
    scored.drop_table_from_database_and_remove_from_cache()
    candidates = [
        Candidate(
            row_id=int(r[0]),
            member_id=int(r[1]),
            household_id=int(r[2]),
            probability=float(r[3]),
            weight=float(r[4]) if r[4] is not None and math.isfinite(r[4]) else 0.0,
            levels={key: _level(weights[key], mw) for key, mw in zip(KEYS, r[5:10], strict=True)},
        )
        for r in out
    ]
    candidates.sort(key=lambda c: (c.row_id, -c.probability, c.member_id))
    return candidates


@dataclass(frozen=True)
class Outcome:
    links: dict[int, Candidate]  # row id -> the linked resident
    review: dict[int, list[Candidate]]  # row id -> candidates for a person to decide (best first)


def classify(candidates: list[Candidate], *, match: float, review: float, keep: int = 3) -> Outcome:
    """A row is linked when its best candidate reaches `match` and no other candidate reaches
    `review` (twins, namesakes born the same day: a person decides); otherwise its candidates
    at or above `review` (at most `keep`) go to review."""
    by_row: dict[int, list[Candidate]] = {}
    for cand in candidates:
        if cand.probability >= review:
            by_row.setdefault(cand.row_id, []).append(cand)
    links: dict[int, Candidate] = {}
    queue: dict[int, list[Candidate]] = {}
    for row_id, found in by_row.items():
        found.sort(key=lambda c: (-c.probability, c.member_id))
        if found[0].probability >= match and len(found) == 1:
            links[row_id] = found[0]
        else:
            queue[row_id] = found[:keep]
    return Outcome(links, queue)
