"""release area."""
