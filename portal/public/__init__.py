"""public area."""
