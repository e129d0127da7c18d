"""AWS adapters: DynamoDB stores, SQS queues, Secrets Manager, S3 claim checks."""
