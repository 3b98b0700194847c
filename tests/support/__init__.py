"""Helpers shared by the tests (importable as `support.<module>`: tests/ is on
sys.path because tests/conftest.py lives there)."""
