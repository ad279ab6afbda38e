"""The AutoML search: portfolio first, then Optuna's TPE, every trial cross-validated, all within the deadline."""

from __future__ import annotations

import itertools
import logging
import math
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState
from threadpoolctl import threadpool_limits

from conveyor.automl.executors import FoldExecutor, choose_executor
from conveyor.automl.families import DEFAULT_FAMILIES, FAMILIES
from conveyor.automl.families.base import ModelFamily, use_threads
from conveyor.automl.metrics import Metric, resolve_metric
from conveyor.automl.model import (
    FoldEnsemble,
    TabularModel,
    TemperatureScaled,
    WeightedEnsemble,
    apply_temperature,
    class_probabilities,
    expand_classes,
    fit_temperature,
)
from conveyor.automl.preprocessing import TabularPreprocessor
from conveyor.automl.splits import LARGE_ROWS, make_splits
from conveyor.automl.target import prepare_target
from conveyor.automl.tasks import default_metric
from conveyor.domain.progress import ProgressCallback, ProgressEvent, ignore_progress
from conveyor.domain.training import Task, TrialResult
from conveyor.errors import InvalidInput, InvalidTrainingData

# Time kept back at the end for building the result and returning, as seconds plus a share of the budget.
RETURN_MARGIN_SECONDS = 0.3
RETURN_MARGIN_SHARE = 0.02
# Trial costs vary with their parameters; an estimate is the family's dearest recent trial times this.
COST_SAFETY_FACTOR = 1.25
# The family whose default trial's time is the unit of the families' `relative_cost`.
REFERENCE_FAMILY = "lightgbm"
# A refit on all rows costs more than a fold fit on part of them (tree depth, sorting): n log n, roughly.
REFIT_SAFETY_FACTOR = 1.3
# Optuna proposals in a row that may be skipped as too dear for the time left before the search ends.
MAX_SKIPPED_PROPOSALS = 20
# A refit dearer than this share of the budget is not planned for: the fold models become the final model.
MAX_REFIT_SHARE = 0.2
# Trials whose fold models are kept as ensemble candidates (the best ones; the others' models are dropped).
ENSEMBLE_CANDIDATES = 8
# A class below this share of the rows counts as a minority worth weighting up (for label metrics).
MINORITY_SHARE = 0.10
# On large data under a deadline the first trial trains on a sample of this many rows, so that a first model
# comes in seconds: on kddcup99 (100,000 training rows of 23 classes) a full LightGBM trial took 19 s.
QUICK_TRIAL_ROWS = 10_000
# The quick trial stops early on this many of the training part's rows its sample left out, not on the whole
# holdout it is scored on: on kddcup99 evaluating the 40,000 holdout rows after each round took 1.2 s of its 4.1 s.
QUICK_STOPPING_ROWS = 5_000
# The quick trial stops this many rounds after its best on those rows, not the family's usual number: on kddcup99
# its best round was 57 and the 50 rounds after it only delayed the first model (10 or 20 gave the same model).
QUICK_TRIAL_PATIENCE = 10
# A family's first trial may take at most this share of the time left once another family's time is known: its
# cost is a guess until then (`relative_cost`). CatBoost's first trial on hypothyroid (3,017 rows, 4 classes) was
# estimated at 4 s from LightGBM's 0.8 s and took the 38 s left; XGBoost's on mfeat_factors 29 s of 30.
UNTRIED_FAMILY_SHARE = 0.5
# A trial's fits stop this share of its time early: the rest is for predicting the validation rows, which a
# fit's deadline does not cover. On kddcup99 (40,000 validation rows, 23 classes) a LightGBM fit stopped by its
# deadline after 34 s needed 3 s more to predict them, and the search ended 2.5 s past its own.
PREDICTION_SHARE = 0.1
# From this many validation rows a trial's prediction runs on every idle core, even after a one-thread fit.
PARALLEL_PREDICTION_ROWS = 20_000
# When the budget is already spent before the first trial, it still gets this long to produce a model.
MIN_FIRST_TRIAL_SECONDS = 3.0
# Greedy selection steps (members drawn with replacement, so weights are multiples of 1/ENSEMBLE_ROUNDS).
ENSEMBLE_ROUNDS = 25
# Scorings of the out-of-fold predictions a temperature fit takes (a bounded scalar search), with room to spare.
TEMPERATURE_STEPS = 40


@dataclass
class AutoMLResult:
    """What a search produced: the leaderboard (best first), the best trial and the fitted model."""

    task: Task
    metric: str
    leaderboard: list[TrialResult]
    model: TabularModel
    best: TrialResult
    warnings: list[str] = field(default_factory=list)
    # out-of-fold truth and predictions of the final model on the rows validation scored (model card plots)
    oof_y: np.ndarray | None = None
    oof_prediction: np.ndarray | None = None


def run_automl(
    frame: pd.DataFrame,
    target: str,
    *,
    task: Task | None = None,
    metric: str | None = None,
    deadline: float | None = None,
    max_trials: int | None = None,
    seed: int = 0,
    families: list[str] | None = None,
    n_jobs: int = -1,
    executor: FoldExecutor | None = None,
    on_event: ProgressCallback = ignore_progress,
) -> AutoMLResult:
    """Search model families and their parameters for the best cross-validated `metric`, then fit the winner.

    `deadline` is a `time.monotonic()` value by which the call returns, final fit included; `max_trials`
    bounds the number of trials (with it alone, the same data and seed give the same model).
    `executor` fits the folds (see `conveyor.automl.executors`); by default one is chosen for the data
    size and the idle cores, and shut down on return.
    """
    if deadline is None and max_trials is None:
        raise InvalidInput("A search needs a deadline or max_trials.", hint="Give a time budget or a trial count.")
    if max_trials is not None and max_trials < 1:
        raise InvalidInput(f"max_trials must be at least 1, not {max_trials}.")
    started = time.monotonic()
    prepared = prepare_target(frame, target, task)
    chosen_metric = resolve_metric(metric or default_metric(prepared.task), prepared.task)
    family_names = list(families) if families else list(DEFAULT_FAMILIES)
    chosen_families = [FAMILIES[name]() for name in family_names]
    # families that cannot scale to this many rows sit out, unless nothing else was asked for
    chosen_families = [
        f for f in chosen_families if f.max_rows is None or len(prepared.y) <= f.max_rows
    ] or chosen_families

    preprocessor = TabularPreprocessor(task=prepared.task.value, seed=seed).fit(prepared.features, prepared.y)
    warnings = prepared.warnings + [f"Dropped column {name!r}: {why}." for name, why in preprocessor.dropped_.items()]
    if not preprocessor.kinds_:
        raise InvalidTrainingData(
            "No usable feature column is left once constant, identifier-like and leaking columns are dropped.",
            hint="Add columns that describe the rows.",
        )
    own_executor = executor is None
    search = _Search(
        executor=choose_executor(len(prepared.y)) if executor is None else executor,
        features=preprocessor.transform(prepared.features),
        y=prepared.y,
        task=prepared.task,
        n_classes=len(prepared.classes) or None,
        metric=chosen_metric,
        families=chosen_families,
        seed=seed,
        n_jobs=n_jobs,
        started=started,
        deadline=deadline,
        max_trials=max_trials,
        on_event=on_event,
    )
    if search.balance_classes:
        warnings.append(
            f"A class has under {MINORITY_SHARE:.0%} of the rows and {chosen_metric.name} reads predicted labels: "
            "classes are weighted inversely to their frequency."
        )
    try:
        search.run()
    finally:
        if own_executor:
            search.executor.shutdown(wait=False, cancel_futures=True)
    ensemble = search.build_ensemble()
    if (
        ensemble is not None
        and search.incumbent is not None
        and chosen_metric.is_better(ensemble[0].cv_mean, search.incumbent.result.cv_mean)
    ):
        best, estimator, params = ensemble
        oof = search.ensemble_oof
    else:
        best, estimator, params = search.final_fit()
        oof = next(c.oof for c in search.candidates if c.result.number == best.number)
    oof = np.asarray(oof, dtype=float)
    if chosen_metric.name == "log_loss":
        temperature = fit_temperature(prepared.y[search.oof_rows], oof[search.oof_rows])
        if temperature != 1.0:
            estimator = TemperatureScaled(estimator, temperature, len(prepared.classes))
            oof = apply_temperature(oof, temperature)
            params = {**params, "temperature": round(temperature, 4)}
    model = TabularModel(
        task=prepared.task,
        target=target,
        preprocessor=preprocessor,
        estimator=estimator,
        classes=prepared.classes,
        target_dtype=prepared.target_dtype,
        family=best.family,
        params=params,
        dropped_classes=prepared.dropped_classes,
    )
    return AutoMLResult(
        task=prepared.task,
        metric=chosen_metric.name,
        leaderboard=search.leaderboard(),
        model=model,
        best=best,
        warnings=warnings,
        oof_y=prepared.y[search.oof_rows],
        oof_prediction=oof[search.oof_rows],
    )


@dataclass
class FoldFit:
    """One fold's fitted model, what its fit learned, its predictions on the fold's validation rows and timings."""

    estimator: Any
    facts: dict[str, Any]
    prediction: np.ndarray
    fit_seconds: float
    predict_seconds: float


def fit_fold(
    family: ModelFamily,
    params: dict[str, Any],
    *,
    task: Task,
    seed: int,
    n_jobs: int,
    n_classes: int | None,
    train: tuple[pd.DataFrame, np.ndarray],
    valid: tuple[pd.DataFrame, np.ndarray],
    stop_at: float | None,
    stopping: tuple[pd.DataFrame, np.ndarray] | None = None,
    patience: int | None = None,
) -> FoldFit:
    """Fit `family` with `params` on one fold and predict its validation rows: self-contained, for any executor.

    The fit stops early on the `stopping` rows when given, else on the validation rows, `patience` rounds
    after its best when given (else the family's own number).
    """
    with single_threaded_blas(len(train[1])):
        started = time.monotonic()
        estimator = family.make_estimator(params, task=task, seed=seed, n_jobs=n_jobs)
        facts = family.fit(
            estimator,
            *train,
            validation=valid if stopping is None else stopping,
            stop_at=stop_at,
            patience=patience,
        )
        fitted = time.monotonic()
        with predicting_on_idle_cores(estimator, len(valid[1]), n_jobs):
            prediction = (
                np.asarray(estimator.predict(valid[0]), dtype=float)
                if n_classes is None
                else class_probabilities(estimator, valid[0], n_classes)
            )
    return FoldFit(estimator, facts, prediction, fitted - started, time.monotonic() - fitted)


@contextmanager
def predicting_on_idle_cores(estimator: Any, n_rows: int, n_jobs: int) -> Iterator[None]:
    """`n_jobs` threads for predicting `n_rows` validation rows when they are many and a core is idle, the fit's
    own thread count again afterwards: a fit on few rows runs one thread (`use_threads`), which the saved model
    keeps for serving's single rows, but a prediction of many rows splits evenly over threads (kddcup99's quick
    trial predicts its 40,000 holdout rows in about half the time on two; docs/benchmarks.md, AutoML)."""
    fitted_with = estimator.get_params().get("n_jobs")
    if fitted_with is None or fitted_with == n_jobs or not use_threads(n_rows, min_rows=PARALLEL_PREDICTION_ROWS):
        yield
        return
    estimator.set_params(n_jobs=n_jobs)
    try:
        yield
    finally:
        estimator.set_params(n_jobs=fitted_with)


def single_threaded_blas(n_rows: int) -> AbstractContextManager[Any]:
    """One BLAS thread while fitting on small data or on a busy machine, where a second one only waits.

    Measured on the 2-core host under load 4-5 with scikit-learn's logistic regression: mfeat_factors
    (1,600 rows x 216 columns, 10 classes) 7.1 s with OpenBLAS's 2 threads and 0.3 s with one; kddcup99
    (100,000 rows, 23 classes) 5.4 s against 2.1 s for five solver iterations.
    """
    return nullcontext() if use_threads(n_rows) else threadpool_limits(limits=1, user_api="blas")


class _OutOfTime(Exception):
    """A trial stopped between folds because finishing it would overrun the deadline."""


@dataclass
class _Incumbent:
    """The best trial so far, with what is needed to build the final model from it."""

    result: TrialResult
    family: ModelFamily
    params: dict[str, Any]
    fold_estimators: list[Any]
    fit_facts: list[dict[str, Any]]
    refit_seconds: float
    # False when a refit on all rows would cost too much of the budget: the fold models are the final model
    refit: bool = True


@dataclass
class _Candidate:
    """A finished trial as an ensemble member: its out-of-fold predictions and its fold models."""

    result: TrialResult
    oof: np.ndarray
    estimators: list[Any]


class _Search:
    """The state of one search: the data, its folds, the trials so far and the clock."""

    def __init__(
        self,
        *,
        executor: FoldExecutor,
        features: pd.DataFrame,
        y: np.ndarray,
        task: Task,
        n_classes: int | None,
        metric: Metric,
        families: list[ModelFamily],
        seed: int,
        n_jobs: int,
        started: float,
        deadline: float | None,
        max_trials: int | None,
        on_event: ProgressCallback,
    ) -> None:
        self.features, self.y, self.task, self.n_classes, self.metric = features, y, task, n_classes, metric
        self.families = {family.name: family for family in families}
        self.seed, self.n_jobs, self.executor = seed, n_jobs, executor
        self.started, self.deadline, self.max_trials, self.on_event = started, deadline, max_trials, on_event
        self.splits = make_splits(y, task, seed)
        self.balance_classes = needs_balancing(y, task, metric)
        # the rows some fold validates, in order: where out-of-fold predictions exist
        self.oof_rows = np.sort(np.concatenate([valid for _, valid in self.splits]))
        self.candidates: list[_Candidate] = []
        self.ensemble_oof: np.ndarray | None = None
        self.trials: list[TrialResult] = []
        self.incumbent: _Incumbent | None = None
        self.trial_seconds: dict[str, list[float]] = {}
        # the least time a trial took to score a fold: what one ensemble step costs
        self.score_seconds: float | None = None
        budget = None if deadline is None else max(0.0, deadline - started)
        self.budget = budget
        self.finish_by = None if budget is None else deadline - RETURN_MARGIN_SECONDS - RETURN_MARGIN_SHARE * budget

    # -- the search loop -------------------------------------------------------------------------------

    def run(self) -> None:
        self._announce("search", f"Searching {len(self.families)} model families on {len(self.y)} rows")
        optuna.logging.set_verbosity(logging.WARNING)
        study = optuna.create_study(
            direction="maximize" if self.metric.higher_is_better else "minimize",
            sampler=optuna.samplers.TPESampler(seed=self.seed),
        )
        space = self._joint_space()
        quick_rows = self._quick_rows()
        if quick_rows is not None:
            family, params = next(self._portfolio())
            self._run_trial(family, params, rows=quick_rows)
        for family, params in self._portfolio():
            # the first trial always runs: a late model beats no model
            if self._trials_exhausted() or (self.incumbent is not None and self._time_left() <= 0):
                return
            if not self._affordable(family):
                continue
            result = self._run_trial(family, params)
            study.add_trial(
                optuna.trial.create_trial(
                    params=self._flatten(family.name, params),
                    distributions={name: space[name] for name in self._flatten(family.name, params)},
                    value=None if result.status != "ok" else result.cv_mean,
                    state=TrialState.COMPLETE if result.status == "ok" else TrialState.FAIL,
                )
            )
        skipped = 0
        while not self._trials_exhausted() and skipped < MAX_SKIPPED_PROPOSALS and self._time_left() > 0:
            if not any(self._affordable(family) for family in self.families.values()):
                return
            trial = study.ask()
            family = self.families[trial.suggest_categorical("family", list(self.families))]
            params = {
                name: _suggest(trial, f"{family.name}.{name}", distribution)
                for name, distribution in family.search_space(self.task).items()
            }
            if not self._affordable(family):
                skipped += 1
                study.tell(trial, state=TrialState.FAIL)
                continue
            skipped = 0
            result = self._run_trial(family, params)
            if result.status == "ok":
                study.tell(trial, result.cv_mean)
            else:
                study.tell(trial, state=TrialState.FAIL)

    def _portfolio(self) -> Iterator[tuple[ModelFamily, dict[str, Any]]]:
        """Portfolio configurations interleaved: every family's default first, then every family's second, …"""
        portfolios = [[(family, params) for params in family.portfolio(self.task)] for family in self.families.values()]
        for round_ in itertools.zip_longest(*portfolios):
            yield from (entry for entry in round_ if entry is not None)

    def _quick_rows(self) -> int | None:
        """How many rows a quick first trial trains on: on large data under a deadline, so a model comes early.

        It fits the first portfolio configuration on a sample of the holdout's training part; the full
        trials follow as usual. A trial count alone bounds the search: then there is no quick trial.
        """
        return QUICK_TRIAL_ROWS if self.deadline is not None and len(self.y) > LARGE_ROWS else None

    def _joint_space(self) -> dict[str, BaseDistribution]:
        space: dict[str, BaseDistribution] = {"family": CategoricalDistribution(list(self.families))}
        for family in self.families.values():
            for name, distribution in family.search_space(self.task).items():
                space[f"{family.name}.{name}"] = distribution
        return space

    @staticmethod
    def _flatten(family: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"family": family, **{f"{family}.{name}": value for name, value in params.items()}}

    def _trials_exhausted(self) -> bool:
        return self.max_trials is not None and len(self.trials) >= self.max_trials

    # -- time --------------------------------------------------------------------------------------------

    def _elapsed(self) -> float:
        return time.monotonic() - self.started

    def _time_left(self) -> float:
        """Seconds left for trials, once the final fit of the incumbent and the ensemble selection are provided for."""
        if self.finish_by is None:
            return math.inf
        return self.finish_by - time.monotonic() - self._refit_reserve() - self._ensemble_reserve()

    def _ensemble_reserve(self) -> float:
        """Seconds the greedy ensemble selection and the temperature fit will take after the search.

        Each scores the out-of-fold predictions once per step.
        """
        if self.score_seconds is None:
            return 0.0
        steps = ENSEMBLE_ROUNDS * min(len(self.candidates) + 1, ENSEMBLE_CANDIDATES) + TEMPERATURE_STEPS
        return steps * self.score_seconds * COST_SAFETY_FACTOR

    def _refit_reserve(self) -> float:
        if self.incumbent is not None:
            return self.incumbent.refit_seconds if self.incumbent.refit else 0.0
        # before any trial: keep room for a refit worth about one and a half folds
        folds = len(self.splits)
        return (self.finish_by - time.monotonic()) * 1.5 / (folds + 1.5)

    def _estimated_seconds(self, family: ModelFamily) -> float | None:
        history = self.trial_seconds.get(family.name)
        if history:
            return max(history[-3:]) * COST_SAFETY_FACTOR
        # `relative_cost` is relative to LightGBM's default, so LightGBM's time is the unit once it is known.
        # The cheapest family's time per unit underrates the dear ones: on mfeat_factors (1,600 rows x 216
        # columns, 10 classes) the linear model's 1.9 s promised CatBoost 19 s; it took 32 s, was cut by the
        # deadline at log loss 0.57 and left too little time for anything else (LightGBM had taken 9 s).
        reference = self.trial_seconds.get(REFERENCE_FAMILY)
        if reference:
            return min(reference) * family.relative_cost * COST_SAFETY_FACTOR
        per_unit = [
            min(seconds) / self.families[name].relative_cost for name, seconds in self.trial_seconds.items() if seconds
        ]
        return min(per_unit) * family.relative_cost * COST_SAFETY_FACTOR if per_unit else None

    def _affordable(self, family: ModelFamily) -> bool:
        estimate = self._estimated_seconds(family)
        return estimate is None or estimate <= self._time_left()

    # -- one trial ---------------------------------------------------------------------------------------

    def _run_trial(self, family: ModelFamily, params: dict[str, Any], *, rows: int | None = None) -> TrialResult:
        """Cross-validate `family` with `params`; with `rows`, each training part is a sample of that many rows."""
        number = len(self.trials)
        trial_started = time.monotonic()
        stop_at = None
        if self.finish_by is not None:
            least = MIN_FIRST_TRIAL_SECONDS if self.incumbent is None else 0.0
            allowed = max(self._time_left(), least)
            if self.trial_seconds and family.name not in self.trial_seconds:
                allowed *= UNTRIED_FAMILY_SHARE
            stop_at = trial_started + allowed * (1 - PREDICTION_SHARE)
        splits, stopping = (self.splits, None) if rows is None else self._sampled_splits(rows)
        patience = None if rows is None else QUICK_TRIAL_PATIENCE
        try:
            scores, fit_seconds, predict_seconds, estimators, facts, oof = self._cross_validate(
                family, params, stop_at, splits, stopping, patience
            )
        except _OutOfTime as stopped:
            result = self._failed(number, family, params, str(stopped))
        except Exception as error:  # a failing configuration must not end the search
            result = self._failed(number, family, params, f"{type(error).__name__}: {error}")
        else:
            validated_rows = sum(len(valid) for _, valid in splits)
            train_rows = np.mean([len(train) for train, _ in splits])
            trial_params = family.refit_params(params, facts)
            if stopping is not None:
                stopping_rows = int(np.mean([len(part) for part in stopping]))
                trial_params = {**trial_params, "sample_rows": int(train_rows), "stopping_rows": stopping_rows}
            result = TrialResult(
                number=number,
                family=family.name,
                params=trial_params,
                metric=self.metric.name,
                cv_mean=float(np.mean(scores)),
                cv_std=float(np.std(scores)),
                fit_seconds=round(fit_seconds, 4),
                predict_seconds_per_1k=round(predict_seconds / validated_rows * 1000, 6),
                folds=len(self.splits),
                higher_is_better=self.metric.higher_is_better,
            )
            if self.incumbent is None or self.metric.is_better(result.cv_mean, self.incumbent.result.cv_mean):
                refit_seconds = fit_seconds / len(splits) * len(self.y) / train_rows * REFIT_SAFETY_FACTOR
                refit = self.budget is None or refit_seconds <= MAX_REFIT_SHARE * self.budget
                self.incumbent = _Incumbent(result, family, params, estimators, facts, refit_seconds, refit)
            self._keep_candidate(_Candidate(result, oof, estimators))
        if rows is None:  # a sample's time says little about a full trial's
            self.trial_seconds.setdefault(family.name, []).append(time.monotonic() - trial_started)
        self.trials.append(result)
        self._report(result)
        return result

    def _sampled_splits(self, rows: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[np.ndarray]]:
        """The splits with each training part cut to a seeded random sample of about `rows` rows, and per split
        up to QUICK_STOPPING_ROWS of the training rows the sample left out, for early stopping.

        For classification the sample also keeps the rows of any class it missed: a model that never saw a
        class gives its validated rows a probability of 0 (kddcup99's quick trial scored log loss 0.62
        with a plain sample, most of it from such rows).
        """
        rng = np.random.default_rng(self.seed)
        sampled, stopping = [], []
        for train, valid in self.splits:
            chosen = rng.choice(train, size=rows, replace=False)
            if self.n_classes is not None:
                missed = np.setdiff1d(np.unique(self.y[train]), self.y[chosen])
                chosen = np.concatenate([chosen, train[np.isin(self.y[train], missed)]])
            left_out = np.setdiff1d(train, chosen)
            stopping.append(np.sort(rng.choice(left_out, size=min(QUICK_STOPPING_ROWS, len(left_out)), replace=False)))
            sampled.append((np.sort(chosen), valid))
        return sampled, stopping

    def _cross_validate(
        self,
        family: ModelFamily,
        params: dict[str, Any],
        stop_at: float | None,
        splits: list[tuple[np.ndarray, np.ndarray]],
        stopping: list[np.ndarray] | None = None,
        patience: int | None = None,
    ) -> tuple[list[float], float, float, list[Any], list[dict[str, Any]], np.ndarray]:
        """Fit and score every split; with `stopping`, split i's fits stop early on the rows `stopping[i]`,
        `patience` rounds after their best when given."""
        oof = np.zeros((len(self.y), self.n_classes) if self.n_classes else len(self.y), dtype=np.float32)
        folds: list[FoldFit] = []
        wave_seconds: list[float] = []
        workers = self.executor.workers
        stopping_rows = stopping or [None] * len(splits)
        numbered = list(enumerate(splits))
        waves = [numbered[i : i + workers] for i in range(0, len(numbered), workers)]
        for done, wave in enumerate(waves):
            wave_started = time.monotonic()
            # Families that stop on time finish every fold within its share; the others are abandoned between
            # waves of folds, except the first model of the search, which must return one.
            out_of_time = stop_at is not None and wave_seconds and wave_started + float(np.mean(wave_seconds)) > stop_at
            if out_of_time and not family.stops_on_time and self.incumbent is not None:
                raise _OutOfTime(f"Stopped after {len(folds)} of {len(splits)} folds to keep within the time budget.")
            # spread the time left evenly over the waves still to run
            wave_stop = None if stop_at is None else wave_started + (stop_at - wave_started) / (len(waves) - done)
            futures = [
                self.executor.submit(
                    fit_fold,
                    family,
                    self._weighted(family, params),
                    task=self.task,
                    seed=self.seed,
                    n_jobs=self.n_jobs,
                    n_classes=self.n_classes,
                    train=(self.features.iloc[train], self.y[train]),
                    valid=(self.features.iloc[valid], self.y[valid]),
                    stop_at=wave_stop,
                    stopping=self._rows(stopping_rows[index]),
                    patience=patience,
                )
                for index, (train, valid) in wave
            ]
            folds.extend(future.result() for future in futures)
            wave_seconds.append(time.monotonic() - wave_started)
        if stopping is None:
            self._predict_with_other_folds_rounds(family, folds, splits)
        scores = []
        scoring_seconds = 0.0
        for fold, (_, valid) in zip(folds, splits, strict=True):
            oof[valid] = fold.prediction
            truth = self.y[valid]
            scoring_started = time.monotonic()
            scores.append(self.metric.score(truth, fold.prediction))
            scoring_seconds += time.monotonic() - scoring_started
        # An ensemble step scores all validated rows at once, which costs about what one fold's metric call
        # costs (on small data the call's overhead dominates; writing the out-of-fold array is not part of a
        # step: on kddcup99 it made the measurement 0.06-0.11 s for a selection step of about 0.01 s). The
        # cost is the same every time; a longer measurement is another thread holding the interpreter, hence
        # the least one.
        scored = scoring_seconds / len(splits)
        self.score_seconds = scored if self.score_seconds is None else min(self.score_seconds, scored)
        return (
            scores,
            sum(fold.fit_seconds for fold in folds),
            sum(fold.predict_seconds for fold in folds),
            [fold.estimator for fold in folds],
            [fold.facts for fold in folds],
            oof,
        )

    def _predict_with_other_folds_rounds(
        self, family: ModelFamily, folds: list[FoldFit], splits: list[tuple[np.ndarray, np.ndarray]]
    ) -> None:
        """Each fold's validation rows predicted with the mean of the other folds' best round counts, not its own.

        A fit that stops early on its validation rows picks the round count that scores best on them, so its
        own predictions of those rows flatter it; the out-of-fold predictions would then make the ensemble
        selection favour early-stopped families and the temperature sharpen. The other folds' round counts
        are a choice made without these rows, like the final model's (its effect on hypothyroid's three seeds:
        docs/benchmarks.md, AutoML).
        """
        rounds = [fold.facts.get("best_iteration") for fold in folds]
        if len(folds) < 2 or None in rounds:
            return
        for index, (fold, (_, valid)) in enumerate(zip(folds, splits, strict=True)):
            others = max(1, round(float(np.mean(rounds[:index] + rounds[index + 1 :]))))
            if others == rounds[index]:
                continue
            prediction = family.predict_rounds(fold.estimator, self.features.iloc[valid], others)
            if prediction is None:
                return
            fold.prediction = (
                np.asarray(prediction, dtype=float)
                if self.n_classes is None
                else expand_classes(prediction, fold.estimator.classes_, self.n_classes)
            )

    def _rows(self, positions: np.ndarray | None) -> tuple[pd.DataFrame, np.ndarray] | None:
        return None if positions is None else (self.features.iloc[positions], self.y[positions])

    def _weighted(self, family: ModelFamily, params: dict[str, Any]) -> dict[str, Any]:
        """Class weights for imbalanced data when the metric reads predicted labels (see `needs_balancing`)."""
        return family.balanced(params) if self.balance_classes else params

    def _failed(self, number: int, family: ModelFamily, params: dict[str, Any], error: str) -> TrialResult:
        return TrialResult(
            number=number,
            family=family.name,
            params=params,
            metric=self.metric.name,
            cv_mean=math.nan,
            cv_std=math.nan,
            fit_seconds=0.0,
            folds=len(self.splits),
            higher_is_better=self.metric.higher_is_better,
            status="failed",
            error=error,
        )

    def _report(self, result: TrialResult) -> None:
        score = f"{result.cv_mean:.4f} ± {result.cv_std:.4f}" if result.status == "ok" else f"failed: {result.error}"
        self._announce(
            "trial", f"Trial {result.number} {result.family}: {self.metric.name} {score}", trial=result.model_dump()
        )

    def _announce(self, stage: str, message: str, **data: Any) -> None:
        """A progress event of `stage`, with the time spent so far out of the budget."""
        self.on_event(
            ProgressEvent(stage=stage, message=message, completed=self._elapsed(), total=self.budget, data=data)
        )

    # -- the result --------------------------------------------------------------------------------------

    def leaderboard(self) -> list[TrialResult]:
        """Successful trials best first (ties by trial number), then the failed ones in order."""
        sign = -1.0 if self.metric.higher_is_better else 1.0
        ok = sorted((t for t in self.trials if t.status == "ok"), key=lambda t: (sign * t.cv_mean, t.number))
        return ok + [t for t in self.trials if t.status != "ok"]

    def final_fit(self) -> tuple[TrialResult, Any, dict[str, Any]]:
        """The best trial's configuration refitted on all rows, or its fold models when time is too short."""
        incumbent = self.incumbent
        if incumbent is None:
            errors = "; ".join(sorted({t.error or "" for t in self.trials})) or "no trial could be run in time"
            raise InvalidTrainingData(f"No model could be trained: {errors}", hint="Give the search more time.")
        params = incumbent.family.refit_params(incumbent.params, incumbent.fit_facts)
        out_of_time = self.finish_by is not None and time.monotonic() + incumbent.refit_seconds > self.finish_by
        if not incumbent.refit or out_of_time:
            return incumbent.result, FoldEnsemble(incumbent.fold_estimators, self.n_classes), params
        self._announce(
            "refit", f"Fitting {incumbent.family.name} on all {len(self.y)} rows", trial=incumbent.result.model_dump()
        )
        estimator = incumbent.family.make_estimator(
            self._weighted(incumbent.family, params), task=self.task, seed=self.seed, n_jobs=self.n_jobs
        )
        with single_threaded_blas(len(self.y)):
            incumbent.family.fit(estimator, self.features, self.y, stop_at=self.finish_by)
        return incumbent.result, estimator, params

    # -- ensembling ---------------------------------------------------------------------------------------

    def _keep_candidate(self, candidate: _Candidate) -> None:
        """Keep the best ENSEMBLE_CANDIDATES trials' predictions and models; drop the rest to bound memory."""
        sign = -1.0 if self.metric.higher_is_better else 1.0
        self.candidates.append(candidate)
        self.candidates.sort(key=lambda c: (sign * c.result.cv_mean, c.result.number))
        del self.candidates[ENSEMBLE_CANDIDATES:]

    def build_ensemble(self) -> tuple[TrialResult, Any, dict[str, Any]] | None:
        """Greedy ensemble selection with replacement over the candidates' out-of-fold predictions.

        Caruana et al. (2004): start from the best model, then repeatedly add (again, possibly) the
        member that most improves the metric of the averaged predictions. Scored per fold like a trial,
        so its row compares with theirs; `None` when there is nothing to ensemble.
        """
        if len(self.candidates) < 2:
            return None
        rows = self.oof_rows
        y = self.y[rows]
        predictions = [c.oof[rows].astype(float) for c in self.candidates]
        sign = 1.0 if self.metric.higher_is_better else -1.0
        total = np.zeros_like(predictions[0])
        counts = [0] * len(predictions)
        best_score, best_counts = -math.inf, counts
        for size in range(1, ENSEMBLE_ROUNDS + 1):
            scores = [sign * self.metric.score(y, (total + p) / size) for p in predictions]
            pick = int(np.argmax(scores))  # ties go to the better-ranked candidate
            total += predictions[pick]
            counts = [*counts[:pick], counts[pick] + 1, *counts[pick + 1 :]]
            if scores[pick] > best_score:
                best_score, best_counts = scores[pick], counts
        counts = best_counts
        used = [i for i, count in enumerate(counts) if count]
        if len(used) < 2:
            return None
        weights = [counts[i] / sum(counts) for i in used]
        blended = sum(w * self.candidates[i].oof.astype(float) for w, i in zip(weights, used, strict=True))
        fold_scores = [self.metric.score(self.y[valid], blended[valid]) for _, valid in self.splits]
        self.ensemble_oof = blended
        members = [self.candidates[i].result for i in used]
        result = TrialResult(
            number=len(self.trials),
            family="ensemble",
            params={f"trial-{m.number:03d}-{m.family}": round(w, 4) for m, w in zip(members, weights, strict=True)},
            metric=self.metric.name,
            cv_mean=float(np.mean(fold_scores)),
            cv_std=float(np.std(fold_scores)),
            fit_seconds=round(sum(m.fit_seconds for m in members), 4),
            predict_seconds_per_1k=round(sum(m.predict_seconds_per_1k or 0.0 for m in members), 6),
            folds=len(self.splits),
            higher_is_better=self.metric.higher_is_better,
        )
        self.trials.append(result)
        self._report(result)
        estimator = WeightedEnsemble(
            [FoldEnsemble(self.candidates[i].estimators, self.n_classes) for i in used], weights, self.n_classes
        )
        return result, estimator, dict(result.params)


def needs_balancing(y: np.ndarray, task: Task, metric: Metric) -> bool:
    """Whether to weight classes: a minority class under MINORITY_SHARE and a metric on predicted labels.

    Probability and ranking metrics (roc_auc, log_loss) are best served by unweighted, calibrated
    probabilities; label metrics (accuracy, balanced accuracy, f1) take the argmax, which on imbalanced
    data rarely picks the minority class unless it is weighted up.
    """
    if task is Task.REGRESSION or metric.needs_proba:
        return False
    shares = np.bincount(y) / len(y)
    return bool(shares.min() < MINORITY_SHARE)


def _suggest(trial: optuna.Trial, name: str, distribution: BaseDistribution) -> Any:
    """Ask `trial` for a value from a declared distribution (families declare spaces, not suggest calls)."""
    if isinstance(distribution, FloatDistribution):
        return trial.suggest_float(
            name, distribution.low, distribution.high, log=distribution.log, step=distribution.step
        )
    if isinstance(distribution, IntDistribution):
        return trial.suggest_int(
            name, distribution.low, distribution.high, log=distribution.log, step=distribution.step
        )
    if isinstance(distribution, CategoricalDistribution):
        return trial.suggest_categorical(name, distribution.choices)
    raise TypeError(f"Unsupported search distribution {distribution!r} for {name!r}.")
