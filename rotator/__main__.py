"""`python -m rotator` runs the command line."""

from rotator.cli import main

main()
