"""Adapters: persistence and outside systems behind the ports in `conveyor.domain.ports`."""
