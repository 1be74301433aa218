"""What archiving a recovery point saves: the snapshot blocks its deletion frees, the archive's size and
cost, and when the archive pays for itself."""
