"""Fetch pdf.js for the web page's review view (it renders a PDF's page in the browser): the pinned pdfjs-dist
tarball from the npm registry, checked against its pinned sha512 integrity, of which only the two modules the
page loads and the license are kept, in build/pdfjs/ (not committed). No Node.js needed; nothing is fetched at
run time by the page. Skips when the files are there already. `make run` and `make test` call it.

    python -m invoice_local.vendor_pdfjs          # -> build/pdfjs/{pdf.min.mjs,pdf.worker.min.mjs,LICENSE}
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

VERSION = "5.4.394"
URL = f"https://registry.npmjs.org/pdfjs-dist/-/pdfjs-dist-{VERSION}.tgz"
# `dist.integrity` of pdfjs-dist@5.4.394 in the registry's metadata.
INTEGRITY = "sha512-9ariAYGqUJzx+V/1W4jHyiyCep6IZALmDzoaTLZ6VNu8q9LWi1/ukhzHgE2Xsx96AZi0mbZuK4/ttIbqSbLypg=="
MEMBERS = {"package/build/pdf.min.mjs": "pdf.min.mjs", "package/build/pdf.worker.min.mjs": "pdf.worker.min.mjs",
           "package/LICENSE": "LICENSE"}
TARGET = Path(__file__).resolve().parents[2] / "build" / "pdfjs"
TIMEOUT = 60


class VendorError(RuntimeError):
    pass


def present(target: Path = TARGET) -> bool:
    return all((target / name).is_file() for name in MEMBERS.values())


def check_integrity(data: bytes, integrity: str = INTEGRITY) -> None:
    algorithm, _, expected = integrity.partition("-")
    actual = base64.b64encode(hashlib.new(algorithm, data).digest()).decode()
    if actual != expected:
        raise VendorError(f"pdfjs-dist {VERSION}: the tarball's {algorithm} is {actual}, not the pinned {expected}")


def extract(data: bytes, target: Path = TARGET) -> list[Path]:
    """The pinned members of the (already checked) tarball, written to `target`; nothing else is read."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member, name in MEMBERS.items():
            entry = tar.getmember(member)  # KeyError: not in this tarball
            source = tar.extractfile(entry) if entry.isfile() else None
            if source is None:
                raise VendorError(f"pdfjs-dist {VERSION}: {member} is not a regular file")
            path = target / name
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(source.read())
            tmp.replace(path)
            written.append(path)
    return written


def fetch(url: str = URL) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 - a pinned https URL
            return bytes(response.read())
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise VendorError(f"PDFJS_FETCH_FAILED: could not download pdf.js (pdfjs-dist {VERSION}) from {url}: "
                          f"{exc}. The review page needs it to show PDFs; connect to the network once, or put "
                          f"pdf.min.mjs, pdf.worker.min.mjs and LICENSE from that tarball in {TARGET}.") from exc


def ensure(target: Path = TARGET) -> bool:
    """True when pdf.js was fetched now, False when it was there already."""
    if present(target):
        return False
    data = fetch()
    check_integrity(data)
    extract(data, target)
    return True


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m invoice_local.vendor_pdfjs", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    try:
        fetched = ensure()
    except VendorError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"pdf.js {VERSION} {'fetched into' if fetched else 'already in'} {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
