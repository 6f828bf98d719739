"""AuraQuant: the application shell (settings, command line, scheduler entry points)."""

__version__ = "0.1.0"
