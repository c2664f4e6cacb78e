"""Routing: who answers which waiting conversation, in which order (docs/routing.md).

`policies.py` holds the pure decisions (queue order, eligibility, choice of agent) that the server's
assigner and `kefu simulate` both call; `priority.py` the urgency × importance matrix; the rest reads and
writes rows around them."""
