"""The README's "Deploying to AWS" section stays true: its inputs table is terraform/variables.tf, its
outputs table is terraform/outputs.tf, and its list of checkov suppressions is the inline ones.

To regenerate the tables after changing the variables or outputs:

    .venv/bin/python -m tests.iac.test_readme_tf_tables
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.iac.conftest import TF_DIR
from tests.shared_data import REPO_ROOT

README = REPO_ROOT / "README.md"
SECTION = "## Deploying to AWS"


@dataclass(frozen=True)
class Variable:
    name: str
    type: str
    default: str  # the HCL literal, or "required"
    description: str


@dataclass(frozen=True)
class Output:
    name: str
    description: str


def _blocks(text: str, kind: str) -> list[tuple[str, str]]:
    """(name, body) of every top-level `kind "name" {` block; terraform fmt puts the closing brace at column 0."""
    return [(m.group(1), m.group(2)) for m in re.finditer(rf'^{kind} "(\w+)" \{{\n(.*?)^\}}', text, re.M | re.S)]


def _attribute(body: str, name: str) -> str | None:
    # Top-level attributes only (two spaces in); validation blocks are nested deeper.
    match = re.search(rf"^  {name}\s*=\s*(.+)$", body, re.MULTILINE)
    return match.group(1).strip() if match else None


def _string(literal: str | None) -> str:
    assert literal and literal.startswith('"') and literal.endswith('"'), literal
    return literal[1:-1].replace('\\"', '"')


def variables() -> list[Variable]:
    out = []
    for name, body in _blocks((TF_DIR / "variables.tf").read_text(), "variable"):
        vtype = _attribute(body, "type")
        assert vtype, f"variable {name} has no type"
        default = _attribute(body, "default")
        out.append(Variable(name, vtype, default if default is not None else "required",
                            _string(_attribute(body, "description"))))
    return out


def outputs() -> list[Output]:
    return [Output(name, _string(_attribute(body, "description")))
            for name, body in _blocks((TF_DIR / "outputs.tf").read_text(), "output")]


def suppressions() -> list[tuple[str, str, str]]:
    """(check id, resource address, reason) of every inline checkov suppression."""
    out = []
    for path in sorted(TF_DIR.glob("*.tf")):
        text = path.read_text()
        for block in re.finditer(r'^(resource|data) "(\w+)" "(\w+)" \{\n(.*?)^\}', text, re.M | re.S):
            for skip in re.finditer(r"#checkov:skip=([A-Z0-9_]+):(.*)$", block.group(4), re.MULTILINE):
                out.append((skip.group(1), f"{block.group(2)}.{block.group(3)}", skip.group(2).strip()))
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def inputs_table() -> str:
    rows = ["| name | type | default | description |", "|---|---|---|---|"]
    rows += [f"| `{v.name}` | `{_cell(v.type)}` | `{_cell(v.default)}` | {_cell(v.description)} |" for v in variables()]
    return "\n".join(rows)


def outputs_table() -> str:
    rows = ["| name | description |", "|---|---|"]
    rows += [f"| `{o.name}` | {_cell(o.description)} |" for o in outputs()]
    return "\n".join(rows)


def suppressions_list() -> str:
    return "\n".join(f"- `{check}` on `{resource}`: {reason}" for check, resource, reason in suppressions())


def readme_section() -> str:
    text = README.read_text()
    assert SECTION in text, f"README.md has no '{SECTION}' section"
    section = text.split(SECTION, 1)[1]
    following = re.search(r"^## ", section, re.MULTILINE)
    return section[: following.start()] if following else section


def test_every_variable_is_typed_and_described() -> None:
    found = variables()
    assert len(found) >= 30
    assert all(v.description.endswith(".") and len(v.description) > 15 for v in found), \
        [v.name for v in found if not v.description.endswith(".")]


def test_inputs_table_matches_variables_tf() -> None:
    assert inputs_table() in readme_section(), "regenerate: .venv/bin/python -m tests.iac.test_readme_tf_tables"


def test_outputs_table_matches_outputs_tf() -> None:
    assert outputs() and outputs_table() in readme_section(), \
        "regenerate: .venv/bin/python -m tests.iac.test_readme_tf_tables"


def test_checkov_suppressions_are_listed() -> None:
    found = suppressions()
    assert found, "no inline suppressions found: has the comment format changed?"
    assert suppressions_list() in readme_section(), "regenerate: .venv/bin/python -m tests.iac.test_readme_tf_tables"


if __name__ == "__main__":
    print("### Inputs\n\n" + inputs_table() + "\n\n### Outputs\n\n" + outputs_table()
          + "\n\n### checkov suppressions\n\n" + suppressions_list())
