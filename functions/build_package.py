"""Build the Lambda artifacts that terraform/ deploys: build/lambda/code.zip and build/lambda/layer.zip.

    python functions/build_package.py            # both zips
    python functions/build_package.py --code     # only the code package (no pip, no network)
    python functions/build_package.py --rds-ca-bundle global-bundle.pem [--rds-ca-sha256 HEX]

code.zip   the `invoice_pipeline` package at the zip root (handlers are `invoice_pipeline.handlers.<name>.handler`)
           plus schemas/*.json copied to invoice_pipeline/_schemas/ (the repository's schemas/ is not in the zip);
           no tests, no __pycache__. With --rds-ca-bundle (or RDS_CA_BUNDLE), the RDS CA bundle as
           invoice_pipeline/_certs/rds-ca-bundle.pem: the functions verify the database's certificate
           against it (adapters/dbtls.py) and refuse to connect to RDS without it. It is supplied, never
           downloaded by this script or by a function: AWS publishes it per partition (README: Deploying to AWS);
           --rds-ca-sha256 pins the exact file.
layer.zip  python/... : the runtime dependencies of pyproject.toml for the Lambda platform (python3.12, arm64:
           manylinux2014_aarch64 wheels only), minus what the Lambda runtime already carries (boto3, botocore and
           what only they pull in: s3transfer, urllib3, ...). Bundling those would shadow the runtime's copies
           and grow every cold start for nothing.

Both zips are reproducible: entries sorted, timestamps fixed at 1980-01-01, permissions fixed, so the same
inputs give byte-identical files and Terraform's source_code_hash only moves when the content does. Wheels
are cached under build/cache/, so a repeat build needs no network.

The archive provider is not available offline, hence Python rather than Terraform builds the zips.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from collections.abc import Iterable
from pathlib import Path

try:
    from packaging.markers import Marker
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name
except ImportError:  # a bare venv still has pip's vendored copy
    from pip._vendor.packaging.markers import Marker  # type: ignore[no-redef,assignment]
    from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef,assignment]
    from pip._vendor.packaging.utils import canonicalize_name  # type: ignore[no-redef,assignment]

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "functions" / "invoice_pipeline"
SCHEMAS = ROOT / "schemas"
OUT = ROOT / "build" / "lambda"
CACHE = ROOT / "build" / "cache" / "wheels"

# The Lambda platform: terraform/functions.tf deploys python3.12 on arm64 (Amazon Linux 2023, glibc 2.34).
PLATFORM = "manylinux2014_aarch64"
PYTHON_VERSION = "3.12"
# Marker environment of that platform, to decide which conditional dependencies the layer needs.
MARKER_ENV = {
    "implementation_name": "cpython",
    "implementation_version": "3.12.0",
    "os_name": "posix",
    "platform_machine": "aarch64",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Linux",
    "platform_version": "",
    "python_full_version": "3.12.0",
    "python_version": "3.12",
    "sys_platform": "linux",
}
# The runtime ships these; anything reachable only through them is left out too. urllib3 comes with botocore
# in the runtime: factur-x's `requests` (imported, used only for a remote validation service the pipeline never
# calls) takes the runtime's copy instead of shadowing botocore's with another version.
RUNTIME_PROVIDED = {"boto3", "botocore", "urllib3"}
# Files of the layer's packages that nothing here reads: factur-x's schematron stylesheets (7.9 MB) serve only
# its remote Saxon validation; the XSDs beside them are what domain/einvoice checks against.
LAYER_UNUSED_SUFFIXES = {"facturx/xsd_and_schematron": (".xsl", ".xslt")}

FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold
FILE_MODE = 0o644
EXEC_MODE = 0o755


def _log(msg: str) -> None:
    print(f"build_package: {msg}", file=sys.stderr)


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


# --- reproducible zips ---------------------------------------------------------------------------------


def _mode_for(arcname: str) -> int:
    # Shared objects keep an executable bit (what pip-installed trees carry); everything else is plain data.
    name = arcname.rsplit("/", 1)[-1]
    return EXEC_MODE if name.endswith(".so") or ".so." in name else FILE_MODE


def write_zip(target: Path, entries: Iterable[tuple[str, Path]]) -> bool:
    """Write `entries` (arcname, source file) as a reproducible zip. Returns True when the file changed:
    identical content keeps the old file (and its mtime), so make and Terraform see no change."""
    ordered = sorted(entries, key=lambda e: e[0])
    names = [a for a, _ in ordered]
    if len(names) != len(set(names)):
        raise ValueError(f"duplicate entries in {target.name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=target.name, dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            for arcname, source in ordered:
                info = zipfile.ZipInfo(arcname, date_time=FIXED_DATE)
                info.create_system = 3  # unix, so external_attr is read as a mode everywhere
                info.external_attr = (stat.S_IFREG | _mode_for(arcname)) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, source.read_bytes(), compresslevel=9)
        if target.exists() and target.read_bytes() == tmp.read_bytes():
            tmp.unlink()
            return False
        tmp.chmod(0o644)  # mkstemp makes it private; the artifact is not a secret
        os.replace(tmp, target)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _files_under(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if not name.endswith((".pyc", ".pyo")):
                yield Path(dirpath) / name


# --- code.zip ------------------------------------------------------------------------------------------


def _is_test(rel: Path) -> bool:
    return any(part in ("tests", "test") for part in rel.parts[:-1]) or rel.name.startswith("test_")


def code_entries() -> list[tuple[str, Path]]:
    entries = []
    for path in _files_under(PACKAGE):
        rel = path.relative_to(PACKAGE.parent)
        # _schemas/ and _certs/ are produced below; a stale local copy must not win over the real files.
        if _is_test(rel) or rel.parts[1:2] in (("_schemas",), ("_certs",)):
            continue
        entries.append((rel.as_posix(), path))
    schemas = sorted(SCHEMAS.glob("*.json"))
    if not schemas:
        raise FileNotFoundError(f"no JSON schemas in {SCHEMAS}")
    entries += [(f"invoice_pipeline/_schemas/{p.name}", p) for p in schemas]
    return entries


RDS_CA_ARCNAME = "invoice_pipeline/_certs/rds-ca-bundle.pem"


def checked_rds_ca_bundle(path: Path, sha256: str | None = None) -> Path:
    """`path` if it is a PEM file of CA certificates that Python's ssl module loads (and, with `sha256`, that
    exact file); SystemExit naming the problem otherwise."""
    import ssl

    if not path.is_file():
        raise SystemExit(f"RDS CA bundle {path}: no such file")
    data = path.read_bytes()
    if sha256 and hashlib.sha256(data).hexdigest() != sha256.lower():
        raise SystemExit(f"RDS CA bundle {path}: sha256 {hashlib.sha256(data).hexdigest()} is not the pinned "
                         f"{sha256}")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        ctx.load_verify_locations(cafile=str(path))
    except ssl.SSLError as exc:
        raise SystemExit(f"RDS CA bundle {path}: not PEM certificates ({exc})") from exc
    if not ctx.cert_store_stats()["x509_ca"]:
        raise SystemExit(f"RDS CA bundle {path}: holds no CA certificate")
    return path


def build_code(out: Path = OUT, rds_ca_bundle: Path | None = None, rds_ca_sha256: str | None = None) -> Path:
    target = out / "code.zip"
    entries = code_entries()
    if rds_ca_bundle is not None:
        entries.append((RDS_CA_ARCNAME, checked_rds_ca_bundle(rds_ca_bundle, rds_ca_sha256)))
    else:
        _log("no --rds-ca-bundle: the package can reach Postgres only by DATABASE_URL (local mode), not RDS")
    changed = write_zip(target, entries)
    _log(f"{_shown(target)}: {'written' if changed else 'unchanged'}")
    return target


# --- layer.zip -----------------------------------------------------------------------------------------


def runtime_requirements() -> list[Requirement]:
    """[project].dependencies of pyproject.toml, minus what the Lambda runtime provides."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = [Requirement(r) for r in project["dependencies"]]
    return [r for r in reqs if canonicalize_name(r.name) not in RUNTIME_PROVIDED]


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"pip failed ({result.returncode}): {' '.join(cmd)}\n{result.stdout}\n{result.stderr}")


def _platform_args() -> list[str]:
    return ["--platform", PLATFORM, "--implementation", "cp", "--python-version", PYTHON_VERSION,
            "--only-binary=:all:"]


def download(reqs: list[Requirement]) -> Path:
    """Every wheel the requirements need on the Lambda platform, in a cache folder keyed by the exact pins:
    once complete it is reused as is, so a repeat build makes no network call."""
    key = hashlib.sha256(json.dumps([PLATFORM, PYTHON_VERSION, sorted(map(str, reqs))]).encode()).hexdigest()[:16]
    folder = CACHE / key
    if (folder / ".complete").exists():
        return folder
    CACHE.mkdir(parents=True, exist_ok=True)
    # A private folder per build, renamed into place when complete: two builds at once never see (or
    # delete) each other's half-downloaded wheels.
    partial = Path(tempfile.mkdtemp(prefix=f"{key}.partial-", dir=CACHE))
    try:
        _log(f"downloading wheels for {PLATFORM} into {_shown(folder)}")
        _pip("download", "--quiet", "--dest", str(partial), *_platform_args(), *map(str, reqs))
        (partial / ".complete").write_text("\n".join(sorted(map(str, reqs))) + "\n")
        try:
            partial.rename(folder)
        except OSError:
            if not (folder / ".complete").exists():  # not a concurrent build's finished copy
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def _wheel_metadata(wheel: Path) -> tuple[str, str, list[str]]:
    """(canonical name, version, Requires-Dist lines) of a wheel, read from its METADATA."""
    with zipfile.ZipFile(wheel) as zf:
        meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        text = zf.read(meta_name).decode("utf-8")
    name = version = ""
    requires = []
    for line in text.split("\n\n", 1)[0].splitlines():
        field, _, value = line.partition(": ")
        if field == "Name":
            name = canonicalize_name(value.strip())
        elif field == "Version":
            version = value.strip()
        elif field == "Requires-Dist":
            requires.append(value.strip())
    return name, version, requires


def _applies(req: Requirement, extras: set[str]) -> bool:
    if req.marker is None:
        return True
    envs = [{**MARKER_ENV, "extra": e} for e in (extras or {""})]
    return any(Marker(str(req.marker)).evaluate(env) for env in envs)


def layer_pins(reqs: list[Requirement], wheels: Path) -> list[str]:
    """name==version for everything reachable from `reqs` without passing through a runtime-provided package.
    A package that something else needs directly (jmespath for Powertools) stays; one reached only through
    boto3/botocore (urllib3, s3transfer) goes."""
    index = {}
    for wheel in sorted(wheels.glob("*.whl")):
        name, version, requires = _wheel_metadata(wheel)
        index[name] = (version, requires)
    pins: dict[str, str] = {}
    todo: list[tuple[Requirement, set[str]]] = [(r, set()) for r in reqs]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        req, parent_extras = todo.pop()
        name = canonicalize_name(req.name)
        if name in RUNTIME_PROVIDED or not _applies(req, parent_extras):
            continue
        mark = (name, frozenset(req.extras))
        if mark in seen:
            continue
        seen.add(mark)
        if name not in index:
            raise SystemExit(f"{name} is required but no wheel for it was downloaded to {wheels}")
        version, requires = index[name]
        pins[name] = version
        todo += [(Requirement(r), set(req.extras)) for r in requires]
    return [f"{n}=={v}" for n, v in sorted(pins.items())]


def layer_entries(site: Path) -> list[tuple[str, Path]]:
    entries = []
    for path in _files_under(site):
        rel = path.relative_to(site)
        if rel.parts[0] == "bin":  # console scripts: their shebang names this machine's interpreter
            continue
        if any(rel.as_posix().startswith(f"{folder}/") and rel.name.endswith(suffixes)
               for folder, suffixes in LAYER_UNUSED_SUFFIXES.items()):
            continue
        entries.append((f"python/{rel.as_posix()}", path))
    return entries


def build_layer(out: Path = OUT) -> Path:
    reqs = runtime_requirements()
    wheels = download(reqs)
    pins = layer_pins(reqs, wheels)
    with tempfile.TemporaryDirectory(prefix="layer-") as tmp:
        site = Path(tmp) / "python"
        # By name from the cache (not by file path): pip records a direct_url.json naming the path otherwise,
        # which would differ between checkouts. --no-compile: .pyc files carry timestamps and this machine's
        # Python version, and the runtime compiles on its own.
        _pip("install", "--quiet", "--no-index", "--find-links", str(wheels), "--no-deps", "--no-compile",
             "--target", str(site), *_platform_args(), *pins)
        target = out / "layer.zip"
        changed = write_zip(target, layer_entries(site))
    _log(f"{_shown(target)}: {'written' if changed else 'unchanged'} ({', '.join(pins)})")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", action="store_true", help="only code.zip (no pip, no network)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {_shown(OUT)})")
    parser.add_argument("--rds-ca-bundle", type=Path, default=os.environ.get("RDS_CA_BUNDLE") or None,
                        help="PEM bundle of the RDS certificate authorities to pack (default: $RDS_CA_BUNDLE)")
    parser.add_argument("--rds-ca-sha256", default=os.environ.get("RDS_CA_BUNDLE_SHA256") or None,
                        help="the bundle's expected sha256 (default: $RDS_CA_BUNDLE_SHA256)")
    args = parser.parse_args(argv)
    build_code(args.out, args.rds_ca_bundle, args.rds_ca_sha256)
    if not args.code:
        build_layer(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
