"""The Trainer: optimizer groups, warm-up, schedules, early stopping, run files and divergence."""

from __future__ import annotations

import importlib
import json

import pytest
import torch
from engine_tiny_problem import bundle, tiny_config, tiny_model, tiny_sets
from pytorch_metric_learning.losses import ContrastiveLoss, ProxyAnchorLoss

from benchmark.engine import EpochSampler, FitResult, RunDevice, Trainer, evaluate, load_best_model
from benchmark.errors import ConfigError, TrainingDiverged

trainer_module = importlib.import_module("benchmark.engine.trainer")


@pytest.fixture(scope="module")
def sets():
    return tiny_sets()


def run(run_dir, sets, loss=None, model=None, val_set=None, **config):
    train, val = sets
    loss_lr = config.pop("loss_lr", None)
    keep_checkpoint = config.pop("keep_checkpoint", True)
    seed = config.pop("seed", 0)
    trainer = Trainer(
        model if model is not None else tiny_model(),
        bundle(loss if loss is not None else ContrastiveLoss(), loss_lr),
        tiny_config(**config),
        run_dir,
        seed=seed,
        keep_checkpoint=keep_checkpoint,
        progress=False,
    )
    return trainer.fit(train, val if val_set is None else val_set)


class NanAfter(torch.nn.Module):
    def __init__(self, calls: int):
        super().__init__()
        self.calls = calls
        self.loss = ContrastiveLoss()

    def forward(self, embeddings, labels):
        self.calls -= 1
        value = self.loss(embeddings, labels)
        return value * float("nan") if self.calls < 0 else value


class MustNotTrain(torch.nn.Module):
    def forward(self, embeddings, labels):
        raise AssertionError("a finished run was trained again")


def test_nan_loss_raises_training_diverged_with_iteration_and_loss_name(tmp_path, sets):
    model = tiny_model()
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    with pytest.raises(TrainingDiverged) as error:
        run(tmp_path, sets, loss=NanAfter(calls=0), model=model)
    assert error.value.iteration == 1
    assert error.value.loss_name == "test_loss"
    assert "test_loss" in str(error.value) and "iteration 1" in str(error.value)
    assert all(torch.equal(p, before[k]) for k, p in model.named_parameters()), "weights moved"
    with pytest.raises(TrainingDiverged, match="iteration 1"):  # recorded, not recomputed
        run(tmp_path, sets, loss=MustNotTrain())


def test_divergence_reports_the_iteration_it_happened_at(tmp_path, sets):
    with pytest.raises(TrainingDiverged) as error:
        run(tmp_path, sets, loss=NanAfter(calls=6))
    assert error.value.iteration == 7


class StepsToInfinity(torch.nn.Module):
    """A finite loss whose first optimizer step sends its parameter to -inf."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.ones(1))

    def forward(self, embeddings, labels):
        return embeddings.sum() * 0 + (self.weight * 1e10).sum()


def test_parameters_stepped_to_infinity_by_a_finite_loss_count_as_divergence(tmp_path, sets):
    with pytest.raises(TrainingDiverged, match="loss 'test_loss' was nan"):
        # one iteration, then validation: the loss never sees the infinite weight
        run(
            tmp_path,
            sets,
            loss=StepsToInfinity(),
            loss_lr=1e38,
            iterations_per_epoch=1,
            max_epochs=1,
        )


def test_a_finished_run_is_returned_without_training(tmp_path, sets):
    first = run(tmp_path, sets, max_epochs=2)
    again = run(tmp_path, sets, loss=MustNotTrain(), max_epochs=2)
    assert again == first
    assert FitResult.from_dict(json.loads((tmp_path / "result.json").read_text())) == first


def test_run_files_curve_and_best_checkpoint(tmp_path, sets):
    model = tiny_model()
    result = run(tmp_path, sets, model=model, max_epochs=3)
    assert {p.name for p in tmp_path.iterdir()} == {
        "best.pt", "last.pt", "curve.json", "curve.csv", "result.json",
    }  # fmt: skip
    assert [row["epoch"] for row in result.curve] == [0, 1, 2, 3]
    assert [row["iteration"] for row in result.curve] == [0, 4, 8, 12]
    assert result.curve[0]["loss"] is None and result.curve[1]["loss"] > 0
    assert json.loads((tmp_path / "curve.json").read_text()) == result.curve
    csv_lines = (tmp_path / "curve.csv").read_text().splitlines()
    assert csv_lines[0].startswith("iteration,epoch,loss,val_map_at_r") and len(csv_lines) == 5
    best = max(result.curve[1:], key=lambda row: row["val_map_at_r"])
    assert result.best_val_map_at_r == best["val_map_at_r"]
    assert result.best_iteration == best["iteration"]
    assert result.checkpoint_path == tmp_path / "best.pt"

    # After fit the model holds the best weights; load_best_model restores them elsewhere too.
    fresh = tiny_model(seed=99)
    info = load_best_model(tmp_path, fresh)
    assert info["iteration"] == result.best_iteration
    assert all(torch.equal(fresh.state_dict()[k], v) for k, v in model.state_dict().items())


def test_keep_checkpoint_false_deletes_the_weights_but_keeps_the_metrics(tmp_path, sets):
    result = run(tmp_path, sets, max_epochs=1, keep_checkpoint=False)
    assert {p.name for p in tmp_path.iterdir()} == {"curve.json", "curve.csv", "result.json"}
    assert result.checkpoint_path is None
    with pytest.raises(FileNotFoundError, match="keep_checkpoint=False"):
        load_best_model(tmp_path, tiny_model())


def test_early_stopping_follows_the_mlrc_patience_rule(tmp_path, sets, monkeypatch):
    scores = iter([0.1, 0.3, 0.2, 0.25, 0.29, 0.5, 0.9])  # epochs 0, 2, 4, 6, 8, 10, 12

    def scripted(*args, **kwargs):
        return {"map_at_r": next(scores), "precision_at_1": 0.0, "r_precision": 0.0}

    monkeypatch.setattr(trainer_module, "evaluate", scripted)
    result = run(tmp_path, sets, eval_every_epochs=2, patience_epochs=5, max_epochs=100)
    # best at epoch 2; stop at the first validation with epoch - 2 > 5, i.e. epoch 8
    assert [row["epoch"] for row in result.curve] == [0, 2, 4, 6, 8]
    assert result.best_epoch == 2 and result.best_iteration == 8
    assert result.best_val_map_at_r == 0.3
    assert result.epochs == 8 and result.iterations == 32 and result.stopped_early


def test_the_untrained_evaluation_is_recorded_but_never_the_best(tmp_path, sets, monkeypatch):
    scores = iter([0.9, 0.2, 0.4, 0.3])  # epochs 0 (untrained), 1, 2, 3

    def scripted(*args, **kwargs):
        return {"map_at_r": next(scores), "precision_at_1": 0.0, "r_precision": 0.0}

    monkeypatch.setattr(trainer_module, "evaluate", scripted)
    result = run(tmp_path, sets, patience_epochs=100, max_epochs=3)
    assert result.curve[0]["epoch"] == 0 and result.curve[0]["val_map_at_r"] == 0.9
    assert result.best_val_map_at_r == 0.4 and result.best_epoch == 2
    assert torch.load(tmp_path / "best.pt", weights_only=True)["epoch"] == 2


def test_max_epochs_ends_the_run_with_a_final_validation(tmp_path, sets):
    result = run(tmp_path, sets, eval_every_epochs=2, patience_epochs=100, max_epochs=3)
    assert [row["epoch"] for row in result.curve] == [0, 2, 3]
    assert result.epochs == 3 and not result.stopped_early


def test_warmup_trains_only_the_embedder_and_the_loss_parameters(tmp_path, sets):
    model = tiny_model()
    trunk_before = {k: v.detach().clone() for k, v in model.trunk.named_parameters()}
    embedder_before = model.embedder.linear.weight.detach().clone()
    loss = ProxyAnchorLoss(num_classes=8, embedding_size=16)
    proxies_before = loss.proxies.detach().clone()
    run(tmp_path, sets, model=model, loss=loss, loss_lr=1e-2, warmup_epochs=1, max_epochs=1)
    assert all(torch.equal(p, trunk_before[k]) for k, p in model.trunk.named_parameters())
    assert not torch.equal(model.embedder.linear.weight, embedder_before)
    assert not torch.equal(loss.proxies, proxies_before)
    assert all(p.requires_grad for p in model.parameters())


def test_loss_parameters_train_at_loss_lr(tmp_path, sets):
    loss = ProxyAnchorLoss(num_classes=8, embedding_size=16)
    proxies_before = loss.proxies.detach().clone()
    run(tmp_path, sets, loss=loss, loss_lr=0.0, max_epochs=1)
    assert torch.equal(loss.proxies, proxies_before)


def test_a_loss_with_parameters_needs_loss_lr(tmp_path, sets):
    with pytest.raises(ConfigError, match="loss_lr"):
        run(tmp_path, sets, loss=ProxyAnchorLoss(num_classes=8, embedding_size=16))


def test_step_lr_and_adamw_are_configuration(tmp_path, sets):
    run(tmp_path, sets, optimizer="adamw", lr_step_epochs=1, lr_gamma=0.5, max_epochs=2)
    last = torch.load(tmp_path / "last.pt", weights_only=True)
    assert last["optimizers"]["trunk"]["param_groups"][0]["lr"] == pytest.approx(1e-3 * 0.25)
    assert "exp_avg" in next(iter(last["optimizers"]["trunk"]["state"].values()))


def test_resuming_with_another_seed_is_refused(tmp_path, sets):
    with pytest.raises(AssertionError):  # the first run stops mid-way
        run(tmp_path, sets, loss=_FailAt(iteration=6), max_epochs=4)
    with pytest.raises(ConfigError, match="seed=0"):
        run(tmp_path, sets, seed=1, max_epochs=4)


class _FailAt(torch.nn.Module):
    def __init__(self, iteration: int):
        super().__init__()
        self.left = iteration
        self.loss = ContrastiveLoss()

    def forward(self, embeddings, labels):
        self.left -= 1
        if self.left < 0:
            raise AssertionError("simulated crash")
        return self.loss(embeddings, labels)


def test_epoch_order_is_a_pure_function_of_seed_and_epoch(sets):
    train, _ = sets
    sampler = EpochSampler(train.labels, 16, 4, length=64, seed=3)
    sampler.set_epoch(5)
    first = list(sampler)
    sampler.set_epoch(2)
    list(sampler)
    torch.manual_seed(123)
    sampler.set_epoch(5)
    assert list(sampler) == first
    again = EpochSampler(train.labels, 16, 4, length=64, seed=3)
    again.set_epoch(5)
    assert list(again) == first
    again.set_epoch(6)
    assert list(again) != first
    labels = train.labels[first]
    assert all(len(set(labels[i : i + 4])) == 1 for i in range(0, 64, 4))


def test_query_gallery_pairs_are_evaluated_query_to_gallery(tmp_path, sets):
    _, val = sets
    model = tiny_model()
    result = run(tmp_path, sets, model=model, val_set=(val, val), max_epochs=1)
    for row in result.curve:
        # Against itself as a separate gallery, each query finds itself first.
        assert row["val_precision_at_1"] == 1.0
    own_reference = evaluate(model, val, RunDevice(torch.device("cpu")))
    assert own_reference["precision_at_1"] < 1.0
