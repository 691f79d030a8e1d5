"""Administration: complaint categories and their SLA hours, agencies, wards, opening hours
and console users (admin role only)."""
