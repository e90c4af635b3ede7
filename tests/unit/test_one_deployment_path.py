"""Terraform is the only deployment path: no Python module of the pipeline, local mode or the benchmarks
creates AWS resources of its own (the boto3 path that drifted from terraform/ must not come back). The
functions Terraform deploys are read from functions/manifest.json by terraform/ and by Python alike."""

from __future__ import annotations

import re
from pathlib import Path

from invoice_local import manifest

from tests.shared_data import REPO_ROOT

# Control-plane calls that create what terraform/ declares. Data-plane calls (put_object, start_execution,
# send_task_success, ...) are the pipeline's work and stay allowed.
CREATE_CALLS = re.compile(
    r"\.(create_(bucket|function|state_machine|topic|queue|role|key|log_group|user_pool|api|event_source_mapping)"
    r"|put_rule|put_targets|subscribe|put_bucket_notification_configuration|publish_layer_version)\("
)
SCANNED = ("functions", "local", "bench")


def offenders(root: Path) -> list[str]:
    found = []
    for folder in SCANNED:
        for path in sorted((root / folder).rglob("*.py")):
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if CREATE_CALLS.search(line):
                    found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_no_python_module_creates_aws_resources() -> None:
    assert offenders(REPO_ROOT) == []


def test_the_check_finds_a_module_that_would(tmp_path: Path) -> None:
    (tmp_path / "local").mkdir()
    (tmp_path / "local" / "deploy_by_hand.py").write_text(
        'lam.create_function(FunctionName="x")\nsfn.create_state_machine(name="y")\nsns.subscribe(TopicArn=t)\n')
    assert len(offenders(tmp_path)) == 3


def test_terraform_reads_the_functions_from_the_manifest() -> None:
    locals_tf = (REPO_ROOT / "terraform" / "locals.tf").read_text()
    assert 'jsondecode(file("${path.module}/../functions/manifest.json"))' in locals_tf
    functions_tf = (REPO_ROOT / "terraform" / "functions.tf").read_text()
    for attribute in ("handler       = each.value.handler", "memory_size   = lookup(var.lambda_memory_mb, each.key, "
                      "each.value.memory)", "timeout       = each.value.timeout"):
        assert attribute in functions_tf, attribute
    # Every handler the manifest names exists in the code package, and every grant it names is defined.
    for fn in manifest.functions().values():
        module, _, attr = fn.handler.rpartition(".")
        assert (REPO_ROOT / "functions" / (module.replace(".", "/") + ".py")).is_file(), fn.handler
        for grant in fn.permissions:
            assert re.search(rf"^\s+{grant}\s+=", functions_tf, re.M), f"{fn.key}: no grant {grant!r}"
