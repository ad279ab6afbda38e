"""Entities, states and ports (small Protocols) shared by every layer; stdlib and pydantic only."""
