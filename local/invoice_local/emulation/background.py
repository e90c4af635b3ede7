"""A named daemon thread the emulation runs until it is told to stop: the SQS pollers' manager and the
EventBridge scheduler. `start` is idempotent; `stopping` is the event their loops wait on."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable


class BackgroundLoop:
    def __init__(self, name: str, target: Callable[[], None]) -> None:
        self.name = name
        self.target = target
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        if self.thread is not None and self.thread.is_alive():
            return
        self.stopping.clear()
        self.thread = threading.Thread(target=self.target, name=self.name, daemon=True)
        self.thread.start()

    def stop(self, timeout: float = 5.0, also: Iterable[threading.Thread | None] = ()) -> None:
        """Signal the loop, then wait up to `timeout` each for it and for the threads it started (`also`)."""
        self.stopping.set()
        for thread in [self.thread, *also]:
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout)
        self.thread = None
