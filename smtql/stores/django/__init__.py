"""Sumatra's Django record store (SQLite, PostgreSQL, MariaDB), read and
written with SQL."""
