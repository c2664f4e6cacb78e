"""Evaluation helpers shared by the `kefu eval …` commands: data loading, metrics, embedding cache.

Runners (intent, sentiment, faq) live in their own modules and print numbers next to an in-command baseline.
Nothing here reads a fixed data path: every file comes from the command line.
"""
