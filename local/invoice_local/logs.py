"""Where local mode's logs go: each function's lines to `<state dir>/logs/<function name>.log`, the emulation's
and the libraries' (moto, werkzeug, botocore, the Step Functions interpreter) to `emulator.log`, nothing to
the terminal; and reading them back, merged and filtered, for `invoices logs`.

Lambda invocations run in worker processes of their own (emulation/lambda_process.py), which point their
stdout and stderr at `function_log_file(name)`, as CloudWatch Logs receives a function's output. What runs in
this process, on threads, shares one process-global Powertools Logger: the function a line belongs to is the
one whose invocation the current thread runs, which the local API server (and the in-process runner under
moto's decorator) declare with `function_context(name)`. For the same reason the Logger's keys (correlation
id, function name, request id) are kept per invocation while a function runs here: in AWS every instance is
its own process; here two documents' invocations would otherwise overwrite each other's correlation id.
The files hold Powertools' JSON lines as they are, which is what CloudWatch Logs would hold."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

EMULATOR_LOG = "emulator.log"
CLI_LOG = "cli.log"
# Lines of Powertools loggers written outside any function's invocation (none in local mode today).
UNATTRIBUTED_LOG = "lambda.log"
ROTATE_BYTES = 20 * 1024 * 1024  # a file this large is moved to <name>.1 when the next stack starts

_current_function: ContextVar[str | None] = ContextVar("invoice_local_function", default=None)
# Per invocation: id(formatter) -> that formatter's keys (see _PerInvocationKeys).
_invocation_keys: ContextVar[dict[int, dict[str, Any]] | None] = ContextVar("invoice_local_log_keys",
                                                                              default=None)
_routing: LogRouting | None = None
_lock = threading.Lock()


def current_function() -> str | None:
    return _current_function.get()


@contextlib.contextmanager
def function_context(function_name: str) -> Iterator[None]:
    """Run one invocation of a function: its log lines go to its file, its Powertools keys are its own."""
    _isolate_powertools_keys()
    if _routing is not None:
        _routing.adopt()
    name_token = _current_function.set(function_name)
    keys_token = _invocation_keys.set({})
    try:
        yield
    finally:
        _invocation_keys.reset(keys_token)
        _current_function.reset(name_token)


# --- Powertools keys per invocation ------------------------------------------------------------------------
class _PerInvocationKeys:
    """Mixed into a Powertools formatter's class: `log_format` (its appended keys, the only state append_keys,
    clear_state and format touch) belongs to the running invocation; outside one, to the formatter."""

    @property
    def log_format(self) -> dict[str, Any]:
        shared: dict[str, Any] = self.__dict__["_shared_log_format"]
        scope = _invocation_keys.get()
        return shared if scope is None else scope.setdefault(id(self), dict(shared))

    @log_format.setter
    def log_format(self, value: dict[str, Any]) -> None:
        scope = _invocation_keys.get()
        if scope is None:
            self.__dict__["_shared_log_format"] = value
        else:
            scope[id(self)] = value


_isolated_at = -1  # size of the logger registry when Powertools loggers were last looked for


def _isolate_powertools_keys() -> None:
    global _isolated_at
    registry = logging.Logger.manager.loggerDict
    if len(registry) == _isolated_at:
        return
    with _lock:
        _isolated_at = len(registry)
        for lg in [v for v in list(registry.values()) if isinstance(v, logging.Logger)]:
            handler = getattr(lg, "powertools_handler", None)
            formatter = getattr(handler, "formatter", None)
            if formatter is None or isinstance(formatter, _PerInvocationKeys):
                continue
            keys = formatter.__dict__.get("log_format")
            if not isinstance(keys, dict):  # a Powertools version that keeps its keys elsewhere: leave it be
                continue
            cls = type(formatter)
            formatter.__class__ = type(f"PerInvocation{cls.__name__}", (_PerInvocationKeys, cls), {})
            del formatter.__dict__["log_format"]
            formatter.__dict__["_shared_log_format"] = keys


# --- routing to files ---------------------------------------------------------------------------------------
class _Files:
    """Append-mode files opened on first use; each write is one whole line, flushed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._open: dict[str, IO[str]] = {}
        self._lock = threading.Lock()

    def write(self, name: str, line: str) -> None:
        with self._lock:
            out = self._open.get(name)
            if out is None:
                out = self._open[name] = (self.folder / name).open("a", encoding="utf-8")
            out.write(line + "\n")
            out.flush()

    def close(self) -> None:
        with self._lock:
            for out in self._open.values():
                out.close()
            self._open.clear()


def log_file_name(function_name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in function_name) + ".log"


def function_log_file(function_name: str) -> Path | None:
    """Where a function's lines go while local mode routes logs (None otherwise: the worker keeps the
    emulation's stderr)."""
    routing = _routing
    return routing.folder / log_file_name(function_name) if routing is not None else None


class FunctionLogHandler(logging.Handler):
    """Writes each record to the log file of the function the current thread is running."""

    def __init__(self, files: _Files, formatter: logging.Formatter | None) -> None:
        super().__init__()
        self.files = files
        self.setFormatter(formatter)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            function = current_function()
            self.files.write(log_file_name(function) if function else UNATTRIBUTED_LOG, self.format(record))
        except Exception:  # noqa: BLE001 - logging must never break the function
            self.handleError(record)


class FileLogHandler(logging.Handler):
    """Writes every record to one file, as text (emulator.log)."""

    def __init__(self, files: _Files, name: str) -> None:
        super().__init__()
        self.files, self.file_name = files, name
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.files.write(self.file_name, self.format(record))
        except Exception:  # noqa: BLE001
            self.handleError(record)


def _is_terminal_stream(stream: Any) -> bool:
    return any(stream is s for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__))


@dataclass
class LogRouting:
    folder: Path
    files: _Files
    emulator: FileLogHandler
    _root_level: int
    _undo: list[tuple[logging.Logger, logging.Handler, logging.Handler | None]] = field(default_factory=list)
    _seen: int = -1

    def adopt(self) -> None:
        """Take over the handlers that write to the terminal: Powertools' (to the function files) and any
        library's own (to emulator.log). Loggers appear on import, so this runs again when new ones exist."""
        registry = logging.Logger.manager.loggerDict
        if len(registry) == self._seen:
            return
        with _lock:
            self._seen = len(registry)
            for lg in [v for v in list(registry.values()) if isinstance(v, logging.Logger)]:
                powertools = getattr(lg, "powertools_handler", None)
                for handler in list(lg.handlers):
                    if isinstance(handler, (FunctionLogHandler, FileLogHandler)):
                        continue
                    if handler is powertools:
                        routed = FunctionLogHandler(self.files, handler.formatter)
                        self._swap(lg, handler, routed)
                        lg.powertools_handler = routed  # type: ignore[attr-defined]
                    elif isinstance(handler, logging.StreamHandler) and _is_terminal_stream(handler.stream):
                        # a library printing to the terminal by itself; if it propagates, the root has it
                        self._swap(lg, handler, None if lg.propagate else self.emulator)

    def _swap(self, lg: logging.Logger, original: logging.Handler, routed: logging.Handler | None) -> None:
        i = lg.handlers.index(original)
        if routed is None:
            del lg.handlers[i]
        else:
            lg.handlers[i] = routed
        self._undo.append((lg, original, routed))

    def close(self) -> None:
        """Give the terminal its handlers back (for tests: local mode ends with its process)."""
        global _routing
        with _lock:
            for lg, original, routed in reversed(self._undo):
                if routed is not None and routed in lg.handlers:
                    lg.handlers[lg.handlers.index(routed)] = original
                elif original not in lg.handlers:
                    lg.handlers.append(original)
                if routed is not None and getattr(lg, "powertools_handler", None) is routed:
                    lg.powertools_handler = original  # type: ignore[attr-defined]
            self._undo.clear()
            root = logging.getLogger()
            root.removeHandler(self.emulator)
            root.setLevel(self._root_level)
            logging.captureWarnings(False)
            threading.excepthook = threading.__excepthook__
            self.files.close()
            if _routing is self:
                _routing = None


def _rotate(folder: Path) -> None:
    for path in folder.glob("*.log"):
        with contextlib.suppress(OSError):
            if path.stat().st_size > ROTATE_BYTES:
                path.replace(path.with_name(path.name + ".1"))


def _thread_exception(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    logging.getLogger("invoice_local.threads").error(
        "uncaught exception in thread %s", args.thread.name if args.thread else "?",
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback))


def setup(folder: Path) -> LogRouting:
    """From now on, send every log line of this process to files under `folder` (once per process)."""
    global _routing
    if _routing is not None:
        return _routing
    folder.mkdir(parents=True, exist_ok=True)
    _rotate(folder)
    files = _Files(folder)
    root = logging.getLogger()
    routing = LogRouting(folder=folder, files=files, emulator=FileLogHandler(files, EMULATOR_LOG),
                         _root_level=root.level)
    # A handler on the root also keeps werkzeug from adding one of its own that prints to the terminal, and
    # Python's last-resort handler from printing what moto's Step Functions interpreter logs on a failure.
    root.addHandler(routing.emulator)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    threading.excepthook = _thread_exception
    _routing = routing
    routing.adopt()
    return routing


def record_crash(exc: BaseException, folder: Path, command: str) -> Path:
    """Append an unexpected error's traceback to `<folder>/cli.log` (a temporary file if that fails)."""
    text = (f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} {command}\n"
            + "".join(traceback.format_exception(exc)))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / CLI_LOG
        with path.open("a", encoding="utf-8") as out:
            out.write(text)
        return path
    except OSError:
        with tempfile.NamedTemporaryFile("w", prefix="invoices-", suffix=".log", delete=False) as tmp:
            tmp.write(text)
        return Path(tmp.name)


# --- reading them back (`invoices logs`) -------------------------------------------------------------------
@dataclass(frozen=True)
class LogLine:
    time: datetime | None
    function: str
    record: dict[str, Any]
    raw: str

    @property
    def level(self) -> str:
        return str(self.record.get("level") or "")

    @property
    def message(self) -> str:
        message = self.record.get("message")
        return message if isinstance(message, str) else json.dumps(message, default=str)

    @property
    def document_id(self) -> str:
        return str(self.record.get("correlation_id") or self.record.get("document_id") or "")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    # Powertools writes "2025-06-01 10:00:00,123+0000" unless told otherwise.
    for fmt in ("%Y-%m-%d %H:%M:%S,%f%z", "%Y-%m-%d %H:%M:%S.%f%z"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def function_files(folder: Path) -> list[Path]:
    """The functions' log files, each rotated file before the current one."""
    skip = {EMULATOR_LOG, CLI_LOG}
    files = [p for p in folder.glob("*.log*") if p.name.endswith((".log", ".log.1"))
             and p.name.removesuffix(".1") not in skip]
    return sorted(files, key=lambda p: (p.name.removesuffix(".1"), not p.name.endswith(".1")))


def read(folder: Path, document_id: str) -> list[LogLine]:
    """Every function's JSON lines about a document (correlation id, or a `document_id` field, starting with
    `document_id`), in time order; lines of the same instant keep their order in their file."""
    prefix = document_id.strip().lower()
    found: list[tuple[float, int, LogLine]] = []
    for path in function_files(folder):
        function = path.name.removesuffix(".1").removesuffix(".log")
        with path.open(encoding="utf-8", errors="replace") as lines:
            for raw in lines:
                if prefix not in raw.lower():  # cheap before parsing
                    continue
                try:
                    record = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                if not isinstance(record, dict):
                    continue
                ids = (record.get("correlation_id"), record.get("document_id"))
                if not any(isinstance(v, str) and v.lower().startswith(prefix) for v in ids):
                    continue
                when = _parse_time(record.get("timestamp"))
                found.append((when.timestamp() if when else float("-inf"), len(found),
                              LogLine(when, function, record, raw.rstrip("\n"))))
    found.sort(key=lambda item: (item[0], item[1]))
    return [line for _when, _seq, line in found]
