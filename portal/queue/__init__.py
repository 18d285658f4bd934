"""queue area."""
