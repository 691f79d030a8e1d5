"""Dashboards for supervisors and admins: cases per day by category, SLA compliance, channels,
wards and call outcomes over a range of days, each table also as CSV."""
