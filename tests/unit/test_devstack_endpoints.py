"""The local stack's two AWS emulators: SQS has its own endpoint, every other service the general one."""

from __future__ import annotations

import os

import boto3
import pytest

from devstack.__main__ import _parser, _use_local_aws

SQS = "http://127.0.0.1:4567"
REST = "http://127.0.0.1:4566"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AWS setting of the shell; what ``_use_local_aws`` writes is undone after the test."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    written = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    for name in (*written, "AWS_DEFAULT_REGION", "AWS_REGION", "ALLOW_PRIVATE_PROVIDER_URLS"):
        monkeypatch.setenv(name, "")


@pytest.mark.usefixtures("clean_env")
def test_sqs_clients_reach_the_sqs_emulator_and_the_others_the_general_one() -> None:
    _use_local_aws(REST, "us-east-1", SQS)

    session = boto3.Session()
    assert session.client("sqs").meta.endpoint_url == SQS
    for service in ("dynamodb", "secretsmanager", "s3"):
        assert session.client(service).meta.endpoint_url == REST, service


@pytest.mark.usefixtures("clean_env")
def test_one_emulator_for_all_when_sqs_has_none_of_its_own() -> None:
    _use_local_aws(REST, "us-east-1")

    assert os.environ["AWS_ENDPOINT_URL_SQS"] == REST
    assert boto3.Session().client("sqs").meta.endpoint_url == REST


def test_the_sqs_port_defaults_to_4567_and_the_endpoint_to_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGILETRACK_SQS_PORT", raising=False)
    args = _parser().parse_args([])
    assert (args.sqs_port, args.sqs_endpoint, args.aws_port) == (4567, None, 4566)
    assert _parser().parse_args(["--sqs-port", "0", "--sqs-endpoint", SQS]).sqs_endpoint == SQS
