"""The Trainer evaluator and train_model: accuracy, determinism, budgets, control, failures."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from nasnb.data import load_dataset
from nasnb.evaluation import (
    Control,
    DivergedError,
    EvaluationInterrupted,
    Trainer,
    controlled,
    train_model,
)
from nasnb.spaces import CellSpace, ChainSpace, HyperSpace, ProductSpace

ALL_CONV = CellSpace().parse("|conv_3x3~0|+|conv_3x3~0|conv_3x3~1|+|conv_3x3~0|conv_3x3~1|conv_3x3~2|")
TINY = {"channels": 4}
ONE = {"threads": 1}  # the suite may share the CPU with other processes: see Trainer's docstring
CHAIN = ChainSpace().parse("conv3x3-8-relu-bn > maxpool > fc32-relu")


def quick(**kwargs) -> Trainer:
    return Trainer(**{"epochs": 1, "max_steps": 4, "network": TINY, **ONE, **kwargs})


def test_a_good_cell_learns_digits_in_three_epochs():
    before = torch.get_num_threads()
    result = Trainer(epochs=3, **ONE)(ALL_CONV)
    assert torch.get_num_threads() == before
    assert result["accuracy"] > 0.8  # 0.95 measured
    assert result["epochs"] == 3 and result["steps"] == 3 * 17
    assert result["params"] > 0 and result["macs"] > result["params"]
    assert [len(v) for v in result["curves"].values()] == [3, 3, 3, 3]
    assert result["curves"]["val_accuracy"][-1] == result["accuracy"]
    assert "test_accuracy" not in result
    json.dumps(result)


def test_same_arch_and_seed_give_identical_metrics_and_leave_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b = (Trainer(epochs=2, network=TINY, **ONE)(ALL_CONV) for _ in range(2))
    assert torch.equal(state, torch.random.get_rng_state())
    for r in (a, b):
        r.pop("train_seconds")
    assert a == b
    other = Trainer(epochs=2, network=TINY, seed=1, **ONE)(ALL_CONV)
    assert other["curves"]["train_loss"] != a["curves"]["train_loss"]


def test_huge_learning_rate_raises_diverged_naming_the_lr():
    no_bn = ChainSpace().parse("fc64-relu > fc64-relu")
    with pytest.raises(DivergedError, match=r"epoch 1, step \d+ with lr=1e\+06; try a lower learning rate"):
        Trainer(lr=1e6, epochs=1, **ONE)(no_bn)


def test_hyperparameters_of_the_architecture_override_the_trainer():
    space = ProductSpace(arch=CellSpace(), hp=HyperSpace(lr=(0.01,), batch_size=(32, 128)))
    n = len(load_dataset("digits").train)
    for batch_size in (32, 128):
        arch = space.complete({**dict(ALL_CONV), "batch_size": batch_size})
        steps = quick(max_steps=None, batch_size=64)(arch)["steps"]
        assert steps == math.ceil(n / batch_size)
    hp = HyperSpace(lr=(100.0,), batch_size=(64,), weight_decay=(0.0,), dropout=(0.0,))
    huge = ProductSpace(arch=ChainSpace(), hp=hp).complete({**dict(ChainSpace().parse("fc64-relu > fc64-relu"))})
    with pytest.raises(DivergedError, match="lr=100"):  # the largest rate HyperSpace accepts
        Trainer(lr=0.01, epochs=1, **ONE)(huge)


def test_max_steps_stops_mid_epoch_and_still_reports_validation():
    result = Trainer(epochs=5, max_steps=7, network=TINY, **ONE)(ALL_CONV)
    assert result["steps"] == 7 and result["epochs"] == 0
    assert result["curves"]["epoch"] == [pytest.approx(7 / 17)]
    assert 0 <= result["accuracy"] <= 1


def test_seconds_limit_is_respected():
    """A real clock: training stops after the budget (the exact stop point is pinned with a fake
    clock in test_core_steps.py), long before its 1000 epochs."""
    result = Trainer(epochs=1000, seconds=0.5, network=TINY, **ONE)(ALL_CONV)
    assert result["train_seconds"] >= 0.5
    assert result["steps"] < 1000 * 17 and result["epochs"] < 1000
    assert len(result["curves"]["epoch"]) == result["epochs"] + (result["curves"]["epoch"][-1] % 1 > 0)


def test_progress_is_reported_every_epoch():
    seen = []
    with controlled(Control(on_progress=seen.append)):
        quick(max_steps=None, epochs=2, network=None)(CHAIN)
    assert [s["epoch"] for s in seen] == [1, 2] and seen[0]["epochs"] == 2
    assert {"val_accuracy", "train_loss"} <= set(seen[0])


def test_stop_request_interrupts_within_one_batch():
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    control = Control()
    calls = []

    def count(module, inputs, output):
        calls.append(1)
        if len(calls) == 3:
            control.stop_requested.set()

    model.register_forward_hook(count)
    with controlled(control), pytest.raises(EvaluationInterrupted):
        train_model(model, "digits", epochs=5)
    assert len(calls) == 3


def test_an_already_stopped_search_interrupts_the_trainer_at_once():
    control = Control()
    control.stop_requested.set()
    with controlled(control), pytest.raises(EvaluationInterrupted):
        Trainer(epochs=50)(ALL_CONV)


def test_moons_with_an_fc_only_chain():
    arch = ChainSpace(layer_types=("fc",)).parse("fc32-relu > fc32-relu")
    assert Trainer("moons", epochs=20, **ONE)(arch)["accuracy"] > 0.8  # 0.89 measured


def test_test_accuracy_adam_and_kept_model():
    trainer = quick(test=True, optimizer="adam", lr=0.01, keep_model=True, network=None)
    result = trainer(CHAIN)
    assert 0 <= result["test_accuracy"] <= 1
    assert isinstance(trainer.last_model_, nn.Module) and not trainer.last_model_.training


def test_config_round_trips_and_constructor_does_no_work():
    trainer = Trainer("nonsense", epochs=0, network={"channels": 8})
    assert Trainer(**trainer.get_config()).get_config() == trainer.get_config()
    json.dumps(trainer.get_config())
    assert "epochs=0" in repr(trainer) and "lr" not in repr(trainer)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"epochs": 0}, "epochs must be an int >= 1, got 0"),
        ({"lr": -1}, "lr must be a number > 0, got -1"),
        ({"optimizer": "rmsprop"}, "optimizer must be one of"),
        ({"max_steps": 0}, "max_steps must be None or an int >= 1"),
        ({"dataset": "imagenet"}, "imagenet"),
        ({"network": {"width": 3}}, "width"),
        ({"device": "gpu0"}, "device"),
        ({"threads": 0}, "threads must be None or an int >= 1"),
    ],
)
def test_bad_settings_name_the_parameter_and_the_value(kwargs, words):
    with pytest.raises(ValueError, match=words):
        Trainer(**kwargs)(CHAIN)


def test_train_model_trains_any_module():
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    result = train_model(model, load_dataset("digits"), epochs=3, lr=0.1)
    assert result["accuracy"] > 0.85 and result["epochs"] == 3


def test_validate_checks_the_configuration_without_training():
    Trainer(epochs=3).validate()
    with pytest.raises(ValueError, match="Trainer parameter dataset must be one of .*got 'imagenet'"):
        Trainer("imagenet").validate()
