"""Planning a sweep: array sizes, dependencies, skipping finished or queued work; the dry run."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from benchmark.cli import main
from benchmark.cluster import ARRAY_TASK_ID, SweepContext, load_cluster_profile, plan_sweep
from benchmark.cluster.submit import dependency_spec, submit_sweep
from benchmark.config import PROJECT_ROOT, load_protocol
from benchmark.store.results_file import ResultsFile
from benchmark.store.run_directory import RunDirectory
from benchmark.store.storage import open_storage
from benchmark.store.study_state import study_name

EXAMPLE_PROFILE = PROJECT_ROOT / "slurm" / "profiles" / "example.yaml"
EXAMPLES = PROJECT_ROOT / "slurm" / "examples"
LOSSES = ["contrastive", "mfcwms"]


@pytest.fixture
def config():
    return load_protocol("demo", "synthetic", ["study.n_trials=5", "retrain.repeats=3"])


def _context(tmp_path: Path, config, profile_text: str = "") -> SweepContext:
    path = tmp_path / "profile.yaml"
    path.write_text(textwrap.dedent(profile_text) or "gpus: 0\n")
    return SweepContext(RunDirectory(tmp_path / "run"), config, load_cluster_profile(path), None)


def _add_trials(run_dir: RunDirectory, config, loss: str, states: list[TrialState]) -> None:
    storage = open_storage(None, run_dir.journal_path)
    study = optuna.create_study(
        study_name=study_name(config, loss), storage=storage, direction="maximize"
    )
    for number, state in enumerate(states):
        value = 0.1 * number if state == TrialState.COMPLETE else None
        study.add_trial(create_trial(state=state, value=value, params={}, distributions={}))


def _result(loss: str, repeat: int, n_trials: int = 5) -> dict:
    """One complete result row (every column results.csv requires), searched under the
    ``config`` fixture's budget."""
    return {
        "dataset": "synthetic", "protocol": "demo", "loss": loss, "repeat": repeat,
        "mode": "separated", "dim": 8, "metric": "map_at_r", "value": 0.1, "n_trials": n_trials,
    }  # fmt: skip


def _add_repeats(run_dir: RunDirectory, loss: str, repeats: list[int], n_trials: int = 5) -> None:
    ResultsFile(run_dir).append([_result(loss, r, n_trials) for r in repeats])


def test_a_fresh_sweep_has_a_study_and_retrain_per_loss_then_baseline_and_tables(tmp_path, config):
    context = _context(
        tmp_path, config, "gpus: 0\nworkers_per_gpu: 2\nmax_workers: 8\narray_throttle: 2\n"
    )
    plan = plan_sweep(context, LOSSES, active={})

    keys = [job.key for job in plan.jobs]
    assert keys == [
        "study-contrastive", "retrain-contrastive", "study-mfcwms", "retrain-mfcwms",
        "retrain-untrained", "tables",
    ]  # fmt: skip
    jobs = {job.key: job for job in plan.jobs}
    study = jobs["study-mfcwms"]
    assert study.array == (0, 1, 2) and study.processes == 2  # ceil(5 trials / 2 workers)
    assert study.array_spec == "0-2%2"
    run = str(context.run_dir.path)
    assert study.command == (
        "mlrc",
        "worker",
        "--run-dir",
        run,
        "--loss",
        "mfcwms",
        "--no-progress",
    )
    retrain = jobs["retrain-mfcwms"]
    assert retrain.array == (0, 1, 2) and retrain.processes == 1
    assert retrain.command[-3:] == ("--repeat", ARRAY_TASK_ID, "--no-progress")
    # afterany: a crashed study task does not strand the retrain (which checks the study)
    assert [(d.kind, d.key) for d in retrain.dependencies] == [("afterany", "study-mfcwms")]
    assert jobs["retrain-untrained"].dependencies == ()
    assert "untrained" in jobs["retrain-untrained"].command
    tables = jobs["tables"]
    assert {d.key for d in tables.dependencies} == {
        "retrain-contrastive", "retrain-mfcwms", "retrain-untrained",
    }  # fmt: skip
    assert {d.kind for d in tables.dependencies} == {"afterany"}
    assert tables.resources.gpus == 0 and tables.resources.cpus_per_task == 1
    assert not context.run_dir.path.exists(), "planning must not create the run directory"


def test_a_photograph_dataset_builds_its_image_caches_in_one_job_before_any_training(tmp_path):
    config = load_protocol("mlrc", "cub", ["study.n_trials=4", "retrain.repeats=2"])
    context = _context(tmp_path, config, "gpus: 1\ncpus_per_task: 8\n")
    jobs = plan_sweep(context, ["mfcwms"], active={}).jobs
    assert [job.key for job in jobs][:2] == ["cache", "study-mfcwms"]
    cache = jobs[0]
    assert cache.command == (
        "mlrc",
        "data",
        "cache",
        "--run-dir",
        str(context.run_dir.path),
        "--no-progress",
    )
    assert cache.resources.gpus == 0 and cache.resources.cpus_per_task == 8 and not cache.array
    for job in jobs[1:]:
        waits = ("afterany", "cache") in [(d.kind, d.key) for d in job.dependencies]
        assert waits == (job.stage in ("study", "retrain")), job.key

    still_queued = plan_sweep(context, ["mfcwms"], active={"cache": "4242"}).jobs
    assert "cache" not in [job.key for job in still_queued]  # not queued twice, still waited for
    study = next(job for job in still_queued if job.stage == "study")
    assert dependency_spec(study, {"cache": "4242"}) == "afterany:4242"

    (tmp_path / "demo").mkdir()
    (tmp_path / "off").mkdir()
    synthetic = plan_sweep(
        _context(tmp_path / "demo", load_protocol("demo", "synthetic")), ["mfcwms"], {}
    )
    assert "cache" not in [job.key for job in synthetic.jobs]  # tiny images: cached on first use
    uncached = load_protocol("mlrc", "cub", ["data.cache_images=false"])
    assert "cache" not in [
        job.key for job in plan_sweep(_context(tmp_path / "off", uncached), ["mfcwms"], {}).jobs
    ]


def test_the_storage_url_reaches_every_job_attached_to_a_study(tmp_path, config):
    path = tmp_path / "profile.yaml"
    path.write_text("gpus: 0\nstorage: postgresql://mlrc@db.cluster/sweeps\n")
    context = SweepContext(RunDirectory(tmp_path / "run"), config, load_cluster_profile(path), None)
    dry = tmp_path / "scripts"
    submission = submit_sweep(
        config, LOSSES, context.run_dir, context.profile, dry_run=True, scripts_dir=dry
    )
    for job in submission.plan.jobs:
        attached = job.stage != "tables"
        assert ("--storage" in job.command) == attached, job.key
        if attached:
            assert (
                "--storage postgresql://mlrc@db.cluster/sweeps --no-progress"
                in (dry / f"{job.key}.sbatch").read_text()
            )


def test_the_study_array_is_capped_by_max_workers(tmp_path):
    config = load_protocol("mlrc", "cub", [])
    context = _context(tmp_path, config, "workers_per_gpu: 2\nmax_workers: 12\n")
    study = next(
        job for job in plan_sweep(context, ["mfcwms"], active={}).jobs if job.stage == "study"
    )
    assert len(study.array) == 12 and study.processes == 2  # 50 trials would take 25 tasks


def test_finished_studies_and_repeats_submit_nothing_and_are_reported(tmp_path, config):
    context = _context(tmp_path, config)
    run_dir = context.run_dir
    run_dir.initialise(config, [], None)
    _add_trials(run_dir, config, "contrastive", [TrialState.COMPLETE] * 5)
    _add_trials(
        run_dir, config, "mfcwms", [TrialState.COMPLETE] * 3 + [TrialState.RUNNING, TrialState.FAIL]
    )
    _add_repeats(run_dir, "contrastive", [0, 2])
    _add_repeats(run_dir, "untrained", [0, 1, 2])

    plan = plan_sweep(context, LOSSES, active={})

    jobs = {job.key: job for job in plan.jobs}
    assert set(jobs) == {"retrain-contrastive", "study-mfcwms", "retrain-mfcwms", "tables"}
    assert jobs["retrain-contrastive"].array == (1,)
    assert jobs["retrain-contrastive"].dependencies == ()  # its study is finished
    assert jobs["study-mfcwms"].array == (0, 1)  # 2 trials left (the failed one does not count)
    assert "study contrastive: finished (5/5 trials)" in plan.skipped
    assert "untrained baseline: all 3 repeats are in results.csv" in plan.skipped


def test_repeats_searched_under_a_lower_budget_are_retrained_after_a_raise(tmp_path, config):
    context = _context(tmp_path, config)  # study.n_trials = 5
    context.run_dir.initialise(config, [], None)
    for loss in LOSSES:
        _add_trials(context.run_dir, config, loss, [TrialState.COMPLETE] * 5)
    _add_repeats(context.run_dir, "contrastive", [0, 1, 2], n_trials=3)  # before the raise
    _add_repeats(context.run_dir, "mfcwms", [0, 1, 2])
    _add_repeats(context.run_dir, "untrained", [0, 1, 2])
    plan = plan_sweep(context, LOSSES, active={})
    assert [(job.key, job.array) for job in plan.jobs if job.stage == "retrain"] == [
        ("retrain-contrastive", (0, 1, 2))
    ]


def test_jobs_still_queued_are_not_submitted_again_but_waited_for(tmp_path, config):
    context = _context(tmp_path, config)
    active = {"study-contrastive": "41", "study-mfcwms": "43", "retrain-mfcwms": "44"}

    plan = plan_sweep(context, LOSSES, active=active)

    jobs = {job.key: job for job in plan.jobs}
    assert set(jobs) == {"retrain-contrastive", "retrain-untrained", "tables"}
    job_ids = {**active, "retrain-contrastive": "50", "retrain-untrained": "51"}
    assert dependency_spec(jobs["retrain-contrastive"], job_ids) == "afterany:41"
    assert dependency_spec(jobs["tables"], job_ids) == "afterany:44:50:51"
    assert "study mfcwms: job 43 is still queued or running; not submitted again" in plan.skipped


def test_a_finished_sweep_submits_nothing(tmp_path, config):
    context = _context(tmp_path, config)
    context.run_dir.initialise(config, [], None)
    for loss in LOSSES:
        _add_trials(context.run_dir, config, loss, [TrialState.COMPLETE] * 5)
    for loss in [*LOSSES, "untrained"]:
        _add_repeats(context.run_dir, loss, [0, 1, 2])
    plan = plan_sweep(context, LOSSES, active={})
    assert plan.jobs == []
    assert any(reason.startswith("tables: no retrain left") for reason in plan.skipped)


def test_dry_run_needs_no_slurm_dataset_or_run_directory(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no sbatch, no squeue
    run_dir = tmp_path / "run"
    args = [
        "slurm",
        "submit",
        "--protocol",
        "mlrc",
        "--dataset",
        "cub",
        "--root",
        str(tmp_path / "none"),
    ]
    args += [
        "--losses",
        ",".join(LOSSES),
        "--profile",
        str(EXAMPLE_PROFILE),
        "--run-dir",
        str(run_dir),
    ]
    assert main([*args, "--dry-run"]) == 0

    printed = capsys.readouterr().out
    scripts = run_dir / "slurm" / "dry-run"
    assert (
        "retrain_mfcwms=$(sbatch --parsable --dependency=afterany:${cache}:${study_mfcwms} "
        "retrain-mfcwms.sbatch)" in printed
    )
    assert printed.endswith((scripts / "submit.sh").read_text())
    assert not (run_dir / "run.json").exists(), "a dry run must not create the run"
    names = sorted(p.name for p in scripts.iterdir())
    assert names == sorted([f"{stage}-{loss}.sbatch" for stage in ("study", "retrain") for loss in LOSSES] + [
        "cache.sbatch", "retrain-untrained.sbatch", "tables.sbatch", "submit.sh"])  # fmt: skip
    for script in scripts.iterdir():
        assert subprocess.run(["/bin/bash", "-n", str(script)]).returncode == 0, script


def test_a_real_submission_without_sbatch_is_one_clear_error(
    tmp_path, capsys, monkeypatch, tiny_overrides
):
    monkeypatch.setenv("PATH", str(tmp_path))
    args = ["slurm", "submit", "--losses", "contrastive", "--profile", str(EXAMPLE_PROFILE)]
    assert main([*args, "--run-dir", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: sbatch is not installed here") and "--dry-run" in error
    assert len(error.splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_the_committed_example_is_what_the_dry_run_writes(tmp_path, monkeypatch):
    """slurm/examples/ is regenerated by slurm/make_example.sh; this keeps it from going stale."""
    monkeypatch.chdir(PROJECT_ROOT)
    args = ["slurm", "submit", "--protocol", "mlrc", "--dataset", "cub"]
    args += ["--root", "/shared/datasets/CUB_200_2011", "--losses", "all"]
    args += ["--profile", "slurm/profiles/example.yaml", "--run-dir", "/shared/runs/mlrc-cub"]
    assert main([*args, "--scripts-dir", str(tmp_path), "--dry-run"]) == 0
    written = {p.name: p.read_text() for p in tmp_path.iterdir()}
    committed = {
        p.name: p.read_text() for p in EXAMPLES.iterdir() if p.suffix in (".sbatch", ".sh")
    }
    from benchmark.losses import list_losses

    # a study and a retrain per registered loss; untrained, tables, cache; submit.sh
    assert len(written) == len(list_losses()) * 2 + 3 + 1
    assert written == committed, "slurm/examples/ is stale: run slurm/make_example.sh"


@pytest.mark.parametrize("command", ["submit", "status", "cancel"])
def test_every_slurm_help_shows_a_real_example(capsys, command):
    from benchmark.cli import EXAMPLES

    with pytest.raises(SystemExit) as exit_info:
        main(["slurm", command, "--help"])
    assert exit_info.value.code == 0
    assert "example: " + EXAMPLES[f"slurm {command}"] in " ".join(capsys.readouterr().out.split())


def test_a_protocol_without_search_submits_retrains_only_with_no_study_to_wait_for(tmp_path):
    config = load_protocol("traditional-demo", "synthetic", ["retrain.repeats=2"])
    plan = plan_sweep(_context(tmp_path, config), ["proxy_anchor", "mfcwms"], active={})
    assert [job.key for job in plan.jobs] == [
        "retrain-proxy_anchor", "retrain-mfcwms", "retrain-untrained", "tables",
    ]  # fmt: skip
    assert all(not job.dependencies for job in plan.jobs if job.stage == "retrain")
    assert "study mfcwms: nothing to search (parameters: protocol)" in plan.skipped


def test_an_ablation_is_one_array_task_per_unfinished_grid_point(tmp_path, capsys):
    run_dir = tmp_path / "ablation"
    args = ["slurm", "submit", "--ablate", "mf-reg", "--protocol", "traditional-demo",
            "--values", "0,0.1,1", "--losses", "mfcwms", "--profile", str(EXAMPLE_PROFILE),
            "--run-dir", str(run_dir), "--dry-run"]  # fmt: skip
    point = run_dir / "points" / "mf_reg-0.1"  # one point already finished
    ResultsFile(RunDirectory(point)).append([_result("mfcwms", r) for r in range(3)])
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "ablation mf-reg: 1 grid point(s) finished" in printed
    script = (run_dir / "slurm" / "dry-run" / "ablate-mf-reg.sbatch").read_text()
    assert "#SBATCH --array=0,2" in script
    assert "mlrc ablate mf-reg --protocol traditional-demo --dataset synthetic" in script
    assert "--values mf_reg=0.0,0.1,1.0" in script and '--point "${SLURM_ARRAY_TASK_ID}"' in script
    assert "--dependency=afterany:${ablate_mf_reg} tables.sbatch" in printed


def test_every_job_carries_the_plugins_an_ablation_included(tmp_path, capsys):
    plugin = tmp_path / "my_plugin.py"
    plugin.write_text("# registers nothing; the jobs must load it all the same\n")
    sweep = ["--plugin", str(plugin), "slurm", "submit", "--losses", "contrastive"]
    sweep += ["--profile", str(EXAMPLE_PROFILE), "--run-dir", str(tmp_path / "sweep"), "--dry-run"]
    assert main(sweep) == 0
    ablation = ["--plugin", str(plugin), "slurm", "submit", "--ablate", "mf-reg"]
    ablation += ["--values", "0,1", "--losses", "mfcwms", "--profile", str(EXAMPLE_PROFILE)]
    assert main([*ablation, "--run-dir", str(tmp_path / "ablation"), "--dry-run"]) == 0
    scripts = [*tmp_path.glob("*/slurm/dry-run/*.sbatch")]
    assert len(scripts) == 4 + 2  # study, retrain, untrained, tables; ablation, tables
    for script in scripts:
        assert f"mlrc --plugin {plugin} " in script.read_text(), script.name


def test_an_ablation_defaults_to_the_traditional_protocol_as_mlrc_ablate_does(tmp_path):
    args = ["slurm", "submit", "--ablate", "mf-reg", "--values", "0,1", "--losses", "mfcwms"]
    args += ["--profile", str(EXAMPLE_PROFILE), "--run-dir", str(tmp_path / "run"), "--dry-run"]
    assert main(args) == 0
    script = (tmp_path / "run" / "slurm" / "dry-run" / "ablate-mf-reg.sbatch").read_text()
    assert "mlrc ablate mf-reg --protocol traditional --dataset" in script


def test_the_dry_run_refuses_settings_the_run_was_not_made_with(tmp_path, capsys, config):
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(config, [], None)
    args = ["slurm", "submit", "--losses", "contrastive", "--profile", str(EXAMPLE_PROFILE)]
    args += ["--run-dir", str(run_dir.path), "--set", "study.n_trials=5", "--dry-run"]
    assert main([*args, "--set", "training.batch_size=64"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "was created with other settings" in error
    assert "training.batch_size: 32 -> 64" in error
    assert not run_dir.dry_run_dir.exists()


def test_no_script_holds_the_storage_password(tmp_path):
    args = ["slurm", "submit", "--losses", "contrastive", "--profile", str(EXAMPLE_PROFILE)]
    args += ["--storage", "postgresql://me:s3cret-pw@db.cluster/sweeps"]
    assert main([*args, "--run-dir", str(tmp_path / "run"), "--dry-run"]) == 0
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) == 5  # 4 scripts and submit.sh
    assert not [p for p in written if "s3cret" in p.read_text()], "a password was written"
    study = (tmp_path / "run" / "slurm" / "dry-run" / "study-contrastive.sbatch").read_text()
    assert "--storage postgresql://me@db.cluster/sweeps" in study
