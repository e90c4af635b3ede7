"""domain/accuracy.py and `invoices accuracy`'s printing, from audit-row fixtures."""

from __future__ import annotations

from invoice_local import accuracy_cmd
from invoice_pipeline.domain.accuracy import correction_rates, field_key

REVIEWED = [("a", "textract", "ACME"), ("b", "textract", "ACME"), ("c", "local", "Other"), ("d", "textract", None)]
EDITS = [("a", "total"), ("a", "total"), ("a", "line_items[3].amount"), ("b", "line_items[0].amount"),
         ("b", "line_items[1]"), ("c", "vendor.name"), ("zz", "total")]


def test_field_keys_fold_line_positions() -> None:
    assert field_key("line_items[12].unit_price") == "line_items[].unit_price"
    assert field_key("line_items[3]") == "line_items[]"
    assert field_key("vendor.name") == "vendor.name"


def test_rates_by_engine_and_vendor() -> None:
    groups = {(g.by, g.key): g for g in correction_rates(REVIEWED, EDITS)}
    assert set(groups) == {("engine", "textract"), ("engine", "local"), ("vendor", "ACME"), ("vendor", "Other"),
                           ("vendor", "")}
    textract = groups[("engine", "textract")]
    assert textract.reviewed == 3
    # Corrected twice on one invoice counts once; two lines of one invoice count once; "zz" was not approved.
    assert [(f.field, f.corrected, f.rate) for f in textract.fields] == [
        ("line_items[].amount", 2, 0.6667), ("line_items[]", 1, 0.3333), ("total", 1, 0.3333)]
    assert [(f.field, f.rate) for f in groups[("engine", "local")].fields] == [("vendor.name", 1.0)]
    assert groups[("vendor", "")].fields == [] and groups[("vendor", "")].reviewed == 1


def test_the_command_prints_each_group() -> None:
    report = {"groups": [{"by": "engine", "key": "textract", "reviewed": 3,
                          "fields": [{"field": "total", "corrected": 1, "rate": 0.3333}]},
                         {"by": "vendor", "key": "", "reviewed": 1, "fields": []}]}
    out = accuracy_cmd.lines(report)
    assert out[0] == "engine textract: 3 approved" and "33.3 %" in out[1] and out[1].lstrip().startswith("total")
    assert out[2:] == ["vendor (none): 1 approved", "  no field corrected"]
    assert accuracy_cmd.lines({"groups": []}) == ["no invoice approved in this period"]
