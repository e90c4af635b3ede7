"""The cost model of the pipeline: AWS's prices (prices.json, the one place they live), what real executions
in the emulation used (transitions.py, usage.py), the fixed monthly floor of what Terraform deploys (floor.py),
and the tables docs/cost.md shows (report.py). bench/bench_cost.py measures; tests/iac/test_cost_floor.py keeps
the floor in docs/cost.md equal to what the Terraform plan creates."""
