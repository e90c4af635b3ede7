"""Settings read from the environment once per process (Terraform sets them on every function)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    results_bucket: str
    textract_sns_topic_arn: str
    textract_role_arn: str
    textract_output_bucket: str
    textract_output_prefix: str
    database_url: str | None
    database_secret_arn: str | None
    analysis_timeout_seconds: int
    work_dir: str

    @property
    def textract_output_configured(self) -> bool:
        return bool(self.textract_output_bucket)


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings(
        results_bucket=_env("RESULTS_BUCKET"),
        textract_sns_topic_arn=_env("TEXTRACT_SNS_TOPIC_ARN"),
        textract_role_arn=_env("TEXTRACT_ROLE_ARN"),
        textract_output_bucket=_env("TEXTRACT_OUTPUT_BUCKET"),
        textract_output_prefix=_env("TEXTRACT_OUTPUT_PREFIX", "textract-output"),
        database_url=_env("DATABASE_URL") or None,
        database_secret_arn=_env("DATABASE_SECRET_ARN") or None,
        analysis_timeout_seconds=int(_env("ANALYSIS_TIMEOUT_SECONDS", "3600")),
        # Lambda's only writable place; ephemeral storage is sized for the 500 MB upload limit.
        work_dir=_env("WORK_DIR", "/tmp"),
    )


def reset() -> None:
    """Forget cached settings (tests and the in-process Lambda runner change the environment)."""
    settings.cache_clear()
