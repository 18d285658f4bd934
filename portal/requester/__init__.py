"""The requester's side of the portal: the request wizard, its drafts, the requester's pages."""
