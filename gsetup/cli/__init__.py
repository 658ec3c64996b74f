"""The ``gsetup`` command line: parse, call one function of gsetup.commands, render.

The typer application is :mod:`gsetup.cli.app`; :mod:`gsetup.cli.quick` answers the common
read commands without it. This package imports nothing itself, so either loads alone.
"""
