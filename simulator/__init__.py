"""A stand-in for Twilio (softphone, simulated queues, terminal phone): not product code."""
