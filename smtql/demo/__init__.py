"""The demo project (a real Sumatra project of synthetic records) and the
tour of queries run on it."""
