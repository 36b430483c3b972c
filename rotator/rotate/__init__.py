"""Rotation: config (secret groups) -> inventory -> plan (-> journal -> apply -> verify)."""
