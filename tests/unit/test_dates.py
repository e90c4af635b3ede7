"""Dates as invoices print them: many layouts, several languages, and the day/month ambiguity."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from invoice_pipeline.domain.dates import infer_day_first, month_from_name, parse_date


@pytest.mark.parametrize(
    ("text", "day_first", "expected"),
    [
        ("12/07/2019", False, date(2019, 12, 7)),
        ("12/07/2019", True, date(2019, 7, 12)),
        ("01-Jan-2021", None, date(2021, 1, 1)),
        ("Thursday, 26 March 2020", None, date(2020, 3, 26)),
        ("05.03.2018", True, date(2018, 3, 5)),
        ("05.03.2018", None, date(2018, 3, 5)),
        ("2020-03-12", False, date(2020, 3, 12)),
        ("2020/03/12", True, date(2020, 3, 12)),
        ("2019-12-07T10:32:00Z", None, date(2019, 12, 7)),
        ("12 March 2020", None, date(2020, 3, 12)),
        ("March 12, 2020", None, date(2020, 3, 12)),
        ("Dec 7 2019", None, date(2019, 12, 7)),
        ("Oct. 5th, 2021", None, date(2021, 10, 5)),
        ("7th of December 2019", None, date(2019, 12, 7)),
        ("1. März 2020", None, date(2020, 3, 1)),
        ("1. Maerz 2020", None, date(2020, 3, 1)),
        ("15. Dezember 2021", None, date(2021, 12, 15)),
        ("3 févr. 2021", None, date(2021, 2, 3)),
        ("1er août 2020", None, date(2020, 8, 1)),
        ("15 mei 2019", None, date(2019, 5, 15)),
        ("3 mrt 2019", None, date(2019, 3, 3)),
        ("12 de marzo de 2020", None, date(2020, 3, 12)),
        ("5 de outubro de 2022", None, date(2022, 10, 5)),
        ("2 giugno 2021", None, date(2021, 6, 2)),
        ("12-mar-20", None, date(2020, 3, 12)),
        ("12.03.20", True, date(2020, 3, 12)),
        ("01/02/69", True, date(2069, 2, 1)),
        ("01/02/70", True, date(1970, 2, 1)),
        ("2020年3月12日", None, date(2020, 3, 12)),
        ("20200312", None, date(2020, 3, 12)),
        ("Date: 12/07/2019 10:32 AM", False, date(2019, 12, 7)),
        ("Statement Date 09/30/10 Date(s) of Service 07/31/10", None, date(2010, 9, 30)),
    ],
)
def test_parse_date_formats(text: str, day_first: bool | None, expected: date) -> None:
    assert parse_date(text, day_first=day_first) == expected


@pytest.mark.parametrize(
    "text",
    [None, "", "garbage", "31/02/2020", "13/13/2020", "March 2020", "30 days", "Due upon receipt", "TR# 21772",
     "00/00/0000", "32 March 2020", "12345678", "4 jui 2020"],
)
def test_parse_date_gives_none_for_no_or_impossible_dates(text: str | None) -> None:
    assert parse_date(text) is None
    assert parse_date(text, day_first=True) is None
    assert parse_date(text, day_first=False) is None


def test_a_part_above_twelve_overrides_the_hint() -> None:
    assert parse_date("13/04/2020", day_first=False) == date(2020, 4, 13)
    assert parse_date("04/13/2020", day_first=True) == date(2020, 4, 13)


def test_without_hint_dots_are_day_first_and_slashes_month_first() -> None:
    assert parse_date("03.04.2020") == date(2020, 4, 3)
    assert parse_date("03/04/2020") == date(2020, 3, 4)


def test_infer_day_first() -> None:
    assert infer_day_first(["12/07/2019", "31/07/2019"]) is True
    assert infer_day_first(["07/31/2019", None]) is False
    assert infer_day_first(["12/07/2019", "12 March 2020"]) is None
    assert infer_day_first(["31/07/2019", "07/31/2019"]) is None  # contradictory evidence tells nothing


def test_month_from_name() -> None:
    assert month_from_name("März") == 3
    assert month_from_name("Sept.") == 9
    assert month_from_name("juil") == 7
    assert month_from_name("jui") is None  # juin or juillet
    assert month_from_name("ma") is None
    assert month_from_name("Thursday") is None


# --- Properties --------------------------------------------------------------------------------------------
# The test's own month tables, so the property does not just replay the implementation's.
MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"],
    "de": ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
           "November", "Dezember"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
           "novembre", "décembre"],
    "nl": ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"],
    "es": ["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
           "noviembre", "diciembre"],
    "pt": ["janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro",
           "novembro", "dezembro"],
    "it": ["gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre",
           "ottobre", "novembre", "dicembre"],
}
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _styles(d: date) -> list[tuple[str, bool | None]]:
    """(text, day_first hint a caller would pass) for one date in many layouts."""
    y, m, dd = d.year, d.month, d.day
    styles: list[tuple[str, bool | None]] = [
        (d.isoformat(), None),
        (f"{dd:02d}/{m:02d}/{y}", True),
        (f"{m:02d}/{dd:02d}/{y}", False),
        (f"{dd}.{m}.{y}", True),
        (f"{dd:02d}.{m:02d}.{y}", None),
        (f"{dd:02d}-{m:02d}-{y}", True),
        (f"{MONTHS['en'][m - 1]} {dd}, {y}", None),
        (f"{dd:02d}-{MONTHS['en'][m - 1][:3]}-{y}", None),
        (f"{WEEKDAYS[d.weekday()]}, {dd} {MONTHS['en'][m - 1]} {y}", None),
        (f"{dd}. {MONTHS['de'][m - 1]} {y}", None),
        (f"{dd} {MONTHS['fr'][m - 1]} {y}", None),
        (f"{dd} {MONTHS['nl'][m - 1]} {y}", None),
        (f"{dd} de {MONTHS['es'][m - 1]} de {y}", None),
        (f"{dd} de {MONTHS['pt'][m - 1]} de {y}", None),
        (f"{dd} {MONTHS['it'][m - 1]} {y}", None),
    ]
    if 1970 <= y <= 2069:
        styles.append((f"{dd:02d}.{m:02d}.{y % 100:02d}", True))
        styles.append((f"{m}/{dd}/{y % 100:02d}", False))
    return styles


@given(st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31)))
def test_every_style_round_trips(d: date) -> None:
    for text, day_first in _styles(d):
        assert parse_date(text, day_first=day_first) == d, text


@given(st.text(), st.sampled_from([None, True, False]))
def test_parse_date_never_raises(text: str, day_first: bool | None) -> None:
    result = parse_date(text, day_first=day_first)
    assert result is None or isinstance(result, date)


@given(st.from_regex(r"\d{1,4}[./ -]\d{1,4}[./ -]\d{1,4}", fullmatch=True), st.sampled_from([None, True, False]))
def test_numeric_noise_never_raises(text: str, day_first: bool | None) -> None:
    result = parse_date(text, day_first=day_first)
    assert result is None or isinstance(result, date)
