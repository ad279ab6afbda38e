"""Extremely randomised trees: a cheaper, smoother cousin of the random forest."""

from __future__ import annotations

from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

from conveyor.automl.families.random_forest import ForestFamily


class ExtraTreesFamily(ForestFamily):
    name = "extra_trees"
    relative_cost = 2.0
    classifier = ExtraTreesClassifier
    regressor = ExtraTreesRegressor
