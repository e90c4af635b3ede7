"""Browser uploads (S3 POST forms) are held to their POST policy, as S3 holds them.

moto stores whatever a form POST sends: it never reads the `policy` field. The API's upload route
(POST /documents) issues a presigned POST whose policy caps the size at what the client announced and pins
the key, the Content-Type and the uploader's metadata; S3 refuses a form that breaks it, and so does the
emulation now, with S3's codes and messages (Amazon S3 API Reference, "Creating a POST policy" and
"Authenticating requests in browser-based uploads using POST (AWS Signature Version 4)"):

- a field of its signature missing (SigV4: x-amz-algorithm, -credential, -date, -signature and policy;
  SigV2, which boto3 still signs presigned POSTs with in us-east-1: AWSAccessKeyId, signature, policy):
  400 InvalidArgument "Bucket POST must contain a field named '<name>'"; none of them: an anonymous upload,
  403 AccessDenied;
- a policy past its `expiration`: 403 AccessDenied "Invalid according to Policy: Policy expired.";
- a condition not met (`{"field": value}` and `["eq", ...]` exact, `["starts-with", ...]` by prefix, the
  bucket included; field names are case-insensitive): 403 AccessDenied "Invalid according to Policy: Policy
  Condition failed: <the condition>";
- a form field no condition names (but the policy, the signature, the file and `x-ignore-*`): 403
  AccessDenied "Invalid according to Policy: Extra input fields: <name>";
- a file outside `content-length-range`: 400 EntityTooLarge (with ProposedSize and MaxSizeAllowed) or
  EntityTooSmall (ProposedSize, MinSizeAllowed).

The signature itself is not verified: the emulation accepts any credentials, so it has no secret to check
it with. The stored object takes the form's Content-Type, as S3's does."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from moto.s3.responses import S3Response

_original: Any = None
# The fields each kind of signed POST needs, in S3's spelling of its error.
SIGV4_FIELDS = ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "policy")
SIGV2_FIELDS = ("AWSAccessKeyId", "signature", "policy")
# Fields no condition has to name.
UNCONDITIONED = {"policy", "file", "x-amz-signature", "signature", "awsaccesskeyid"}


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra

    def response(self) -> tuple[int, dict[str, str], bytes]:
        parts = [f"<Code>{self.code}</Code>", f"<Message>{escape(self.message)}</Message>"]
        parts += [f"<{name}>{escape(str(value))}</{name}>" for name, value in self.extra.items()]
        parts.append(f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId>")
        body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error>' + "".join(parts) + "</Error>"
        return self.status, {"Content-Type": "application/xml"}, body.encode()


def _denied(message: str) -> Refused:
    return Refused(403, "AccessDenied", message)


def _condition_text(condition: list[Any]) -> str:
    """A condition as S3 quotes it: `["eq", "$Content-Type", "application/pdf"]`, however it was written."""
    return json.dumps(condition, separators=(", ", ": "))


def _expiration(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise Refused(400, "InvalidPolicyDocument",
                      "Invalid Policy: Invalid 'expiration' value: '" + str(value) + "'") from None


def _policy(encoded: str) -> dict[str, Any]:
    try:
        policy = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise Refused(400, "InvalidPolicyDocument", "Invalid Policy: Invalid JSON.") from None
    if not isinstance(policy, dict) or "expiration" not in policy or not isinstance(policy.get("conditions"), list):
        raise Refused(400, "InvalidPolicyDocument",
                      "Invalid Policy: Policy missing expiration or conditions.")
    return policy


def check(form: dict[str, str], bucket: str, size: int, now: datetime, kms_encrypted: bool = False) -> None:
    """Refused unless the form (its fields by lower-cased name, without the file) may upload `size` bytes
    to `bucket` (`kms_encrypted`: its default encryption, or the form's, is an AWS KMS key)."""
    if not any(name.lower() in form for name in SIGV4_FIELDS + SIGV2_FIELDS):
        raise _denied("Access Denied")  # anonymous: the pipeline's buckets allow no public writes
    needed = SIGV4_FIELDS if any(name.startswith("x-amz-") for name in form if name in SIGV4_FIELDS) else SIGV2_FIELDS
    for name in needed:
        if name.lower() not in form:
            raise Refused(400, "InvalidArgument", f"Bucket POST must contain a field named '{name}'.  If it is "
                          "specified, please check the order of the fields.", ArgumentName=name, ArgumentValue="")
    if needed is SIGV2_FIELDS and (kms_encrypted or form.get("x-amz-server-side-encryption") == "aws:kms"):
        # re:Post knowledge center, "s3-kms-signature-version-error": SSE-KMS objects take SigV4 requests only.
        raise Refused(400, "InvalidArgument", "Requests specifying Server Side Encryption with AWS KMS managed keys "
                      "require AWS Signature Version 4.", ArgumentName="Authorization", ArgumentValue="null")
    policy = _policy(form["policy"])
    if _expiration(policy["expiration"]) <= now:
        raise _denied("Invalid according to Policy: Policy expired.")
    values = {**form, "bucket": bucket}
    named: set[str] = set()
    for condition in policy["conditions"]:
        if isinstance(condition, dict) and len(condition) == 1:
            ((field, expected),) = condition.items()
            operator, field = "eq", f"${field}"
        elif isinstance(condition, list) and len(condition) == 3:
            operator, field, expected = condition
        else:
            raise Refused(400, "InvalidPolicyDocument", f"Invalid Policy: Invalid Condition: {condition}")
        operator = str(operator).lower()
        if operator == "content-length-range":
            low, high = int(field), int(expected)
            if size > high:
                raise Refused(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size",
                              ProposedSize=size, MaxSizeAllowed=high)
            if size < low:
                raise Refused(400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size",
                              ProposedSize=size, MinSizeAllowed=low)
            continue
        name = str(field).removeprefix("$").lower()
        named.add(name)
        actual = values.get(name)
        ok = actual is not None and (actual == str(expected) if operator == "eq" else
                                     operator == "starts-with" and actual.startswith(str(expected)))
        if not ok:
            raise _denied("Invalid according to Policy: Policy Condition failed: "
                          + _condition_text([operator, field, expected]))
    extra = [name for name in form if name not in named and name not in UNCONDITIONED
             and not name.startswith("x-ignore-")]
    if extra:
        raise _denied(f"Invalid according to Policy: Extra input fields: {extra[0]}")


def _kms_by_default(self: S3Response, bucket_name: str) -> bool:
    try:
        encryption = self.backend.get_bucket(bucket_name).encryption or {}
    except Exception:  # noqa: BLE001 - no such bucket: moto's own POST answers that
        return False
    rules = encryption.get("Rule") or []
    for rule in rules if isinstance(rules, list) else [rules]:
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        if str(default.get("SSEAlgorithm", "")).startswith("aws:kms"):
            return True
    return False


def _checked_post(self: S3Response, request: Any, bucket_name: str) -> Any:
    form = {str(k).lower(): str(v) for k, v in self.form_data.items()}
    if "key" not in form:  # not a form upload (DeleteObjects, ...)
        return _original(self, request, bucket_name)
    size = len(self.raw_body or b"")
    try:
        check(form, bucket_name, size, datetime.now(UTC), kms_encrypted=_kms_by_default(self, bucket_name))
    except Refused as refused:
        return refused.response()
    answer = _original(self, request, bucket_name)
    if "content-type" in form:
        key = self.backend.get_object(bucket_name, self.querystring["key"][0])
        if key is not None:
            key.set_metadata({"Content-Type": form["content-type"]})
    return answer


def install() -> None:
    global _original
    if _original is not None:
        return
    _original = S3Response._bucket_response_post
    S3Response._bucket_response_post = _checked_post  # type: ignore[method-assign]
