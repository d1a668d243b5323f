"""One search function and everything it reads from an opened version."""
