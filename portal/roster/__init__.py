"""roster area."""
