"""The model families the search draws from, by name; each lives in its own module, imported on first use."""

from __future__ import annotations

from conveyor.registry import Registry

FAMILIES = Registry(
    "model family",
    {
        "catboost": "conveyor.automl.families.catboost:CatBoostFamily",
        "extra_trees": "conveyor.automl.families.extra_trees:ExtraTreesFamily",
        "hist_gradient_boosting": "conveyor.automl.families.hist_gradient_boosting:HistGradientBoostingFamily",
        "knn": "conveyor.automl.families.knn:KNeighborsFamily",
        "lightgbm": "conveyor.automl.families.lightgbm:LightGBMFamily",
        "linear": "conveyor.automl.families.linear:LinearFamily",
        "random_forest": "conveyor.automl.families.random_forest:RandomForestFamily",
        "xgboost": "conveyor.automl.families.xgboost:XGBoostFamily",
    },
)

# the order in which families get their portfolio turns: strong and fast first, then the ones that add
# diversity to the ensemble. The linear model is cheap and unlike the trees, so it comes second: on
# mfeat_factors (216 numeric columns, 10 classes) it out-scored LightGBM (CV log loss 0.106 vs 0.128) and
# the slower boosting families never got a turn at 60 s.
DEFAULT_FAMILIES = (
    "lightgbm",
    "linear",
    "catboost",
    "xgboost",
    "extra_trees",
    "random_forest",
    "hist_gradient_boosting",
    "knn",
)

__all__ = ["DEFAULT_FAMILIES", "FAMILIES"]
