"""Reading the YAML documents users write (recipes, expectations), with errors that name the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conveyor.errors import InvalidInput


def read_yaml(path: str | Path, what: str) -> Any:
    """The parsed content of the YAML (or JSON) file at `path`; `what` names it in errors ("Recipe file")."""
    import yaml

    file = Path(path).expanduser()
    if not file.is_file():
        raise InvalidInput(f"{what} {file} does not exist.", hint="Check the path.")
    try:
        return yaml.safe_load(file.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise InvalidInput(f"{file.name} is not valid YAML: {error}", hint="Fix the YAML syntax.") from error
