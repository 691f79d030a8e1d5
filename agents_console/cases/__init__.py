"""The agents' queue and the case page: filters, SLA countdowns, timeline and case actions."""
