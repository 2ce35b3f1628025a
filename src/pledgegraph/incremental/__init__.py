"""The curator's loop: which records a change touches, re-checking them, removals, diffs."""
