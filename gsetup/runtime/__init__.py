"""The routing runtime: runs the installed strategies against interactions."""
