"""ListObjectVersions with `EncodingType=url`, as S3 answers it.

botocore asks every ListObjects, ListObjectsV2 and ListObjectVersions for url-encoded keys (and decodes them),
because some characters a key may hold cannot be written in XML 1.0. moto 5.2.5 honours that for the first two
but not for ListObjectVersions: a key holding a control character (an ESC, say) made the whole listing a 500,
and with it `invoices backfill` over such a bucket. Here the same listing's keys, prefixes and markers are
url-encoded as moto encodes ListObjectsV2's (`urllib.parse.quote`), and EncodingType is answered."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from moto.core.responses import ActionResult
from moto.s3.responses import S3Response

_original: Any = None

_TOP = ("Prefix", "KeyMarker", "NextKeyMarker", "Delimiter")


def _encoded(result: dict[str, Any]) -> dict[str, Any]:
    out = dict(result)
    for name in _TOP:
        if out.get(name):
            out[name] = quote(out[name])
    for listing in ("Versions", "DeleteMarkers"):
        out[listing] = [{**item, "Key": quote(item["Key"])} for item in out.get(listing) or []]
    if out.get("CommonPrefixes"):
        out["CommonPrefixes"] = [{"Prefix": quote(p["Prefix"])} for p in out["CommonPrefixes"]]
    out["EncodingType"] = "url"
    return out


def list_object_versions(self: S3Response) -> Any:
    if self.querystring.get("encoding-type", [None])[0] != "url":
        return _original(self)
    serialize = self.serialized

    def serialized(action_result: ActionResult) -> Any:
        result = action_result.result
        return serialize(ActionResult(_encoded(result)) if isinstance(result, dict) else action_result)

    self.serialized = serialized  # type: ignore[method-assign]
    try:
        return _original(self)
    finally:
        del self.serialized


def install() -> None:
    global _original
    if _original is not None:
        return
    _original = S3Response.list_object_versions
    S3Response.list_object_versions = list_object_versions  # type: ignore[method-assign]
