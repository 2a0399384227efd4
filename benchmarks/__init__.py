"""Rerunnable measurements of the hotline; each module is one benchmark (see README.md)."""
