"""DataGate: stops a run before Transform when validation finds anomalies that matter."""
