"""Publishing the outbox's events to the EventBridge bus (adapters/outbox.py does the SQL, this binds it to
boto3 and the bus Terraform made). Two callers: Persist and RecordFailure right after their commit, so that
an event leaves within the second its change happened (best effort: a failure there is logged, and the
events wait); and the publish-events function every minute, which publishes whatever is still pending after
an outage of the bus, and deletes the published events older than the retention."""

from __future__ import annotations

from typing import Any, Protocol

from invoice_pipeline import config
from invoice_pipeline.adapters import aws, outbox
from invoice_pipeline.observability import count, logger


class Events(Protocol):
    """The port of the functions that publish: publish what is pending."""

    def drain(self) -> outbox.Drained: ...

    def drain_after_commit(self) -> outbox.Drained | None: ...

    def backlog(self) -> outbox.Backlog: ...

    def purge(self) -> int: ...


class Publisher:
    """Events published with `client` (boto3's EventBridge client) to the bus EVENT_BUS_NAME names."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def drain(self) -> outbox.Drained:
        bus = config.settings().event_bus_name
        if not bus:
            logger.warning("EVENT_BUS_NAME is not set: the downstream events stay in the outbox")
            return outbox.Drained(outage="EVENT_BUS_NAME is not set")
        drained = outbox.drain(self.client.put_events, bus)
        if drained.published:
            count("EventsPublished", drained.published)
        if drained.refused:
            count("EventsRefused", drained.refused)
        if drained.outage or drained.refused:
            logger.warning("events not published yet", extra={"published": drained.published,
                                                               "refused": drained.refused, "outage": drained.outage})
        return drained

    def drain_after_commit(self) -> outbox.Drained | None:
        """`drain`, never raising: the change it follows is committed, and its events wait in the outbox for
        the next drain whatever happens here."""
        try:
            return self.drain()
        except Exception as exc:  # noqa: BLE001 - best effort by design; the scheduled drain takes over
            logger.warning("events not published after the commit", extra={"error": f"{type(exc).__name__}: {exc}"})
            return None

    def backlog(self) -> outbox.Backlog:
        return outbox.backlog()

    def purge(self) -> int:
        """Delete the events published longer ago than OUTBOX_RETENTION_DAYS (terraform
        var.outbox_retention_days), in bounded batches."""
        return outbox.purge_published(config.settings().outbox_retention_days)


PUBLISHER = Publisher(aws.LazyClient("events"))
