"""Durable event listeners of kefu.tickets (core/listeners.py), imported by kefu.main.register_listeners."""

from __future__ import annotations
