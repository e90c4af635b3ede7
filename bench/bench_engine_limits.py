"""The local engine on input that costs memory or time out of proportion to its size: peak memory (the
process's maximum RSS) and time per case, each case in a fresh process.

    .venv/bin/python bench/bench_engine_limits.py                      # every case
    .venv/bin/python bench/bench_engine_limits.py --case huge-page     # one
    PYTHONPATH=/path/to/other/checkout/local:/path/to/other/checkout/functions \\
        .venv/bin/python bench/bench_engine_limits.py                  # the same cases on another checkout

Cases (generated here, nothing read from disk):
- huge-page: a 424-byte PDF whose one page is 14,400 x 14,400 points (200 inches), with nothing on it;
- big-image: a blank 12,000 x 9,000 PNG (108 megapixels: under Pillow's bomb limit, over Textract's 10,000
  pixels a side);
- pages-3000: a 3,000-page PDF with one short line of text per page (within Textract's limits);
- blank-3000: a 3,000-page PDF of empty pages.
- idle: the child imports the engine and analyses nothing (the baseline of the figures above).

Each case prints its outcome (pages read, or the engine's error), wall time and peak RSS; results go to
build/bench/engine_limits.json."""

from __future__ import annotations

import argparse
import io
import json
import resource
import subprocess
import sys
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CASES = ["idle", "huge-page", "big-image", "pages-3000", "blank-3000"]


def pdf(pages: list[tuple[float, float, str]]) -> bytes:
    """A PDF with one page per (width, height, text) and a Helvetica text line where text is given."""
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b"",
                            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    kids = []
    for width, height, text in pages:
        page_number = len(objects) + 1
        kids.append(f"{page_number} 0 R")
        if text:
            stream = f"BT /F1 12 Tf 72 {height - 72:.0f} Td ({text}) Tj ET".encode()
            objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:.0f} {height:.0f}] "
                           f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_number + 1} 0 R >>".encode())
            objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        else:
            objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width:.0f} {height:.0f}] >>".encode())
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def png(width: int, height: int) -> bytes:
    """A white grayscale PNG written row by row (never held decoded here)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")

    compressor = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * width
    body = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def content(case: str) -> bytes:
    if case == "huge-page":
        return pdf([(14400, 14400, "")])
    if case == "big-image":
        return png(12000, 9000)
    if case == "pages-3000":
        return pdf([(595, 842, f"Page {n} of 3000") for n in range(1, 3001)])
    if case == "blank-3000":
        return pdf([(595, 842, "")] * 3000)
    return b""


def child(case: str) -> None:
    from invoice_local.engine import EngineError, LocalExpenseEngine

    data = content(case)
    engine = LocalExpenseEngine()
    started = time.perf_counter()
    outcome = "nothing analysed"
    if data:
        try:
            engine.analyze(data)
            outcome = f"analysed: {len(engine.last_pages)} pages"
        except EngineError as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - what the emulation would turn into "engine error: ..."
            outcome = f"unexpected {type(exc).__name__}: {exc}"
    peak_mb = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(json.dumps({"bytes": len(data), "seconds": round(time.perf_counter() - started, 2), "outcome": outcome,
                      "peak_rss_mb": peak_mb}))


def _peak_mb(pid: int) -> int | None:
    """The process's peak resident set (VmHWM) while it still runs."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return None


def run(case: str, timeout: float) -> dict[str, object]:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, __file__, "--child", case], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        result: dict[str, object] = (json.loads(stdout.strip().splitlines()[-1]) if proc.returncode == 0
                                     else {"outcome": f"exit {proc.returncode}: {stderr.strip()[-300:]}"})
    except subprocess.TimeoutExpired:
        peak = _peak_mb(proc.pid)
        proc.kill()
        proc.communicate()
        result = {"outcome": f"still running after {timeout:.0f} s: killed", "peak_rss_mb": peak}
    result.update(case=case, wall_seconds=round(time.perf_counter() - started, 1))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=CASES, action="append")
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--child", choices=CASES)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    results = []
    for case in args.case or CASES:
        result = run(case, args.timeout)
        print(json.dumps(result), flush=True)
        results.append(result)
    out = REPO / "build" / "bench" / "engine_limits.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
