"""Recipe use cases: store a prepare or SQL recipe, run it into a new version with lineage, re-run it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conveyor.domain.datasets import DatasetRef
from conveyor.domain.ports import ArtifactStore, MetadataStore
from conveyor.domain.progress import ProgressCallback, ProgressEvent, ignore_progress
from conveyor.errors import InvalidInput, NotFound
from conveyor.services.datasets import DatasetService, IngestOutcome, check_name
from conveyor.services.documents import read_yaml


def load_spec(path: str | Path) -> dict[str, Any]:
    """A recipe from a YAML (or JSON) file."""
    return read_yaml(path, "Recipe file")


class RecipeService:
    """Runs recipes over the newest (or pinned) versions of their inputs and records the result."""

    def __init__(
        self,
        datasets: DatasetService,
        store: MetadataStore,
        artifacts: ArtifactStore,
        *,
        memory_limit: str | None = None,
    ) -> None:
        self._datasets = datasets
        self._store = store
        self._artifacts = artifacts
        # DuckDB's memory for the recipe's query (None: the engine's default); it spills beyond it.
        self._memory_limit = memory_limit

    def run(self, spec: dict[str, Any], on_progress: ProgressCallback = ignore_progress) -> IngestOutcome:
        """Check, store and run `spec`; the output is a new version of `spec['output']` (or the identical one)."""
        from conveyor import data

        references = data.recipe_inputs(spec)
        check_name(spec["output"])
        inputs = {}
        for reference in references:
            try:
                inputs[reference] = self._datasets.usable_version(reference)
            except (NotFound, InvalidInput) as error:
                raise type(error)(
                    f"Recipe {spec['name']!r} reads {reference!r}: {error.message}", hint=error.hint
                ) from error
        if spec["output"] in {DatasetRef.parse(r).name for r in references}:
            raise InvalidInput(
                f"Recipe {spec['name']!r} writes {spec['output']!r}, which it also reads.",
                hint="Give the output its own dataset name.",
            )
        paths = {reference: self._artifacts.local_path(version.uri) for reference, version in inputs.items()}
        on_progress(ProgressEvent(stage="recipe", message=f"Running recipe {spec['name']}"))
        outcome = self._datasets.record(
            spec["output"],
            lambda staged: data.run_recipe(spec, paths, staged, memory_limit=self._memory_limit),
            source=f"recipe:{spec['name']}",
            parents=[version.ref for version in inputs.values()],
            recipe=spec,
            on_progress=on_progress,
        )
        self._store.save_recipe(spec["name"], spec["output"], spec)
        return outcome

    def rerun(self, name: str, on_progress: ProgressCallback = ignore_progress) -> IngestOutcome:
        """Run a stored recipe again on the newest versions of its (unpinned) inputs."""
        return self.run(self._store.get_recipe(name), on_progress)

    def get(self, name: str) -> dict[str, Any]:
        return self._store.get_recipe(name)

    def list(self) -> list[dict[str, Any]]:
        return self._store.list_recipes()
