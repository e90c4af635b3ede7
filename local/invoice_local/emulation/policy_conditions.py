"""Bucket policy statements whose Condition does not match no longer deny everything.

moto evaluates a bucket policy on every S3 call without any request context, knows only the StringEquals
operator and treats every other condition (Bool, Arn*, ...) as met. So the standard TLS-only statement
(Deny s3:* when aws:SecureTransport is false) denies every request and a Terraform-deployed bucket cannot be
written to; and when a condition is not met moto answers DENIED, for an Allow too, where IAM says the
statement simply does not apply.

We evaluate with a context that says aws:SecureTransport = true: the emulation listens on loopback only,
where nothing travels over a network, which is what the TLS-only rule protects against. And an unmet
condition makes the statement NEUTRAL, as in IAM."""

from __future__ import annotations

import fnmatch
from typing import Any

from moto.iam.access_control import IAMPolicyStatement, PermissionResult

_original: Any = None
LOOPBACK_CONTEXT = {"aws:SecureTransport": "true"}


def _matches(operator: str, expected: Any, actual: str | None) -> bool:
    """One condition operator against one context value, as IAM evaluates it (values in a list: any)."""
    if_exists = operator.endswith("IfExists")
    operator = operator.removesuffix("IfExists")
    if actual is None:
        return if_exists or operator == "Null" and str(expected).lower() == "true"
    values = expected if isinstance(expected, list) else [expected]
    if operator == "Null":
        return str(expected).lower() == "false"
    if operator == "Bool":
        return any(str(v).lower() == actual.lower() for v in values)
    if operator in ("StringEquals", "ArnEquals"):
        return actual in [str(v) for v in values]
    if operator == "StringEqualsIgnoreCase":
        return actual.lower() in [str(v).lower() for v in values]
    if operator in ("StringLike", "ArnLike"):
        return any(fnmatch.fnmatchcase(actual, str(v)) for v in values)
    if operator in ("StringNotEquals", "ArnNotEquals"):
        return actual not in [str(v) for v in values]
    if operator in ("StringNotLike", "ArnNotLike"):
        return not any(fnmatch.fnmatchcase(actual, str(v)) for v in values)
    return False  # an operator we do not evaluate: the statement does not apply (never a silent match)


def conditions_met(conditions: dict[str, dict[str, Any]], context: dict[str, str]) -> bool:
    """Every operator and every key must match (AND); a key missing from the context does not match."""
    return all(_matches(op, expected, context.get(key))
               for op, keys in conditions.items() for key, expected in keys.items())


def is_action_permitted(self: IAMPolicyStatement, action: str, resource: str = "*", principal: str | None = None,
                        incoming_condition_values: dict[str, str] | None = None) -> PermissionResult:
    context = {**LOOPBACK_CONTEXT, **(incoming_condition_values or {})}
    conditions = self._statement.get("Condition")
    if conditions and not conditions_met(conditions, context):
        return PermissionResult.NEUTRAL
    # Conditions are settled here; moto's own (partial) evaluation must not second-guess them.
    unconditional = IAMPolicyStatement({k: v for k, v in self._statement.items() if k != "Condition"})
    return _original(unconditional, action, resource, principal, context)  # type: ignore[no-any-return]


def install() -> None:
    global _original
    if _original is not None:
        return
    _original = IAMPolicyStatement.is_action_permitted
    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]
