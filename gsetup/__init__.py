"""gsetup: installer and configuration manager for Genesys Social Engagement deployments."""

__version__ = "0.1.0"
