"""The run lifecycle every kind of run shares: dispatch to workers, interrupts, per-task limits."""
