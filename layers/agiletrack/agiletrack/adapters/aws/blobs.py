"""S3 claim checks: webhook bodies too large for an SQS message."""

from __future__ import annotations

from functools import cache

from agiletrack.adapters.aws import clients
from agiletrack.settings import get_settings


class BlobStore:
    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def put(self, key: str, data: bytes) -> None:
        clients.s3().put_object(Bucket=self.bucket, Key=key, Body=data, ServerSideEncryption="AES256")

    def get(self, key: str) -> bytes:
        return clients.s3().get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def delete(self, key: str) -> None:
        clients.s3().delete_object(Bucket=self.bucket, Key=key)


@cache
def blob_store() -> BlobStore:
    return BlobStore(get_settings().blob_bucket)
