"""AWS's prices as bench/cost/prices.json lists them (us-east-1, on-demand, free tiers left out)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).with_name("prices.json")


@dataclass(frozen=True)
class Prices:
    region: str
    retrieved: str
    hours_per_month: float
    unit_prices: dict[str, float]
    sources: dict[str, str]
    units: dict[str, str]
    rds_instance_hour: dict[str, float]
    rds_source: str

    def __getitem__(self, name: str) -> float:
        return self.unit_prices[name]

    def rds_hour(self, instance_class: str) -> float:
        try:
            return self.rds_instance_hour[instance_class]
        except KeyError:
            raise KeyError(f"no price for RDS instance class {instance_class!r}: add it to {PRICES_FILE}") from None


@cache
def load(path: Path = PRICES_FILE) -> Prices:
    raw: dict[str, Any] = json.loads(path.read_text())
    entries = raw["prices"]
    rds = {k: float(v) for k, v in raw["rds_postgres_instance_hour"].items() if k.startswith("db.")}
    return Prices(region=raw["region"], retrieved=raw["retrieved"], hours_per_month=float(raw["hours_per_month"]),
                  unit_prices={k: float(v["usd"]) for k, v in entries.items()},
                  sources={k: v["source"] for k, v in entries.items()},
                  units={k: v["unit"] for k, v in entries.items()},
                  rds_instance_hour=rds, rds_source=raw["rds_postgres_instance_hour"]["source"])
