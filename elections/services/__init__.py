"""Business actions that span several records: casting, mixing, counting."""
