"""GET /documents/{document_id}/content: a short-lived presigned GET of the document's own bytes (the version
the pipeline read), for the review page to show the page image beside the fields."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import Field

from invoice_pipeline.adapters import aws, repository
from invoice_pipeline.api.models import _Model
from invoice_pipeline.api.routes import AUTHENTICATED, DocumentId, responses

router = APIGatewayHttpRouter()
CONTENT_URL_SECONDS = 300


class DocumentContent(_Model):
    url: str = Field(description="a presigned S3 GET of the document's bytes")
    media_type: str | None
    expires_in: int = Field(description="seconds the URL stays valid")


@router.get("/documents/<document_id>/content", summary="A short-lived URL to the document's bytes (to show it)",
            operation_id="getDocumentContent", tags=["documents"],
            responses=responses(200, DocumentContent, "the URL", *AUTHENTICATED, 404))
def document_content(document_id: DocumentId) -> DocumentContent:
    doc = repository.get_document(document_id)  # DocumentNotFound -> 404 NOT_FOUND
    params = {"Bucket": doc.bucket, "Key": doc.object_key}
    if doc.version_id and doc.version_id != "null":
        params["VersionId"] = doc.version_id
    if doc.media_type:
        params["ResponseContentType"] = doc.media_type
    url = aws.client("s3").generate_presigned_url("get_object", ExpiresIn=CONTENT_URL_SECONDS, Params=params)
    return DocumentContent(url=url, media_type=doc.media_type, expires_in=CONTENT_URL_SECONDS)
