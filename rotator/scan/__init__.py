"""Scanning: sources (files, staged index, history) -> engine -> findings -> filters -> report."""
