"""Benchmarks of smtql against Sumatra's API and hand-written SQL (`python -m benchmarks.run`)."""
