"""The one registry type: its case rule, duplicates, registration order and restore."""

from __future__ import annotations

import pytest

from benchmark.data import get_dataset_spec
from benchmark.losses import get_loss_spec, list_losses, register_loss
from benchmark.registry import Registry, registry_restored


def build_tmp(num_classes: int, embedding_size: int):
    """A throwaway loss."""


def test_names_are_stored_lower_case_and_found_whatever_their_case():
    registry: Registry[str] = Registry("widget")
    registry.add("wide_one", "A")
    assert registry.find("Wide_One") == "A"
    assert registry.find(" WIDE_ONE ") == "A"
    assert "WIDE_ONE" in registry
    assert registry.find("narrow") is None
    with pytest.raises(ValueError, match=r"lower case.*'wide_two'"):
        registry.add("Wide_Two", "B")


def test_every_kind_follows_the_same_case_rule():
    assert get_loss_spec("MFCWMS").name == "mfcwms"
    assert get_dataset_spec("CUB").name == "cub"
    with pytest.raises(ValueError, match="lower case"):
        register_loss("MyLoss", display="M", kind="pair")


def test_a_taken_name_is_refused_unless_the_same_registration_or_replace():
    registry: Registry[tuple[str, object]] = Registry("widget", identity=lambda entry: entry[1])
    maker = object()
    registry.add("a", ("first", maker))
    registry.add("a", ("again", maker))  # the same maker: a module imported twice
    with pytest.raises(ValueError, match="a widget named 'a' is already registered"):
        registry.add("a", ("other", object()))
    registry.add("a", ("replaced", object()), replace=True)
    assert registry.find("a")[0] == "replaced"


def test_entries_keep_their_registration_order():
    registry: Registry[int] = Registry("widget")
    for position, name in enumerate(["zeta", "alpha", "mid"]):
        registry.add(name, position)
    assert registry.names() == ["zeta", "alpha", "mid"]
    assert registry.entries() == [0, 1, 2]


def test_registry_restored_forgets_additions_and_replacements_of_every_registry():
    registry: Registry[str] = Registry("widget")
    registry.add("kept", "old")
    losses_before = [spec.name for spec in list_losses()]
    with registry_restored():
        registry.add("kept", "new", replace=True)
        registry.add("extra", "x")
        register_loss("tmp", display="T", kind="pair")(build_tmp)
        assert "tmp" in [spec.name for spec in list_losses()]
    assert registry.names() == ["kept"] and registry.find("kept") == "old"
    assert [spec.name for spec in list_losses()] == losses_before
