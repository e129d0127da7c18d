"""Local stack for AgileTrack: moto for AWS, Lambda-like sandbox processes, an HTTP API and SQS pollers.

Everything is derived from ``template.yaml``: the tables, queues and buckets, the function
environment, the HTTP routes and authorizer, and the SQS and schedule event sources.
"""
