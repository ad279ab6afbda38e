"""The services of the workspace the CLI works on, built once per process."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conveyor.bootstrap import Services


@cache
def services() -> Services:
    from conveyor.bootstrap import build_services

    return build_services()
