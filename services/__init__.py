"""Use cases both sides call: callbacks, cases, accounts, feed import, jobs."""
