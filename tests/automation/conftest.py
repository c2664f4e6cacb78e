"""Fixtures of the automation tests: the durable-listener fixtures (an engine per backend, an account)."""

from tests.events.conftest import account_id, sessionmaker

__all__ = ["account_id", "sessionmaker"]
