"""rules area."""
