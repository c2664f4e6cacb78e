"""File and image attachments of chat messages, stored in the database (docs/api.md#attachments)."""
