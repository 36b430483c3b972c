"""The detection engine: rule loading, the multi-pattern matcher, and value extraction."""
