"""Benchmarks runnable from the installed package (`kefu bench …`)."""
