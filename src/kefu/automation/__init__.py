"""Automation rules: event + conditions + actions, evaluated by a pure evaluator on domain events."""
