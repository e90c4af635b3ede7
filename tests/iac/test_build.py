"""The Lambda artifacts of `make build` (functions/build_package.py): a reproducible code package with the
schemas inside, and a dependency layer for the Lambda platform (aarch64, python3.12) without boto3."""

from __future__ import annotations

import hashlib
import stat
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.certs import make_ca, pem
from tests.iac.conftest import BUILD_SCRIPT
from tests.shared_data import REPO_ROOT

HANDLERS = ["register", "start_analysis", "callback", "parse", "read_einvoice", "validate", "persist", "record_failure",
            "migrate"]
RUNTIME_ONLY = {"boto3", "botocore", "s3transfer", "urllib3"}  # the Lambda runtime's; never in the layer
EM_AARCH64 = 183


def build_code(out: Path) -> Path:
    subprocess.run([sys.executable, str(BUILD_SCRIPT), "--code", "--out", str(out)], check=True,
                   capture_output=True, timeout=120)
    return out / "code.zip"


def test_code_zip_is_byte_identical_across_builds(tmp_path: Path) -> None:
    first = build_code(tmp_path / "a").read_bytes()
    second = build_code(tmp_path / "b").read_bytes()
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()


@pytest.mark.parametrize("artifact", ["code", "layer"])
def test_entries_are_sorted_dated_1980_with_fixed_modes(lambda_artifacts: dict[str, Path], artifact: str) -> None:
    with zipfile.ZipFile(lambda_artifacts[artifact]) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names) and len(names) == len(set(names))
    for info in infos:
        assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
        mode = info.external_attr >> 16
        assert stat.S_ISREG(mode) and stat.S_IMODE(mode) in (0o644, 0o755), (info.filename, oct(mode))


def test_code_zip_contents(lambda_artifacts: dict[str, Path]) -> None:
    with zipfile.ZipFile(lambda_artifacts["code"]) as zf:
        names = set(zf.namelist())
        schemas = {p.name: p.read_bytes() for p in (REPO_ROOT / "schemas").glob("*.json")}
        for name, content in schemas.items():
            assert zf.read(f"invoice_pipeline/_schemas/{name}") == content
    for handler in HANDLERS:
        assert f"invoice_pipeline/handlers/{handler}.py" in names
    assert any(n.startswith("invoice_pipeline/adapters/migrations/") and n.endswith(".sql") for n in names)
    assert all(n.startswith("invoice_pipeline/") for n in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or "/tests/" in n
                or n.rsplit("/", 1)[-1].startswith("test_")]


def test_layer_is_for_the_lambda_platform_without_boto3(lambda_artifacts: dict[str, Path]) -> None:
    with zipfile.ZipFile(lambda_artifacts["layer"]) as zf:
        names = zf.namelist()
        assert all(n.startswith("python/") for n in names)
        top = {n.split("/")[1] for n in names}
        shared_objects = [n for n in names if n.endswith(".so") or ".so." in n.rsplit("/", 1)[-1]]
        assert shared_objects, "no compiled extension at all: the layer cannot be the platform-specific one"
        for so in shared_objects:
            header = zf.read(so)[:20]
            assert header[:4] == b"\x7fELF", so
            assert int.from_bytes(header[18:20], "little") == EM_AARCH64, f"{so} is not aarch64"
        assert not [n for n in names if n.endswith(".pyc") or n.startswith("python/bin/")]

    packages = {t.lower() for t in top}
    for pkg in RUNTIME_ONLY:
        assert pkg not in packages and not [t for t in packages if t.startswith(f"{pkg}-")], pkg
    # Every runtime dependency of pyproject.toml (but boto3) is there, at its pinned version.
    deps = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        name, version = dep.split("==")
        if name == "boto3":
            continue
        dist = f"{name.replace('-', '_')}-{version}.dist-info".lower()
        assert dist in packages, f"{dep} missing from the layer"


def build_code_with(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(BUILD_SCRIPT), "--code", "--out", str(out), *args],
                          capture_output=True, text=True, timeout=120)


def test_the_rds_ca_bundle_is_packed_when_supplied_and_checked(tmp_path: Path) -> None:
    """The functions verify RDS's certificate against a bundle in the package (adapters/dbtls.py): the build
    packs the file it is given, refuses one that holds no CA certificate, and one that misses its pin."""
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pem(make_ca("test RDS root")[1]) + pem(make_ca("test RDS root 2")[1]))
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()

    assert build_code_with(tmp_path / "ok", "--rds-ca-bundle", str(bundle), "--rds-ca-sha256", digest).returncode == 0
    with zipfile.ZipFile(tmp_path / "ok" / "code.zip") as zf:
        assert zf.read("invoice_pipeline/_certs/rds-ca-bundle.pem") == bundle.read_bytes()

    pinned_wrong = build_code_with(tmp_path / "pin", "--rds-ca-bundle", str(bundle), "--rds-ca-sha256", "0" * 64)
    assert pinned_wrong.returncode != 0 and "is not the pinned" in pinned_wrong.stderr

    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate\n")
    refused = build_code_with(tmp_path / "junk", "--rds-ca-bundle", str(junk))
    assert refused.returncode != 0 and "RDS CA bundle" in refused.stderr
    assert not (tmp_path / "junk" / "code.zip").exists()


def test_without_a_bundle_the_package_has_none(tmp_path: Path) -> None:
    with zipfile.ZipFile(build_code(tmp_path)) as zf:
        assert not [n for n in zf.namelist() if "/_certs/" in n]
