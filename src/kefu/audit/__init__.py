"""The event log read over HTTP, for audit and integrations."""
