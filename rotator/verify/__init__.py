"""Opt-in liveness checks of found secrets (`--verify`): live, dead, or unknown with a reason."""
