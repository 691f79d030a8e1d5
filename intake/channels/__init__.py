"""Messaging channels: verified webhooks in, provider clients out.

Each adapter module knows one provider: how to check its signature, how to read its deliveries
into `Inbound` messages, and how to send a reply through its real API.
"""
