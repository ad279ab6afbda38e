"""Use cases: ingest, train, predict, serve, demo. Each service takes its ports in `__init__`."""
