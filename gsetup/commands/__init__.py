"""The command layer: one plain function per command, called by the CLI, scripts and tests.

Functions take a :class:`gsetup.context.Context`, return data (plans, rows) and never print.
"""
