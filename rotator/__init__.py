"""rotator: find committed credentials, locate them on live platforms, rotate and verify."""

__version__ = "0.1.0"
