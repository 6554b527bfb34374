"""The traditional protocol's training, composed by configuration: three AdamW groups at their
learning rates, warm-up, frozen BatchNorm, StepLR, patience counted in evaluations."""

from __future__ import annotations

import importlib

import pytest
import torch
from engine_tiny_problem import tiny_model, tiny_sets

from benchmark.config import load_protocol
from benchmark.engine import LossBundle, Trainer
from benchmark.models import build_model
from benchmark.search.fixed_params import protocol_params

trainer_module = importlib.import_module("benchmark.engine.trainer")


@pytest.fixture(scope="module")
def sets():
    return tiny_sets()


def _traditional(**training):
    """The traditional protocol on CUB with a small CNN, and ``training`` settings changed."""
    overrides = ["model.trunk=small_cnn", "model.weights=none", "model.small_cnn_width=8",
                 "model.embedding_size=16", "training.device=cpu", "training.batch_size=16"]  # fmt: skip
    overrides += [f"training.{key}={value}" for key, value in training.items()]
    return load_protocol("traditional", "cub", overrides)


def _trainer(config, loss_name: str, tmp_path, num_classes: int = 8, model=None) -> Trainer:
    params = protocol_params(config, loss_name)
    loss = LossBundle.build(loss_name, params, num_classes, config.model.embedding_size)
    model = model if model is not None else build_model(config.model)
    return Trainer(model, loss, config.training, tmp_path, seed=0, progress=False)


@pytest.mark.parametrize(("loss", "ratio"), [("proxy_anchor", 100), ("mfcwms", 2000)])
def test_three_adamw_groups_backbone_embedding_and_loss_at_lr_times_ratio(tmp_path, loss, ratio):
    config = _traditional()
    trainer = _trainer(config, loss, tmp_path)
    trainer.prepare()
    groups = trainer.optimizers
    assert set(groups) == {"trunk", "embedder", "loss"}
    assert all(isinstance(opt, torch.optim.AdamW) for opt in groups.values())
    lrs = {name: opt.param_groups[0]["lr"] for name, opt in groups.items()}
    assert lrs == {"trunk": 1e-4, "embedder": 1e-4, "loss": pytest.approx(1e-4 * ratio)}
    assert all(opt.param_groups[0]["weight_decay"] == 1e-4 for opt in groups.values())
    assert groups["loss"].param_groups[0]["params"][0] is next(trainer.loss.module.parameters())


def test_warm_up_freezes_the_backbone_for_its_epochs_then_trains_it(tmp_path, sets, monkeypatch):
    config = _traditional(warmup_epochs=2, max_epochs=3, iterations_per_epoch=2, trunk_lr=1e-2)
    snapshots = []
    original = Trainer.train_epoch

    def recording(self, loader, bar):
        before = [p.detach().clone() for p in self.model.trunk.parameters()]
        original(self, loader, bar)
        moved = any(
            not torch.equal(b, p)
            for b, p in zip(before, self.model.trunk.parameters(), strict=True)
        )
        snapshots.append((self.state.epoch, moved))

    monkeypatch.setattr(Trainer, "train_epoch", recording)
    train, val = sets
    model = tiny_model()
    _trainer(config, "proxy_anchor", tmp_path, model=model).fit(train, val)
    assert snapshots == [(1, False), (2, False), (3, True)]
    assert all(p.requires_grad for p in model.trunk.parameters()), "the trunk was left frozen"


def test_frozen_batchnorm_stays_in_eval_mode_and_keeps_its_statistics(tmp_path, sets, monkeypatch):
    config = _traditional(max_epochs=2, iterations_per_epoch=2, warmup_epochs=0)
    config.model.freeze_batchnorm = True
    model = build_model(config.model)
    norms = [m for m in model.trunk.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert norms, "the small CNN has BatchNorm layers to freeze"
    statistics = [m.running_mean.clone() for m in norms]
    modes = []
    original = Trainer.forward_and_backward

    def recording(self, images, labels, *finish):
        modes.append({m.training for m in norms})
        return original(self, images, labels, *finish)

    monkeypatch.setattr(Trainer, "forward_and_backward", recording)
    train, val = sets
    _trainer(config, "proxy_anchor", tmp_path, model=model).fit(train, val)
    assert modes and all(mode == {False} for mode in modes)
    assert all(
        torch.equal(before, m.running_mean) for before, m in zip(statistics, norms, strict=True)
    )
    assert any(not torch.equal(m.weight, torch.ones_like(m.weight)) for m in norms), (
        "affine weights train"
    )


def test_step_lr_decays_every_group_once_per_epoch(tmp_path, sets):
    config = _traditional(
        max_epochs=3, iterations_per_epoch=1, warmup_epochs=0, lr_step_epochs=1, lr_gamma=0.5
    )
    train, val = sets
    trainer = _trainer(config, "proxy_anchor", tmp_path, model=tiny_model())
    trainer.fit(train, val)
    lrs = {name: opt.param_groups[0]["lr"] for name, opt in trainer.optimizers.items()}
    assert lrs == pytest.approx({"trunk": 1e-4 / 8, "embedder": 1e-4 / 8, "loss": 1e-2 / 8})


def test_patience_stops_after_exactly_that_many_evaluations_without_improvement(
    tmp_path, sets, monkeypatch
):
    scores = iter([0.05, 0.2, 0.3, 0.25, 0.29, 0.3, 0.28, 0.9, 0.9])  # epochs 0, 1, 2, ...

    def scripted(*args, **kwargs):
        return {"map_at_r": next(scores), "precision_at_1": 0.0, "r_precision": 0.0}

    monkeypatch.setattr(trainer_module, "evaluate", scripted)
    config = _traditional(
        max_epochs=20, iterations_per_epoch=1, warmup_epochs=0, patience_evaluations=4
    )
    train, val = sets
    result = _trainer(config, "proxy_anchor", tmp_path, model=tiny_model()).fit(train, val)
    # best at epoch 2 (0.3; 0.3 again at 5 is no improvement); 4 evaluations later (3..6): stop
    assert [row["epoch"] for row in result.curve] == [0, 1, 2, 3, 4, 5, 6]
    assert result.best_epoch == 2 and result.stopped_early


def test_an_epoch_of_zero_iterations_is_one_pass_over_the_shuffled_training_set(tmp_path, sets):
    config = _traditional(max_epochs=1, iterations_per_epoch=0, warmup_epochs=0)
    train, _ = sets
    trainer = _trainer(config, "proxy_anchor", tmp_path, model=tiny_model())
    loader = trainer.train_loader(train)
    assert len(loader) == len(train) // 16
    loader.sampler.set_epoch(1)
    first = list(loader.sampler)
    assert len(set(first)) == len(first) == (len(train) // 16) * 16  # no image twice in a pass
    loader.sampler.set_epoch(2)
    assert list(loader.sampler) != first
