"""Adapters to the outside: Twilio's REST API and background jobs (rq)."""
