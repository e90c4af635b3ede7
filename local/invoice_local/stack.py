"""The local stack: Postgres, the AWS emulation with the pipeline deployed in it, the local OCR engine in
place of Textract, and a watched drop folder — all in one process, on 127.0.0.1 only.

`up()` starts it and writes `<state dir>/stack.json`, which the other commands (submit, status, trace, ...)
read to reach the running stack from another shell. Stopping the process (Ctrl-C, SIGTERM, `invoices down`)
stops everything it started: the emulation's threads die with it and Postgres' supervisor follows its owner.

The emulation keeps its state in memory, so every `up` deploys afresh; Postgres keeps its data directory
(`<state dir>/pgdata`), so documents and invoices survive restarts."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from invoice_local import lambda_limits
from invoice_local.textract_quotas import DEFAULTS as TEXTRACT_DEFAULTS
from invoice_local.textract_quotas import Quotas

REPO = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = REPO / ".local"
DEFAULT_PORT = 4599
DEFAULT_API_PORT = 8080
REGION = "us-east-1"
log = logging.getLogger("invoice_local.stack")


@dataclass(frozen=True)
class StackInfo:
    endpoint: str
    region: str
    database_url: str
    ingest_bucket: str
    results_bucket: str
    state_machine_arn: str
    drop_folder: str
    pid: int
    postgres: str
    api_url: str
    api_token: str
    # Defaulted: a stack.json written before the backfill existed still loads (backfill_cmd says to restart).
    backfill_state_machine_arn: str = ""

    @classmethod
    def load(cls, state_dir: Path = DEFAULT_STATE_DIR) -> StackInfo:
        path = state_dir / "stack.json"
        if not path.exists():
            raise StackNotRunning(f"no local stack: {path} does not exist. Start one with `invoices up`.")
        info = cls(**json.loads(path.read_text()))
        if not _alive(info.pid):
            raise StackNotRunning(f"the local stack (pid {info.pid}) is not running. Start it with `invoices up`.")
        return info

    def client(self, service: str) -> Any:
        from invoice_local.deployment import emulation_client

        return emulation_client(self.endpoint, service)


class StackNotRunning(RuntimeError):
    pass


class StackCannotStart(RuntimeError):
    """What stops a stack before anything of it starts: one already running from the same state folder, or a
    port of 127.0.0.1 it needs held by another program. Said in one line; nothing is left to tear down."""


def check_can_start(state_dir: Path, port: int | None, api_port: int) -> None:
    """Refuse, before starting anything, a second stack on the same state folder or on ports in use."""
    from invoice_local.postgres import LISTEN_HOST, port_free

    try:
        running = StackInfo.load(state_dir)
    except (StackNotRunning, ValueError, TypeError):
        running = None
    if running is not None:
        raise StackCannotStart(f"a local stack is already running from {state_dir} (pid {running.pid}, web page "
                               f"{running.api_url}): use it, or stop it with Ctrl-C in its terminal "
                               f"(or `kill -INT {running.pid}`) first")
    for number, what, option in ((port, "the AWS emulation", "--port"), (api_port, "the local API", "--api-port")):
        if number and not port_free(number):
            raise StackCannotStart(f"port {number} on {LISTEN_HOST} ({what}) is in use by another program: stop it, or "
                                   f"choose another port with {option}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _local_environment() -> None:
    """What a Lambda process in AWS gets from its runtime, and fake credentials for the emulation."""
    for var, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local"),
                       ("AWS_DEFAULT_REGION", REGION), ("AWS_REGION", REGION),
                       ("POWERTOOLS_TRACE_DISABLED", "true"),
                       # EMF metric lines are for CloudWatch; on a terminal they bury everything else
                       ("POWERTOOLS_METRICS_DISABLED", "true")):
        os.environ.setdefault(var, value)
    os.environ.pop("AWS_PROFILE", None)


def _deploy_progress_bar() -> Callable[[int, int, str], None]:
    """terraform's progress (done, total, resource) as the console's deploy bar, made once the plan's size is
    known."""
    from invoice_local import console

    bar: Any = None

    def update(done: int, total: int, resource: str) -> None:
        nonlocal bar
        if bar is None:
            bar = console.deploy_progress(total)
        bar(done, resource, total=total)

    return update


class DropFolderWatcher(threading.Thread):
    """Uploads every file that appears (or changes) in the drop folder to incoming/ in the ingest bucket.
    Polling, not inotify: it works the same on every OS and a second of latency is fine for invoices."""

    def __init__(self, folder: Path, upload: Callable[[Path], None], interval: float = 1.0) -> None:
        super().__init__(name="drop-folder", daemon=True)
        self.folder, self.upload, self.interval = folder, upload, interval
        self.seen: dict[str, tuple[int, int]] = {}
        self.stopping = threading.Event()

    def scan(self) -> list[Path]:
        uploaded = []
        for path in sorted(self.folder.iterdir()):
            if not path.is_file() or path.name.startswith("."):
                continue
            stat = path.stat()
            signature = (stat.st_size, stat.st_mtime_ns)
            if self.seen.get(path.name) == signature:
                continue
            # A file still being written changes between two scans: wait until it stands still.
            if time.time() - stat.st_mtime < self.interval:
                continue
            self.seen[path.name] = signature
            try:
                self.upload(path)
                uploaded.append(path)
            except Exception:  # noqa: BLE001 - one bad file must not stop the watcher
                log.exception("upload of %s failed", path)
        return uploaded

    def run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.scan()


@dataclass
class RunningStack:
    info: StackInfo
    state_dir: Path
    deployment: Any  # invoice_local.deployment.Deployment: what Terraform deployed, and a client for it
    _stoppers: list[Callable[[], None]]

    def stop(self) -> None:
        while self._stoppers:
            try:
                self._stoppers.pop()()
            except Exception:  # noqa: BLE001 - stop everything else even if one part fails
                log.exception("stopping a part of the local stack failed")
        (self.state_dir / "stack.json").unlink(missing_ok=True)

    def wait(self) -> None:
        """Block until SIGINT/SIGTERM, then stop everything."""
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not stop.wait(0.5):
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.stop()


def deploy_variables(database_url: str, quotas: Quotas,
                     lambda_concurrency: int = lambda_limits.ACCOUNT_CONCURRENCY) -> dict[str, Any]:
    """What local mode passes to terraform apply beside local.tfvars. The quotas describe the emulated account,
    so the admission control is deployed to match them, as textract_start_rate and textract_max_jobs default
    to the region's quotas in AWS; so does its Lambda concurrency limit, which decides whether the functions
    get reservations (terraform/variables.tf, lambda_account_concurrency)."""
    return {"database_url": database_url, "log_level": os.environ.get("INVOICES_LOG_LEVEL", "INFO"),
            "textract_start_rate": quotas.start_tps, "textract_max_jobs": quotas.max_jobs,
            "lambda_account_concurrency": lambda_concurrency}


def up(*, state_dir: Path = DEFAULT_STATE_DIR, port: int | None = DEFAULT_PORT, engine: Any = None,
       drop_folder: Path | None = None, api_port: int = DEFAULT_API_PORT,
       say: Callable[[str, str], None] | None = None, progress: Any = None,
       textract_start_tps: int = TEXTRACT_DEFAULTS.start_tps, textract_get_tps: int = TEXTRACT_DEFAULTS.get_tps,
       textract_max_jobs: int = TEXTRACT_DEFAULTS.max_jobs, textract_job_seconds: float = 0.0,
       db_max_connections: int | None = None,
       lambda_concurrency: int = lambda_limits.ACCOUNT_CONCURRENCY) -> RunningStack:
    """Start the whole local stack in this process; the pipeline is deployed by `terraform apply` of
    terraform/ with local.tfvars (deployment.py), or restored from an earlier apply of the same inputs.
    `say(stage, detail)` reports each stage (default: one line on the terminal); `progress(done, total,
    resource)` is told of each resource while Terraform applies (default: a progress bar); every log line
    goes to <state dir>/logs.

    The emulated Textract enforces `textract_*` quotas (default: AWS's in us-east-1) and keeps each job
    running `textract_job_seconds` before the local engine analyses it; Postgres accepts `db_max_connections`
    connections (default: its own setting); Lambda's account concurrency is `lambda_concurrency` (default
    AWS's 1000), which the functions' reservations must leave 100 of, as in AWS."""
    from invoice_pipeline.adapters import aws, db

    from invoice_local import console, logs
    from invoice_local import dbroles as local_dbroles
    from invoice_local.emulation import lambda_runner, server
    from invoice_local.emulation import textract as standin
    from invoice_local.postgres import ensure_database, start_postgres

    say = say or console.stage
    # Before anything starts: a bad value is refused without a half-started stack to tear down.
    quotas = Quotas(start_tps=textract_start_tps, get_tps=textract_get_tps, max_jobs=textract_max_jobs)
    if textract_job_seconds < 0:
        raise ValueError(f"textract_job_seconds must be >= 0, not {textract_job_seconds!r}")
    if lambda_concurrency < 1:
        raise ValueError(f"lambda_concurrency must be >= 1, not {lambda_concurrency!r}")
    check_can_start(state_dir, port, api_port)
    _local_environment()
    state_dir.mkdir(parents=True, exist_ok=True)
    log_dir = logs.setup(state_dir / "logs").folder
    say("logs", f"functions' and emulator's logs in {log_dir} (`invoices logs ID` for one document)")
    stoppers: list[Callable[[], None]] = []
    try:
        t0 = time.monotonic()
        pg = start_postgres(state_dir / "pgdata", max_connections=db_max_connections)
        stoppers.append(pg.stop)
        database_url = ensure_database(pg, "invoices")
        os.environ["DATABASE_URL"] = database_url
        db.close()
        local_dbroles.migrate()
        limit = f", at most {db_max_connections} connections" if db_max_connections else ""
        say("postgres", f"{pg.provider} ({pg.version if hasattr(pg, 'version') else ''}) ready in "
            f"{time.monotonic() - t0:.1f}s, data in {state_dir / 'pgdata'}{limit}")

        t0 = time.monotonic()
        emu = server.start(port)
        stoppers.append(emu.stop)
        lambda_runner.configure(account_concurrency=lambda_concurrency)
        aws.reset()
        if engine is None:
            from invoice_local.engine import LocalExpenseEngine

            engine = LocalExpenseEngine()
        from invoice_local.abandoned_jobs import abandoned

        # A job whose document is final (its wait timed out) stops instead of analysing on for nobody.
        standin.configure(engine=engine, faults=standin.Faults(job_seconds=textract_job_seconds), quotas=quotas,
                          abandoned=abandoned)
        say("emulation", f"AWS on {emu.endpoint} (moto + Lambda workers + local Textract engine; Textract "
            f"quotas {quotas.start_tps} starts/s, {quotas.get_tps} gets/s, {quotas.max_jobs} jobs at once; Lambda "
            f"concurrency {lambda_concurrency})")

        from invoice_local import deployment

        variables = deploy_variables(database_url, quotas, lambda_concurrency)
        deployed = deployment.deploy(emu.endpoint, variables, state_dir,
                                     progress=progress or _deploy_progress_bar())
        resources = {"ingest_bucket": deployed.ingest_bucket, "results_bucket": deployed.results_bucket,
                     "state_machine_arn": deployed.state_machine_arn,
                     "backfill_state_machine_arn": deployed.backfill_state_machine_arn}
        how = "restored what an earlier terraform apply deployed" if deployed.reused else "terraform apply"
        say("deploy", f"{how} in {deployed.seconds:.1f}s: {resources['state_machine_arn']}")

        from invoice_pipeline.api.roles import REVIEWERS

        from invoice_local.api_server import ApiServer

        # The api function as Terraform deployed it: its environment, name, memory and timeout.
        api_function = deployed.client("lambda").get_function_configuration(
            FunctionName=deployed.function_names["api"])
        # Its token is the local user's, a reviewer (cognito:groups), so the web page's review view works.
        api = ApiServer(port=api_port, function=api_function, token_groups=(REVIEWERS,)).start()
        stoppers.append(api.stop)
        say("api", f"{api.url}  (web page: {api.url}/#token={api.token})")

        folder = drop_folder or state_dir / "drop"
        folder.mkdir(parents=True, exist_ok=True)
        info = StackInfo(endpoint=emu.endpoint, region=REGION, database_url=database_url,
                         drop_folder=str(folder), pid=os.getpid(),
                         postgres=pg.provider, api_url=api.url, api_token=api.token, **resources)
        s3 = info.client("s3")
        watcher = DropFolderWatcher(folder, lambda p: s3.upload_file(str(p), info.ingest_bucket,
                                                                      f"incoming/{p.name}"))
        watcher.start()
        stoppers.append(watcher.stopping.set)
        stack_file = state_dir / "stack.json"
        stack_file.write_text(json.dumps(asdict(info), indent=2))
        stack_file.chmod(0o600)  # it holds the API token and the database URL
        say("drop folder", f"{folder} (or `invoices submit FILE...`); Ctrl-C to stop")
        return RunningStack(info=info, state_dir=state_dir, deployment=deployed, _stoppers=stoppers)
    except BaseException:
        for stop in reversed(stoppers):
            with contextlib.suppress(Exception):  # the original error is the one worth seeing
                stop()
        raise
