"""The README's table of Textract's default quotas per region is the one the emulation enforces
(invoice_local/textract_quotas.py) and the one Terraform defaults to (terraform/admission.tf's locals)."""

from __future__ import annotations

import re
from pathlib import Path

from invoice_local.textract_quotas import _BY_REGION, _ELSEWHERE, Quotas

REPO = Path(__file__).resolve().parents[2]


def readme_table() -> dict[str, tuple[int, int]]:
    text = (REPO / "README.md").read_text()
    head = "| region | StartExpenseAnalysis per second | expense jobs at once |"
    assert head in text, "the README's quota table is gone"
    rows: dict[str, tuple[int, int]] = {}
    for line in text[text.index(head):].splitlines()[2:]:
        if not line.startswith("|"):
            break
        region, rate, jobs = (cell.strip() for cell in line.strip("|").split("|"))
        rows[region] = (int(rate), int(jobs))
    return rows


def terraform_defaults(region: str) -> tuple[int, int]:
    """admission.tf's two locals, evaluated for `region` (they are single conditionals over region lists)."""
    text = (REPO / "terraform" / "admission.tf").read_text()
    out = []
    for name in ("textract_quota_start_rate", "textract_quota_max_jobs"):
        expr = re.search(rf"^\s*{name}\s*=\s*(.+)$", text, re.M)
        assert expr, name
        listed = re.fullmatch(r'contains\(\[(.*)\], var\.region\) \? (\d+) : (\d+)', expr.group(1).strip())
        single = re.fullmatch(r'var\.region == "([a-z0-9-]+)" \? (\d+) : (\d+)', expr.group(1).strip())
        match = listed or single
        assert match, f"{name} is no longer a simple conditional: update this test with it"
        regions = re.findall(r'"([a-z0-9-]+)"', match.group(1)) if listed else [match.group(1)]
        out.append(int(match.group(2)) if region in regions else int(match.group(3)))
    return out[0], out[1]


def test_the_readme_table_is_the_emulations_and_terraforms_defaults() -> None:
    table = readme_table()
    expected: dict[str, Quotas] = {**_BY_REGION, "any other region": _ELSEWHERE}
    assert table == {region: (q.start_tps, q.max_jobs) for region, q in expected.items()}
    for region, (rate, jobs) in table.items():
        probe = "eu-central-1" if region == "any other region" else region
        assert terraform_defaults(probe) == (rate, jobs), region
