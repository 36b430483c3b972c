"""Credential families, one file each: detector (a detect-secrets plugin), examples, rotation side.

Installed as the `rotator.plugins` package. Adding a family means adding one file here and
its tests; the engine discovers every `*.py` file that does not start with an underscore.
"""
