"""StartAnalysis's wait per document (domain/analysis_timeout.py): it grows with the page count Register read,
so a long document within Textract's limits is not failed as "the notification never came", and it stops at
a ceiling no higher than the 7 days a Textract job's result is kept."""

from __future__ import annotations

import pytest
from invoice_pipeline.domain.analysis_timeout import MAX_WAIT_SECONDS, analysis_timeout

AWS = {"base_seconds": 3600, "per_page_seconds": 2, "max_seconds": 21600}


@pytest.mark.parametrize(("pages", "seconds"), [(None, 3600), (0, 3600), (1, 3600), (2, 3602), (3000, 9598)])
def test_the_wait_grows_with_the_pages(pages: int | None, seconds: int) -> None:
    assert analysis_timeout(pages, **AWS) == seconds


def test_the_wait_stops_at_the_ceiling_and_never_below_the_base() -> None:
    assert analysis_timeout(3000, base_seconds=300, per_page_seconds=60, max_seconds=7200) == 7200
    assert analysis_timeout(3000, base_seconds=300, per_page_seconds=60, max_seconds=10) == 300
    assert analysis_timeout(3000, base_seconds=300, per_page_seconds=600, max_seconds=10**9) == MAX_WAIT_SECONDS


def test_a_fraction_of_a_second_per_page_rounds_up_to_whole_seconds() -> None:
    """TimeoutSecondsPath must select a positive integer (the ASL specification)."""
    value = analysis_timeout(4, base_seconds=12, per_page_seconds=0.5, max_seconds=60)
    assert value == 14 and isinstance(value, int)
