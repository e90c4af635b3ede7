"""Who may review. Roles are Cognito groups (terraform/auth.tf creates them; the JWT carries cognito:groups):
reviewers correct, claim, approve and reject invoices; viewers, and anyone in neither group, only read.

Machine clients (SigV4 under /iam) read and export but never review: an approval is a person's decision, and
the audit trail names that person by the JWT subject. A system that must act on invoices listens for them
(events) or exports what is ready for payment."""

from __future__ import annotations

from invoice_pipeline.api.auth import Principal

REVIEWERS = "reviewers"
VIEWERS = "viewers"
GROUPS = (REVIEWERS, VIEWERS)


def can_review(principal: Principal) -> bool:
    return principal.kind == "jwt" and REVIEWERS in principal.groups
