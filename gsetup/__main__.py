"""``python -m gsetup``."""

from gsetup.cli import main

main()
