"""The `satmc` command line."""
