"""Installer work beyond the database: strategy files."""
