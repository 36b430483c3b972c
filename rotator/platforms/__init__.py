"""Clients for the platforms and providers rotator rotates secrets on."""
