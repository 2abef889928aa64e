"""wbadmin: the terminal console for Weights & Biases platform admins."""

__version__ = "0.1.0"
