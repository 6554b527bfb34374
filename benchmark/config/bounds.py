"""The values each protocol setting may take, declared on the field itself and checked in one place.

A numeric field of a section is declared with :func:`setting`, which records its :class:`Bound`
(and why) in the field's metadata, or the reason it takes any value of its type::

    trunk_lr: float = setting(1e-6, at_least(0), "learning rate; 0 freezes the trunk")
    root: str | None = setting(None, None, "a path: checked when the dataset is read")

Booleans and ``Literal`` choices are bounded by their type (:func:`coerce_value` refuses anything
else). :func:`value_problem` checks one value, :func:`section_problems` a whole section, and
:data:`RELATIONS` the few settings that bound each other. Every float must be finite.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Callable, Iterator
from dataclasses import MISSING, dataclass
from typing import Any, Literal

BOUND = "bound"
"""Field metadata key: the field's :class:`Bound`, or None with a reason in :data:`WHY`."""
WHY = "why"
"""Field metadata key: why the field has its bound (or has none)."""


@dataclass(frozen=True)
class Bound:
    """An interval of numbers; for a list or pair, of each element.

    Attributes:
        low, high: the ends (None: unbounded on that side).
        low_open, high_open: the end itself is excluded.
        ascending: a pair must have ``first <= second`` (``crop_scale``).
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    ascending: bool = False

    def contains(self, number: float) -> bool:
        if self.low is not None and (number <= self.low if self.low_open else number < self.low):
            return False
        return self.high is None or (number < self.high if self.high_open else number <= self.high)

    def describe(self) -> str:
        """``>= 1``, ``> 0``, ``in [0, 1)``, ``any finite number``."""
        if self.low is not None and self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"in {left}{_number(self.low)}, {_number(self.high)}{right}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {_number(self.low)}"
        if self.high is not None:
            return f"{'<' if self.high_open else '<='} {_number(self.high)}"
        return "any finite number"


def at_least(low: float, high: float | None = None) -> Bound:
    """``low <= value`` (``<= high`` too when given)."""
    return Bound(low=low, high=high)


def above(low: float, high: float | None = None) -> Bound:
    """``low < value`` (``<= high`` too when given)."""
    return Bound(low=low, high=high, low_open=True)


def setting(
    default: Any = MISSING,
    bound: Bound | None = None,
    why: str = "",
    *,
    factory: Callable[[], Any] | Any = MISSING,
) -> Any:
    """A section field with its bound and why; ``bound=None`` needs ``why``: the reason the
    field takes any value of its type."""
    if bound is None and not why:
        raise ValueError("a setting without a bound must say why it has none")
    metadata = {BOUND: bound, WHY: why}
    if factory is not MISSING:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def declared(field: dataclasses.Field, hint: Any) -> tuple[Bound | None, str] | None:
    """``(bound, why)`` of a field: from its metadata, or from its type for booleans and
    choices; None when the field declares nothing (a bug the tests catch)."""
    if BOUND in field.metadata:
        return field.metadata[BOUND], field.metadata[WHY]
    if hint is bool:
        return None, "true or false"
    if typing.get_origin(hint) is Literal:
        return None, "one of " + ", ".join(map(str, typing.get_args(hint)))
    return None


def value_problem(field: dataclasses.Field, value: Any) -> str | None:
    """What is wrong with ``value`` for ``field`` (``must be ...``), or None."""
    bound = field.metadata.get(BOUND)
    numbers = list(value) if isinstance(value, list | tuple) else [value]
    for number in numbers:
        if isinstance(number, float) and not math.isfinite(number):
            return f"must be a finite number{_within(bound)}"
        if bound is None or not isinstance(number, int | float) or isinstance(number, bool):
            continue
        if not bound.contains(number):
            if isinstance(value, list | tuple):
                return f"must have each value {bound.describe()}"
            return f"must be {bound.describe()}"
    if bound is not None and bound.ascending and len(numbers) == 2 and numbers[0] > numbers[1]:
        return f"must be ascending [low, high] (each {bound.describe()})"
    return None


def section_problems(section: Any, prefix: str) -> Iterator[str]:
    """``"<prefix>.<key> must be ..., got <value> (<why>)"`` for every field of the section
    (and of the sections inside it) whose value is out of bounds."""
    for field in dataclasses.fields(section):
        value = getattr(section, field.name)
        name = f"{prefix}.{field.name}"
        if dataclasses.is_dataclass(value):
            yield from section_problems(value, name)
            continue
        problem = value_problem(field, value)
        if problem is not None:
            yield describe_problem(name, field, value, problem)


def describe_problem(name: str, field: dataclasses.Field, value: Any, problem: str) -> str:
    why = field.metadata.get(WHY)
    return f"{name} {problem}, got {_shown(value)}" + (f" ({why})" if why else "")


@dataclass(frozen=True)
class Relation:
    """Two settings that bound each other."""

    settings: tuple[str, str]
    holds: Callable[[Any], bool]
    """Of the whole :class:`~benchmark.config.sections.ProtocolConfig`."""
    rule: str
    why: str


FOLD_PRUNERS = ("median", "percentile", "wilcoxon")
"""The pruners that decide between whole folds (``study.pruner_warmup_folds`` applies to them)."""

RELATIONS = (
    Relation(
        ("study.heartbeat_interval", "study.grace_period"),
        lambda config: config.study.heartbeat_interval < config.study.grace_period,
        "study.heartbeat_interval must be shorter than study.grace_period",
        "a running trial beats every heartbeat_interval seconds; a grace period no longer than "
        "that declares live trials dead and hands their work to another worker",
    ),
    Relation(
        ("study.pruner_warmup_folds", "data.n_folds"),
        lambda config: (
            config.study.pruner not in FOLD_PRUNERS
            or config.study.pruner_warmup_folds < config.data.n_folds
        ),
        "study.pruner_warmup_folds must be below data.n_folds when a whole-fold study.pruner "
        "(median, percentile, wilcoxon) is on",
        "a pruner decides only after fold index pruner_warmup_folds: with no such fold it never "
        "prunes",
    ),
    Relation(
        ("data.resize", "data.image_size"),
        lambda config: (
            config.data.transform == "small" or config.data.resize >= config.data.image_size
        ),
        "data.resize must be at least data.image_size (unless data.transform is small)",
        "evaluation resizes the shorter side to data.resize and centre-crops data.image_size: "
        "a smaller image would be padded with black borders",
    ),
)


def relation_problems(config: Any) -> Iterator[str]:
    """One line per :data:`RELATIONS` entry that ``config`` breaks, with both values."""
    for relation in RELATIONS:
        if not relation.holds(config):
            values = ", ".join(
                f"{name} = {_shown(_get(config, name))}" for name in relation.settings
            )
            yield f"{relation.rule} ({values}): {relation.why}"


def _get(config: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        config = getattr(config, key)
    return config


def _within(bound: Bound | None) -> str:
    return (
        f" {bound.describe()}"
        if bound is not None and bound.describe() != "any finite number"
        else ""
    )


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() and abs(value) >= 1e4 else f"{value:g}"


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        value = list(value)
    return repr(value)


def reference_rows(sections: dict[str, Any]) -> Iterator[tuple[str, str, str, str]]:
    """``(setting, default, bound, why)`` for every field of ``sections`` (``{"data":
    DataConfig, ...}``), nested sections included, in declaration order."""
    for prefix, cls in sections.items():
        hints = typing.get_type_hints(cls)
        for field in dataclasses.fields(cls):
            name, hint = f"{prefix}.{field.name}", hints[field.name]
            if dataclasses.is_dataclass(hint):
                yield from reference_rows({name: hint})
                continue
            bound, why = declared(field, hint) or (None, "NOT DECLARED")
            factory = field.default_factory
            default = factory() if callable(factory) else field.default
            yield name, _shown(default), *_allowed(field, hint, bound, why, default)


def _allowed(
    field: dataclasses.Field, hint: Any, bound: Bound | None, why: str, default: Any
) -> tuple[str, str]:
    """What a field allows, in words, and why."""
    if BOUND not in field.metadata:  # a boolean or a choice: its type is its bound
        return why, "its type"
    optional = " or null" if type(None) in typing.get_args(hint) else ""
    if bound is None:
        return f"any text{optional}", why
    allowed = bound.describe()
    if isinstance(default, list | tuple):
        allowed = f"each {allowed}" + (", ascending" if bound.ascending else "")
    return allowed + optional, why


def reference_table(sections: dict[str, type]) -> str:
    """The Markdown table of every setting's bound, then the relations between settings."""
    lines = ["| setting | default | allowed | why |", "| --- | --- | --- | --- |"]
    for name, default, allowed, why in reference_rows(sections):
        lines.append(f"| `{name}` | `{default}` | {allowed} | {why} |")
    lines += ["", "| relation | why |", "| --- | --- |"]
    lines += [f"| {relation.rule} | {relation.why} |" for relation in RELATIONS]
    return "\n".join(lines) + "\n"
