"""local/invoice_local/vendor_pdfjs.py: the pinned tarball is checked before anything is unpacked, only the
three pinned files are kept, a present copy is not fetched again, and being offline is one named message."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import urllib.error
from pathlib import Path

import pytest
from invoice_local import vendor_pdfjs


def tarball(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def test_the_integrity_must_match_the_pinned_value() -> None:
    data = b"tarball bytes"
    vendor_pdfjs.check_integrity(data, integrity(data))
    with pytest.raises(vendor_pdfjs.VendorError, match="not the pinned"):
        vendor_pdfjs.check_integrity(data + b"!", integrity(data))
    assert vendor_pdfjs.INTEGRITY.startswith("sha512-") and vendor_pdfjs.VERSION in vendor_pdfjs.URL


def test_only_the_pinned_members_are_unpacked(tmp_path: Path) -> None:
    data = tarball({"package/build/pdf.min.mjs": b"lib", "package/build/pdf.worker.min.mjs": b"worker",
                    "package/LICENSE": b"Apache", "package/build/other.mjs": b"no", "../escape": b"no"})
    vendor_pdfjs.extract(data, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["LICENSE", "pdf.min.mjs", "pdf.worker.min.mjs"]
    assert (tmp_path / "pdf.worker.min.mjs").read_bytes() == b"worker"
    assert vendor_pdfjs.present(tmp_path)


def test_present_files_are_not_fetched_and_offline_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(url: str, timeout: float) -> None:
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(vendor_pdfjs.urllib.request, "urlopen", offline)
    with pytest.raises(vendor_pdfjs.VendorError, match="PDFJS_FETCH_FAILED: could not download pdf.js"):
        vendor_pdfjs.ensure(tmp_path)
    for name in vendor_pdfjs.MEMBERS.values():
        (tmp_path / name).write_text("x")
    assert vendor_pdfjs.ensure(tmp_path) is False  # present: no download attempted
