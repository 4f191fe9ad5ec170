"""The hyperparameter search: `tune()`, its engine, strategies, journal and `TuneResult`."""
