"""Input that was a traceback, or accepted and ignored, is one line ``error: ...`` (exit 2)."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import pytest
import torch
from read_only import read_only_folder

from benchmark.cli import build_parser, main

REPO = Path(__file__).resolve().parents[2]


def _one_line_error(capsys, argv: list[str]) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert code == 2, captured.out + captured.err
    assert err.splitlines() == [err], err
    assert err.startswith("error: ") and "Traceback" not in err
    return err


def _subcommand_paths(parser: argparse.ArgumentParser, prefix=()) -> list[tuple[str, ...]]:
    """Every command path of the parser: (), ("run",), ("profile",), ("profile", "losses"), ..."""
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, subparser in action.choices.items():
                paths += _subcommand_paths(subparser, (*prefix, name))
    return paths


COMMANDS = _subcommand_paths(build_parser())


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) or "mlrc" for c in COMMANDS])
def test_every_command_prints_its_help(capsys, command):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    assert exit_.value.code == 0
    assert "usage: mlrc" in capsys.readouterr().out


def test_the_help_walk_reaches_every_command():
    names = {" ".join(command) for command in COMMANDS}
    assert {"profile", "profile pruners", "data cache", "slurm submit", "worker"} <= names
    assert len(COMMANDS) >= 20


CASES = [
    (["run", "--set", "losses.contrastive.pos_margin=abc"],
     "losses.contrastive.pos_margin: expected a number (searched over [-0.2, 2]), got 'abc'"),
    (["run", "--set", "losses.nosuchloss.x=1"],
     "losses.nosuchloss: unknown loss 'nosuchloss'; registered losses: "),
    (["run", "--set", "losses.contrastive.margin=0.1"],
     "losses.contrastive: loss 'contrastive' does not accept ['margin']"),
    (["run", "--set", "losses.mfcwms.mf_power=high"],
     "losses.mfcwms.mf_power: expected a number (like 2.0), got 'high'"),
    (["run", "--set", "losses.fastap.num_bins=2.5"], "losses.fastap.num_bins: expected an integer"),
    (["run", "--protocol", "traditional-demo", "--set", "losses.mfcwms.mf_reg=-1"],
     "losses.mfcwms: MeanFieldClassWiseMultiSimilarityLoss: hyperparameter mf_reg must be >= 0"),
    (["run", "--set", "model.weights=/nonexistent/trunk.pt"],
     "weights not found at /nonexistent/trunk.pt (nothing is downloaded)"),
    (["run", "--losses", ""], "--losses '' names no loss"),
    (["ablate", "mf-reg", "--protocol", "traditional-demo", "--list", "--losses", ""],
     "--losses '' names no loss"),
    (["ablate", "mf-reg", "--protocol", "traditional-demo", "--list", "--values", "nan,inf,-1"],
     "--values 'nan,inf,-1': 'nan' is not a finite number"),
    (["ablate", "mf-reg", "--protocol", "traditional-demo", "--list", "--values", "0,inf"],
     "--values '0,inf': 'inf' is not a finite number"),
    (["ablate", "mf-reg", "--protocol", "traditional-demo", "--list", "--values=-1,0"],
     "ablation mf-reg, point mf_reg--1: losses.mfcont: "),
    (["ablate", "batch-size", "--protocol", "traditional-demo", "--list", "--values", "1,32"],
     "point batch_size-1: --set training.batch_size=1: training.batch_size must be in [2, "),
    (["data", "check", "--dataset", "synthetic", "--protocol", "demo", "--set",
      "losses.nosuchloss.x=1"], "losses.nosuchloss: unknown loss 'nosuchloss'; registered losses: "),
    (["data", "check", "--dataset", "synthetic", "--protocol", "demo", "--set",
      "losses.contrastive.pos_margin=abc"], "losses.contrastive.pos_margin: expected a number"),
    (["data", "cache", "--dataset", "synthetic", "--protocol", "demo", "--workers", "-1"],
     "--workers must be >= 0 (decoding processes; 0 decodes in this process"),
    (["profile", "pruners", "--pruners", "bogus", "--csv", "{tmp}/p.csv"],
     "pruner 'bogus', seed 0: --set study.pruner=bogus: 'bogus' is not one of none, median"),
    (["profile", "pruners", "--pruners", "percentile:percentile=200", "--csv", "{tmp}/p.csv"],
     "study.pruner_percentile must be in [0, 100], got 200.0"),
    (["profile", "pruners", "--pruners", ",", "--csv", "{tmp}/p.csv"],
     "--pruners ',' names nothing"),
    (["profile", "samplers", "--workers", "0", "--csv", "{tmp}/s.csv"],
     "--workers must be >= 1 (the processes of the parallel run), got 0"),
    (["profile", "samplers", "--samplers", "tpe,bogus", "--csv", "{tmp}/s.csv"],
     "sampler 'bogus', seed 0: --set study.sampler.kind=bogus"),
    (["profile", "losses", "--device", "bogus", "--csv", "{tmp}/l.csv"],
     "--device 'bogus' is not a device; use cpu, cuda, cuda:N or auto"),
    (["profile", "losses", "--losses", ",", "--csv", "{tmp}/l.csv"], "--losses ',' names nothing"),
    (["slurm", "submit", "--profile", "{tmp}/mem.yaml", "--dry-run", "--run-dir", "{tmp}/r"],
     "mem.yaml: mem: '64G\\n' is not a Slurm memory size"),
    (["slurm", "submit", "--profile", "{tmp}/mlrc.yaml", "--dry-run", "--run-dir", "{tmp}/r"],
     "mlrc.yaml: mlrc: [''] must name the command, without empty words"),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "fragment"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_input_that_was_a_traceback_or_ignored_is_one_line(capsys, tmp_path, argv, fragment):
    (tmp_path / "mem.yaml").write_text('mem: "64G\\n"\n')
    (tmp_path / "mlrc.yaml").write_text('mlrc: ""\n')
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    if argv[0] in ("run", "ablate"):
        argv += ["--run-dir", str(tmp_path / "r")]
    start = time.perf_counter()
    err = _one_line_error(capsys, argv)
    assert fragment in err
    assert time.perf_counter() - start < 60, "refused only after some work"
    assert not (tmp_path / "r").exists(), "a run directory was made before the refusal"


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_profile_losses_on_cuda_without_a_gpu_is_one_line(capsys, tmp_path):
    err = _one_line_error(
        capsys, ["profile", "losses", "--device", "cuda", "--csv", str(tmp_path / "l.csv")]
    )
    assert "--device cuda: torch sees no CUDA device here; use --device cpu" in err


@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["tables", "results/example", "--no-figures", "--out", "{ro}/tables"], "--out"),
        (["profile", "losses", "--losses", "contrastive", "--batch-sizes", "32",
          "--num-classes", "10", "--repeats", "1", "--csv", "{ro}/losses.csv"], "--csv"),
        (["profile", "samplers", "--csv", "{ro}/samplers.csv"], "--csv"),
        (["profile", "pruners", "--csv", "{ro}/pruners.csv"], "--csv"),
        (["profile", "pruners", "--csv", "{tmp}/p.csv", "--keep", "{ro}/runs"], "--keep"),
        (["profile", "train", "--network", "small", "--device", "cpu", "--csv", "{ro}/t.csv"],
         "--csv"),
    ],
)  # fmt: skip
def test_an_output_on_a_read_only_filesystem_is_refused_before_any_work(
    capsys, tmp_path, monkeypatch, argv, option
):
    monkeypatch.chdir(REPO)
    with read_only_folder(tmp_path / "ro") as read_only:
        argv = [a.replace("{ro}", str(read_only)).replace("{tmp}", str(tmp_path)) for a in argv]
        start = time.perf_counter()
        err = _one_line_error(capsys, argv)
    assert err.startswith(f"error: {option} {read_only}/")
    why = "a read-only file system" if os.geteuid() == 0 else "no permission to write there"
    assert f"cannot write to {read_only} ({why}); give a writable path" in err
    assert time.perf_counter() - start < 30, "refused only after the work"


def test_checking_the_losses_section_moves_no_random_stream():
    import random

    import numpy as np

    from benchmark.config import load_protocol
    from benchmark.search.loss_settings import check_loss_settings

    config = load_protocol("traditional-demo")  # trains with its losses: each is built once
    states = (random.random, np.random.rand, lambda: torch.rand(1).item())
    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    expected = [draw() for draw in states]
    torch.manual_seed(3), np.random.seed(3), random.seed(3)
    check_loss_settings(config)
    assert [draw() for draw in states] == expected
