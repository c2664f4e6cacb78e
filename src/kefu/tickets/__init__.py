"""Tickets (工单): cases that outlive a conversation — lifecycle, timeline, links, repeat contacts
(docs/tickets.md)."""
