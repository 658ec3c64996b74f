"""gsetup: installer and configuration manager for Genesys Social Engagement deployments."""

__version__ = "0.1.0"


def version_text() -> str:
    """What ``gsetup --version`` prints."""
    return f"gsetup {__version__}"
