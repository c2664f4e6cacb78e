"""Plumbing only, no business rules."""
