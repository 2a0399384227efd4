"""The 重疾管家 rules as pure functions: eligibility, quotas, working days, hours.

Nothing in this package touches Flask, Redis, Twilio or SQL; callers hand it
plain values and get decisions back, so the IVR and the agent desk share one
reading of the service manual.
"""
