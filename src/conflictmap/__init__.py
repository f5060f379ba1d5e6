"""conflictmap: conflict-event records to maps analysts can trust."""

__version__ = "0.1.0"
