"""The one registry type behind ``register_loss``, ``register_dataset`` and ``register_trunk``.

One case rule for every kind: a registered name is lower case (a name with capitals is refused
at registration, with the lower-case spelling to use), and a lookup ignores case, so
``--dataset CUB``, ``--losses MFCWMS`` and ``model.trunk: ResNet50`` find ``cub``, ``mfcwms``
and ``resnet50``. Entries keep their registration order (the order listings show).

Registering a taken name is refused unless the registration is the same one again (a module
imported twice) or ``replace=True`` (a notebook reloading its plugin).
:func:`registry_restored` forgets, on exit, whatever any registry gained inside the block.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

Entry = TypeVar("Entry")


class Registry(Generic[Entry]):
    """Named entries of one kind (``"loss"``, ``"dataset"``, ``"trunk"``), in registration order.

    Args:
        kind: what an entry is, for messages (``"a loss name ..."``).
        identity: what makes two registrations of a name the same one (the builder or reader
            function): registering it again is then a no-op rather than a clash.
    """

    _all: list[Registry] = []

    def __init__(self, kind: str, identity: Callable[[Entry], object] = lambda entry: entry):
        self.kind = kind
        self._identity = identity
        self._entries: dict[str, Entry] = {}
        Registry._all.append(self)

    def canonical_name(self, name: str) -> str:
        """``name`` as registered: refused unless it is lower case, without spaces."""
        if not name or name != name.strip() or " " in name or name != name.lower():
            suggestion = name.strip().lower().replace(" ", "_") or f"my_{self.kind}"
            raise ValueError(
                f"a {self.kind} name is lower case without spaces, got {name!r} "
                f"(e.g. {suggestion!r})"
            )
        return name

    def add(self, name: str, entry: Entry, *, replace: bool = False) -> None:
        """Register ``entry`` as ``name``; a taken name raises ValueError unless ``replace``."""
        name = self.canonical_name(name)
        existing = self._entries.get(name)
        if (
            existing is not None
            and not replace
            and self._identity(existing) is not self._identity(entry)
        ):
            raise ValueError(f"a {self.kind} named '{name}' is already registered")
        self._entries[name] = entry

    def find(self, name: str) -> Entry | None:
        """The entry of ``name`` whatever its case, or None."""
        return self._entries.get(name.strip().lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.find(name) is not None

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        return list(self._entries)

    def entries(self) -> list[Entry]:
        """Every entry, in registration order."""
        return list(self._entries.values())

    def snapshot(self) -> dict[str, Entry]:
        return dict(self._entries)

    def restore(self, snapshot: dict[str, Entry]) -> None:
        self._entries.clear()
        self._entries.update(snapshot)


@contextlib.contextmanager
def registry_restored() -> Iterator[None]:
    """Forget, on exit, every loss, dataset and trunk registered or replaced inside the block.

    For tests and notebooks that register throwaway entries::

        with registry_restored():
            register_loss("tmp", display="T", kind="pair")(build_tmp)
    """
    saved = [(registry, registry.snapshot()) for registry in Registry._all]
    try:
        yield
    finally:
        for registry, snapshot in saved:
            registry.restore(snapshot)
