"""What a run did: its summary and its report, read from ML Metadata."""
