"""Render statemachine/*.asl.json (the pipeline's, the backfill's) the way Terraform's templatefile() does.

Only plain `${name}` interpolation is used in the template (no directives), so a faithful renderer is a
strict substitution: every placeholder must get a value, every value must be used."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).resolve().parents[2] / "statemachine" / "invoice_pipeline.asl.json"
BACKFILL_TEMPLATE = TEMPLATE.with_name("backfill.asl.json")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders(text: str | None = None, template: Path = TEMPLATE) -> set[str]:
    return set(_PLACEHOLDER.findall(text if text is not None else template.read_text()))


def render(values: dict[str, Any], template: Path = TEMPLATE) -> str:
    text = template.read_text()
    wanted = placeholders(text)
    missing, unused = wanted - set(values), set(values) - wanted
    if missing or unused:
        raise ValueError(f"ASL placeholders without value: {sorted(missing)}; values never used: {sorted(unused)}")
    rendered = _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), text)
    json.loads(rendered)  # a rendering that is not JSON must fail here, not at CreateStateMachine
    return rendered
