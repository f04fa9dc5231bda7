"""Personal-data rights: export, erasure, retention and the audit of who read whose records."""
