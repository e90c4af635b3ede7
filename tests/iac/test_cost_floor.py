"""docs/cost.md stays true of terraform/: its table of the fixed monthly floor is the inventory of what a plan
with the defaults (a real account's) creates, priced with bench/cost/prices.json, and its price table is
that file. Both come from the session's plan (no plan of their own).

To regenerate these tables after a change to terraform/ or the prices (a few minutes: two plans):

    .venv/bin/python bench/bench_cost.py --floor-only --write-doc

and every table, the measured ones too (about 12 minutes): the same without --floor-only.
"""

from __future__ import annotations

import re
from typing import Any

from bench.cost import floor, report
from bench.cost.prices import load
from tests.iac.conftest import TF_DIR
from tests.shared_data import REPO_ROOT

DOC = REPO_ROOT / "docs" / "cost.md"
REGENERATE = "regenerate docs/cost.md: .venv/bin/python bench/bench_cost.py --floor-only --write-doc"


def test_floor_table_is_what_the_plan_creates(plans: dict[str, dict[str, Any]]) -> None:
    expected = report.floor_table(floor.inventory(plans["aws"], load()))
    assert report.block(DOC.read_text(), "floor") == expected, REGENERATE


def test_price_table_is_the_price_file() -> None:
    assert report.block(DOC.read_text(), "prices") == report.prices_table(load()), REGENERATE


def test_endpoint_zones_are_counted_as_network_tf_places_them(plans: dict[str, dict[str, Any]]) -> None:
    # The plan cannot show the subnets of endpoints in a VPC it creates; floor.py counts the created private
    # subnets, the first vpc_endpoint_az_count of them. That holds while network.tf says so.
    resources = plans["aws"]["configuration"]["root_module"]["resources"]
    interface = next(r for r in resources if r["address"] == "aws_vpc_endpoint.interface")
    assert interface["expressions"]["subnet_ids"]["references"] == ["local.endpoint_subnet_ids"]
    network = (TF_DIR / "network.tf").read_text()
    assert re.search(r"endpoint_subnet_ids = var\.vpc_endpoint_az_count == null \? local\.private_subnet_ids : "
                     r"slice\(\s*local\.private_subnet_ids, 0, min\(var\.vpc_endpoint_az_count,", network)
    subnets = [rc for rc in plans["aws"]["resource_changes"] if rc["type"] == "aws_subnet"]
    assert len(subnets) == 2
