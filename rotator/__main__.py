"""`python -m rotator` runs the command line."""

from rotator.entry import main

main()
