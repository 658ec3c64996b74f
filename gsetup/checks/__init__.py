"""The checks of ``gsetup doctor``, one module per part of the guide they read."""
