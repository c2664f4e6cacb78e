"""Service-level agreements: policies per priority × tier, business calendars, live clocks, breaches
(docs/sla.md)."""
