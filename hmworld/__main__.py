"""`python -m hmworld` runs the CLI."""

from hmworld.cli import main

main()
