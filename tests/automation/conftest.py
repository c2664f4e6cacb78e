"""Fixtures of the automation tests: the durable-listener fixtures (a quiet database per backend, an
account on it) of tests/events."""

from tests.events.conftest import account_id, sessionmaker

__all__ = ["account_id", "sessionmaker"]
