"""Amounts and currencies: exact parsing in every common locale, canonical formatting, currency markers."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from invoice_pipeline.domain.money import (
    ISO_4217,
    currency_from_text,
    find_currency,
    format_amount,
    infer_decimal_separator,
    parse_amount,
)

SCHEMA_AMOUNT = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$1,810.46", "1810.46"),
        ("1.234,56 €", "1234.56"),
        ("1 234,56", "1234.56"),
        ("1\u00a0234,56", "1234.56"),
        ("1\u202f234\u202f567,89 €", "1234567.89"),
        ("CHF 1'234.50", "1234.50"),
        ("CHF 1’234.50", "1234.50"),
        ("(12.00)", "-12.00"),
        ("(USD 1,200.00)", "-1200.00"),
        ("12.00-", "-12.00"),
        ("-12", "-12"),
        ("-$12.00", "-12.00"),
        ("$-19172.54", "-19172.54"),
        ("−5,00 €", "-5.00"),
        ("USD 5,715.00", "5715.00"),
        ("USD5,715.00", "5715.00"),
        ("12,5", "12.5"),
        ("1,234", "1234"),
        ("1.234", "1234"),
        ("1,234,567", "1234567"),
        ("1.234.567,891", "1234567.891"),
        ("0,125", "0.125"),
        ("1234,567", "1234.567"),
        ("$ 6,231.09", "6231.09"),
        ("6231.09 EUR", "6231.09"),
        ("$1000", "1000"),
        ("659.00 Y", "659.00"),
        ("$899.99 S", "899.99"),
        ("P21.50/Unit", "21.50"),
        ("P14. 50/Unit", "14.50"),
        ("300-00", "300.00"),
        ("1,234,56", "1234.56"),
        ("０１２３.４５", "123.45"),
        ("0.00", "0.00"),
    ],
)
def test_parse_amount_formats(text: str, expected: str) -> None:
    value = parse_amount(text)
    assert value is not None
    assert format_amount(value) == expected


@pytest.mark.parametrize("text", [None, "", "   ", "to", "N/A", "$", "€ -", "Total:"])
def test_parse_amount_without_a_number(text: str | None) -> None:
    assert parse_amount(text) is None


@pytest.mark.parametrize(
    ("text", "hint", "expected"),
    [
        ("1,234", ",", "1.234"),
        ("1.234", ".", "1.234"),
        ("1,234", ".", "1234"),
        ("1.234", ",", "1234"),
        ("12,50", ".", "12.50"),  # two digits can only be a fraction, whatever the hint says
        ("1,234.56", ",", "1234.56"),  # both separators present: the text decides
    ],
)
def test_decimal_hint_settles_three_digit_groups(text: str, hint: str, expected: str) -> None:
    value = parse_amount(text, decimal_hint=hint)
    assert value is not None and format_amount(value) == expected


def test_decimal_hint_is_validated() -> None:
    with pytest.raises(ValueError):
        parse_amount("1", decimal_hint=";")


def test_parse_amount_keeps_the_scale() -> None:
    assert parse_amount("12.50") == Decimal("12.50")
    assert str(parse_amount("12.50")) == "12.50"
    assert str(parse_amount("7")) == "7"


@pytest.mark.parametrize(
    ("value", "expected"),
    [("6231.09", "6231.09"), ("-12.00", "-12.00"), ("1E+3", "1000"), ("1.20E+5", "120000"), ("-0.00", "0.00"),
     ("0.0000001", "0.0000001"), ("1E-7", "0.0000001")],
)
def test_format_amount(value: str, expected: str) -> None:
    assert format_amount(Decimal(value)) == expected


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_format_amount_rejects_non_finite(value: str) -> None:
    with pytest.raises(ValueError):
        format_amount(Decimal(value))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$5.00", "USD"), ("US$ 5", "USD"), ("A$5", "AUD"), ("AU$5", "AUD"), ("C$5", "CAD"), ("CA$ 5", "CAD"),
        ("R$ 10,00", "BRL"), ("HK$12", "HKD"), ("NZ$3", "NZD"), ("S$4", "SGD"), ("5 €", "EUR"), ("£5", "GBP"),
        ("¥500", "JPY"), ("₹5", "INR"), ("CHF 5", "CHF"), ("5 zł", "PLN"), ("5 ZŁ", "PLN"), ("5 Kč", "CZK"),
        ("120 kr", "SEK"), ("Rs. 500", "INR"), ("USD 5,715.00", "USD"), ("6231.09 EUR", "EUR"),
        ("1.234,56 Eur", "EUR"), ("CAD $5", "CAD"), ("Total (EUR)", "EUR"), ("ALL PRICES IN GBP", "GBP"),
        ("₱ 21.50", "PHP"), ("TRY 100", "TRY"),
    ],
)
def test_currency_from_text(text: str, expected: str) -> None:
    assert currency_from_text(text) == expected


@pytest.mark.parametrize(
    "text", [None, "", "12.00", "Mrs Smith", "TOP SELLER", "ALL ITEMS", "Order 123", "6FT HDMI CABLE", "kr"]
)
def test_currency_absent(text: str | None) -> None:
    assert currency_from_text(text) is None


def test_shared_symbols_are_flagged() -> None:
    dollar, euro = find_currency("$5"), find_currency("5 €")
    assert dollar is not None and not dollar.specific
    assert euro is not None and euro.specific


def test_iso_4217_table() -> None:
    assert {"USD", "EUR", "GBP", "JPY", "CHF", "PLN", "SEK", "INR", "BRL", "CAD", "AUD"} <= ISO_4217
    assert "XXX" not in ISO_4217 and "XTS" not in ISO_4217
    assert all(re.fullmatch(r"[A-Z]{3}", code) for code in ISO_4217)
    assert len(ISO_4217) > 150


def test_infer_decimal_separator() -> None:
    assert infer_decimal_separator(["1.234,56 €", "12,50", None]) == ","
    assert infer_decimal_separator(["$1,234.56", "$2.5"]) == "."
    assert infer_decimal_separator(["1,234", "5"]) is None
    assert infer_decimal_separator([]) is None


# --- Properties --------------------------------------------------------------------------------------------
def _group(digits: str, separator: str) -> str:
    head = len(digits) % 3 or 3
    parts = [digits[:head]] + [digits[i:i + 3] for i in range(head, len(digits), 3)]
    return separator.join(parts)


# (thousands separator, decimal separator) as printed in common locales
STYLES = {
    "en": (",", "."),
    "de": (".", ","),
    "fr": ("\u202f", ","),
    "fr_space": (" ", ","),
    "ch": ("'", "."),
    "plain": ("", "."),
    "plain_comma": ("", ","),
}
DECORATIONS = ["{}", "${}", "€ {}", "{} €", "CHF {}", "{} EUR", "USD{}", "Total: {}"]
# Where the sign goes: on the number, around it, after it, or before a currency marker ("-$5", "-CHF 5").
NEGATIONS = ["-{}", "({})", "{}-", "outer"]

def _printable_scale(d: Decimal) -> bool:
    exponent = d.as_tuple().exponent
    return isinstance(exponent, int) and -12 <= exponent <= 0


amounts: st.SearchStrategy[Decimal] = st.decimals(
    min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False, allow_infinity=False
).filter(_printable_scale)


def _render(value: Decimal, style: str, decoration: str, negation: str) -> str:
    thousands, decimal_sep = STYLES[style]
    text = format_amount(abs(value))
    integer, _, fraction = text.partition(".")
    body = _group(integer, thousands) if thousands else integer
    if fraction:
        body += decimal_sep + fraction
    if value >= 0:
        return decoration.format(body)
    if negation == "outer":
        return "-" + decoration.format(body) if not decoration.startswith("Total") else f"Total: -{body}"
    return decoration.format(negation.format(body))


@given(
    value=amounts,
    style=st.sampled_from(sorted(STYLES)),
    decoration=st.sampled_from(DECORATIONS),
    negation=st.sampled_from(NEGATIONS),
)
@example(value=Decimal("1.234"), style="en", decoration="{}", negation="-{}")
@example(value=Decimal("1234"), style="de", decoration="{} €", negation="-{}")
@example(value=Decimal("-0.125"), style="fr", decoration="{}", negation="({})")
def test_any_locale_round_trips_exactly(value: Decimal, style: str, decoration: str, negation: str) -> None:
    text = _render(value, style, decoration, negation)
    parsed = parse_amount(text, decimal_hint=STYLES[style][1])
    assert parsed is not None, text
    assert format_amount(parsed) == format_amount(value), text


@given(st.text())
def test_parse_amount_never_raises(text: str) -> None:
    value = parse_amount(text)
    if value is not None:
        assert SCHEMA_AMOUNT.match(format_amount(value))


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_format_amount_always_matches_the_schema(value: Decimal) -> None:
    text = format_amount(value)
    assert SCHEMA_AMOUNT.match(text)
    assert Decimal(text) == value


@given(st.text())
def test_currency_is_iso_or_none(text: str) -> None:
    code = currency_from_text(text)
    assert code is None or code in ISO_4217
