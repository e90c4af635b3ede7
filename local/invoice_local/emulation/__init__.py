"""The AWS emulation: moto, pinned exactly, plus what it lacks for this pipeline.

moto cannot run Lambda code without Docker, has no Textract expense APIs, drops EventBridge targets that
are state machines or Lambdas, never fires scheduled rules, delivers SQS event source mappings inline on the
sender's thread, spaces out a queue's RedrivePolicy (a perpetual Terraform diff), and ignores the policy of
an S3 POST form upload. Each gap is filled here, in one module per gap, by patching moto at a single, named
seam; tests/integration/test_emulation_canary.py fails loudly when a moto upgrade moves a seam. `install()`
applies all patches (idempotent); the test fixtures and local mode both call it. The threads that play AWS's
background work (SQS pollers, the scheduler of EventBridge rules) run with the server: `server.start()`
starts them."""

from __future__ import annotations

from invoice_local.emulation import (
    distributed_map,
    event_sources,
    eventbridge,
    lambda_runner,
    policy_conditions,
    s3_listing,
    s3_post_policy,
    sqs_attributes,
    stepfunctions,
    textract,
)

MOTO_VERSION = "5.2.5"  # the seams below were read in this version; the canary test checks it


def install() -> None:
    lambda_runner.install()
    textract.install()
    eventbridge.install()
    event_sources.install()
    stepfunctions.install()
    policy_conditions.install()
    distributed_map.install()
    sqs_attributes.install()
    s3_post_policy.install()
    s3_listing.install()
