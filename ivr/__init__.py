"""The telephone side: Twilio webhooks, the call-flow engine, authentication and routing."""
