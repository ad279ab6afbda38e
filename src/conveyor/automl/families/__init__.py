"""The model families the search draws from, by name; each lives in its own module, imported on first use."""

from __future__ import annotations

from conveyor.registry import Registry

FAMILIES = Registry(
    "model family",
    {
        "extra_trees": "conveyor.automl.families.extra_trees:ExtraTreesFamily",
        "lightgbm": "conveyor.automl.families.lightgbm:LightGBMFamily",
        "linear": "conveyor.automl.families.linear:LinearFamily",
        "random_forest": "conveyor.automl.families.random_forest:RandomForestFamily",
    },
)

# the order in which families get their portfolio turns: strong and fast first
DEFAULT_FAMILIES = ("lightgbm", "linear", "random_forest", "extra_trees")

__all__ = ["DEFAULT_FAMILIES", "FAMILIES"]
