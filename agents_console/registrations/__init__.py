"""Support registrations in the console: the list, one registration, verifiers' decisions and
the exports per verifier and ward."""
