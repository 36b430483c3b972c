"""Rotation: config → plan → journal → apply → verify → finalize | rollback (see run.py)."""
