"""Multi-step task runs: the per-run Docker resources, step execution, scheduling."""
