"""Outbound webhooks: an account's subscriptions to its events, signed deliveries with retries, the
delivery log and replay (docs/webhooks.md)."""
