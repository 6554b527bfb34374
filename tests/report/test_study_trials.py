"""The rows the results page lists for a study: parameters, folds, and why a trial stopped."""

from __future__ import annotations

from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from benchmark.report.study_trials import (
    NO_STUDY_DATA,
    best_trial_number,
    loss_studies,
    read_run_trials,
)
from benchmark.store import trial_attrs

DISTRIBUTIONS = {"alpha": FloatDistribution(0.01, 100, log=True)}


def _trial(number, state, folds=(), value=None, **user_attrs):
    records = {
        trial_attrs.fold_key(k): {trial_attrs.FOLD_VAL_MAP_AT_R: v} for k, v in enumerate(folds)
    }
    trial = create_trial(
        state=state,
        value=value,
        params={"alpha": 1.0 + number},
        distributions=DISTRIBUTIONS,
        user_attrs={**records, **user_attrs},
        intermediate_values=dict(enumerate(folds)),
    )
    trial.number = number
    return trial


STUDY = [
    _trial(0, TrialState.COMPLETE, (0.2, 0.3, 0.25, 0.25), value=0.25, wall_time_s=12.5),
    _trial(1, TrialState.PRUNED, (0.1, 0.12), value=0.12),
    _trial(
        2,
        TrialState.FAIL,
        (0.3,),
        failure=trial_attrs.DIVERGED,
        fail_reason="loss became NaN at iteration 7",
    ),
    _trial(3, TrialState.FAIL, failure=trial_attrs.ERROR_GAVE_UP, fail_reason="CUDA OOM"),
    _trial(4, TrialState.COMPLETE, (0.3, 0.3, 0.3, 0.3), value=0.3, requeued_from=3),
    _trial(5, TrialState.RUNNING, (0.2,)),
]


def test_each_trial_reads_with_its_folds_parameters_and_reason():
    (study,) = loss_studies({"demo.synthetic.mfcwms": STUDY}, "demo.synthetic.", n_folds=4)
    rows = {row.number: row for row in study.rows}
    states = ["complete", "pruned", "failed", "failed", "complete", "running"]
    assert [row.state for row in study.rows] == states
    assert rows[0].fold_values == {0: 0.2, 1: 0.3, 2: 0.25, 3: 0.25}
    assert rows[0].params == {"alpha": 1.0} and rows[0].wall_time_s == 12.5
    assert rows[0].value == 0.25 and rows[0].reason == ""
    assert rows[1].reason == "pruned after 2 of 4 folds"
    assert rows[1].value is None  # Optuna's value of a pruned trial is its last fold's score
    assert rows[2].reason == "training diverged: loss became NaN at iteration 7"
    assert rows[3].reason == "raised on every retry; given up: CUDA OOM"
    assert rows[4].reason == "re-runs trial 3"
    assert rows[5].fold_values == {0: 0.2} and rows[5].value is None
    assert study.param_names == ["alpha"] and study.best_number == 4


def test_without_the_protocol_the_folds_of_a_full_trial_are_the_most_recorded():
    (study,) = loss_studies({"demo.synthetic.mfcwms": STUDY}, "demo.synthetic.")
    assert study.rows[1].reason == "pruned after 2 of 4 folds"


def test_studies_come_in_paper_order_and_other_runs_studies_are_left_out():
    trials = {
        "demo.synthetic.mfcwms": STUDY,
        "demo.synthetic.contrastive": STUDY[:1],
        "demo.cub.contrastive": STUDY[:2],  # another run in the same database
    }
    studies = loss_studies(trials, "demo.synthetic.")
    assert [study.loss for study in studies] == ["contrastive", "mfcwms"]
    assert [study.study_name for study in studies] == [
        "demo.synthetic.contrastive",
        "demo.synthetic.mfcwms",
    ]


def test_the_best_trial_is_the_first_of_the_highest_completed_value():
    tie = [
        _trial(0, TrialState.COMPLETE, value=0.3),
        _trial(1, TrialState.COMPLETE, value=0.3),
        _trial(2, TrialState.PRUNED, value=0.9),
    ]
    assert best_trial_number(tie) == 0
    assert best_trial_number(tie[2:]) is None


def test_a_folder_without_a_run_reads_as_no_study_data_and_creates_nothing(tmp_path):
    assert read_run_trials(tmp_path, None) == {}
    assert not (tmp_path / "optuna.journal").exists()
    assert read_run_trials(None, None) == "no study data in a results CSV file"
    assert NO_STUDY_DATA == "no study data in this folder"


def test_an_unreachable_storage_is_a_reason_not_an_error(tmp_path):
    (tmp_path / "run.json").write_text('{"protocol": {"name": "demo", "dataset": "x"}}')
    reason = read_run_trials(tmp_path, "postgresql://nobody@127.0.0.1:1/none")
    assert isinstance(reason, str) and reason.startswith("the study data cannot be read: ")
