"""``python -m gsetup``."""

from gsetup.entry import main

main()
