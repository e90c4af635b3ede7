"""TLS for the connection to RDS: the server's certificate is verified against the RDS CA bundle that the
build packs into the code (functions/build_package.py --rds-ca-bundle), and its host name against the
endpoint in the secret. Nothing is downloaded at run time, and there is no switch that turns verification
off: without a packaged bundle the connection is refused. Local mode names its TLS mode in DATABASE_URL
(`sslmode=...`, adapters/dburl.py); this module is only the AWS path (the Secrets Manager secret)."""

from __future__ import annotations

import ssl
from importlib import resources
from pathlib import Path

from invoice_pipeline.errors import DatabaseUnavailable

# Where the build puts the bundle inside the package (invoice_pipeline/_certs/...).
BUNDLE_DIR = "_certs"
BUNDLE_NAME = "rds-ca-bundle.pem"


def packaged_bundle() -> Path:
    """The bundle in the code package. Raises DatabaseUnavailable, naming the build option, when the package
    was built without one."""
    path = Path(str(resources.files("invoice_pipeline") / BUNDLE_DIR / BUNDLE_NAME))
    if not path.is_file():
        raise DatabaseUnavailable(
            f"no RDS CA bundle in the code package ({BUNDLE_DIR}/{BUNDLE_NAME}): build it with "
            "RDS_CA_BUNDLE=path/to/global-bundle.pem make build (README: Deploying to AWS); "
            "the database's certificate cannot be verified without it, so no connection is made"
        )
    return path


def verified_context(cafile: Path) -> ssl.SSLContext:
    """A client context that requires a certificate chaining to `cafile` and naming the host connected to."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname, by construction
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_verify_locations(cafile=str(cafile))
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.check_hostname = True
    return ctx


def rejected(exc: BaseException) -> str | None:
    """A short reason when `exc` (or what it wraps) is a refused certificate, None otherwise."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"the database's TLS certificate was rejected: {seen.verify_message or seen}"
        seen = seen.__cause__ or seen.__context__
    return None
