"""AgileTrack Integrations: the shared package every Lambda function imports.

Layout:
- ``models``: pydantic models, one module per boundary (API, stored items, normalized records).
- ``domain``: the business logic, written against small ``typing.Protocol`` ports.
- ``adapters.aws``: DynamoDB, SQS, Secrets Manager and S3 adapters.
- ``adapters.providers``: GitHub, Jira and Trello adapters, one interface.
- ``metrics``: pure metric calculators over normalized records.
- ``cli``: the ``agiletrack`` command-line tool.
"""

__version__ = "0.1.0"
