"""The state machine definitions as Terraform renders them: every ASL placeholder gets a value from
terraform/statemachine.tf (the backfill's: terraform/backfill.tf), every value there is used, and what comes
out holds no account, region or ARN of its own. Evaluated by Terraform itself (`terraform console`), not by
re-reading the .tf file."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from invoice_local import asl

from tests.iac.conftest import ACCOUNT_ID, TF_DIR, Terraform, free_port

TEMPLATE_CALL = ('templatefile("${path.module}/../statemachine/invoice_pipeline.asl.json", '
                 "local.state_machine_template_values)")
# Numbers distinct from every default and from each other, so each one can be found where it belongs.
NUMBERS = {"textract_retry_interval_seconds": 7, "textract_retry_max_attempts": 4}
WAIT_FOR_TOKEN = "arn:aws:states:::lambda:invoke.waitForTaskToken"


BACKFILL_NUMBERS = {"backfill_max_concurrency": 37}


@pytest.fixture(scope="module")
def both_rendered(tf: Terraform) -> dict[str, Any]:
    """Both definitions from one `terraform console` (each run loads the provider: about 15 s). The function
    ARNs are unknown until apply: the render swaps in a marker per function, so the result shows where each
    one lands; the numbers are Terraform's own values of the variables, all distinct."""
    expression = (
        "jsonencode({"
        " pipeline = {"
        "  keys = sort(keys(local.state_machine_template_values)),"
        "  state_functions = local.state_functions,"
        "  rendered = templatefile(\"${path.module}/../statemachine/invoice_pipeline.asl.json\","
        "    merge(local.state_machine_template_values,"
        "          {for k in local.state_functions : \"${k}_function_arn\" => \"FN<${k}>\"})),"
        " },"
        " backfill = {"
        "  keys = sort(keys(local.backfill_template_values)),"
        "  rendered = templatefile(\"${path.module}/../statemachine/backfill.asl.json\","
        "    merge(local.backfill_template_values, {backfill_function_arn = \"FN<backfill>\"})),"
        " },"
        "})"
    )
    args = ["-var-file=local.tfvars", f"-var=local_endpoint=http://127.0.0.1:{free_port()}",
            f"-var=account_id={ACCOUNT_ID}",
            *(f"-var={k}={v}" for k, v in {**NUMBERS, **BACKFILL_NUMBERS}.items())]
    return tf.console(expression, *args)  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def rendered(both_rendered: dict[str, Any]) -> dict[str, Any]:
    return both_rendered["pipeline"]  # type: ignore[no-any-return]


def test_the_deployed_definition_is_this_template_with_this_map() -> None:
    source = (TF_DIR / "statemachine.tf").read_text()
    assert re.search(r"^\s*definition\s*=\s*" + re.escape(TEMPLATE_CALL) + r"\s*$", source, re.MULTILINE)
    assert (TF_DIR / "../statemachine/invoice_pipeline.asl.json").resolve() == asl.TEMPLATE.resolve()


def test_every_placeholder_gets_a_value_and_every_value_is_used(rendered: dict[str, Any]) -> None:
    assert set(rendered["keys"]) == asl.placeholders()
    # A function ARN placeholder for each state function and nothing else (callback, migrate and api are
    # not states).
    assert {f"{k}_function_arn" for k in rendered["state_functions"]} == {
        k for k in asl.placeholders() if k.endswith("_function_arn")}


def test_rendered_definition_places_every_value(rendered: dict[str, Any]) -> None:
    definition = json.loads(rendered["rendered"])
    states = definition["States"]
    assert states["Register"]["Resource"] == "FN<register>"
    assert states["StartAnalysis"]["Parameters"]["FunctionName"] == "FN<start_analysis>"
    for state, fn in [("Parse", "parse"), ("ReadEInvoice", "read_einvoice"), ("Validate", "validate"),
                      ("Persist", "persist"), ("RecordFailure", "record_failure")]:
        assert states[state]["Resource"] == f"FN<{fn}>"
    # The wait is per document (Register's output), not a number of the template.
    assert states["StartAnalysis"]["TimeoutSecondsPath"] == "$.document.analysis_timeout_seconds"
    textract_retry = states["StartAnalysis"]["Retry"][0]
    assert textract_retry["ErrorEquals"] == ["TextractThrottled", "TextractUnavailable"]
    assert textract_retry["IntervalSeconds"] == NUMBERS["textract_retry_interval_seconds"]
    assert textract_retry["MaxAttempts"] == NUMBERS["textract_retry_max_attempts"]


def test_rendered_definition_has_no_account_region_or_arn_of_its_own(rendered: dict[str, Any]) -> None:
    text = rendered["rendered"]
    assert "arn:" not in text.replace(WAIT_FOR_TOKEN, "")
    assert not re.search(r"\b\d{12}\b", text), "an account id literal"
    assert not re.search(r"\b(us|eu|ap|sa|ca|me|af|il|mx|cn)-[a-z]+-\d\b", text), "a region literal"
    assert "${" not in text, "a placeholder left unrendered"


def test_terraform_and_the_local_renderer_agree(rendered: dict[str, Any]) -> None:
    """invoice_local.asl (integration tests, local mode) renders exactly what Terraform deploys."""
    values: dict[str, Any] = {f"{k}_function_arn": f"FN<{k}>" for k in rendered["state_functions"]}
    values.update(NUMBERS)
    assert json.loads(asl.render(values)) == json.loads(rendered["rendered"])


# --- the backfill's definition: statemachine/backfill.asl.json with terraform/backfill.tf's map ------------

BACKFILL_CALL = ('templatefile("${path.module}/../statemachine/backfill.asl.json", '
                 "local.backfill_template_values)")
LIST_OBJECTS = "arn:aws:states:::s3:listObjectsV2"


@pytest.fixture(scope="module")
def rendered_backfill(both_rendered: dict[str, Any]) -> dict[str, Any]:
    return both_rendered["backfill"]  # type: ignore[no-any-return]


def test_the_deployed_backfill_is_its_template_with_its_map() -> None:
    source = (TF_DIR / "backfill.tf").read_text()
    assert re.search(r"^\s*definition\s*=\s*" + re.escape(BACKFILL_CALL) + r"\s*$", source, re.MULTILINE)
    assert (TF_DIR / "../statemachine/backfill.asl.json").resolve() == asl.BACKFILL_TEMPLATE.resolve()


def test_backfill_placeholders_get_values_placed_where_they_belong(rendered_backfill: dict[str, Any]) -> None:
    assert set(rendered_backfill["keys"]) == asl.placeholders(template=asl.BACKFILL_TEMPLATE)
    definition = json.loads(rendered_backfill["rendered"])
    (send,) = definition["States"]["SendObjects"]["ItemProcessor"]["States"].values()
    assert send["Resource"] == "FN<backfill>"
    assert definition["States"]["SendObjects"]["MaxConcurrency"] == BACKFILL_NUMBERS["backfill_max_concurrency"]
    text = rendered_backfill["rendered"]
    assert "arn:" not in text.replace(LIST_OBJECTS, "")
    assert not re.search(r"\b\d{12}\b", text) and "${" not in text
    # and invoice_local.asl renders exactly what Terraform deploys
    assert json.loads(asl.render({"backfill_function_arn": "FN<backfill>", **BACKFILL_NUMBERS},
                                 asl.BACKFILL_TEMPLATE)) == definition
