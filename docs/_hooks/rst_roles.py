"""A griffe extension for the API reference: the package's docstrings use Sphinx roles
(``:func:`~benchmark.x.name```) and ``::`` before a literal block, which Markdown would print as
they are. Each role becomes inline code of the name it shows (the last part after ``~``, else the
whole target), and a line's closing ``::`` one colon (the indented block is already code)."""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:func|class|data|mod|meth|attr|exc|obj):`(~?)([^`]+)`")
LITERAL_MARK = re.compile(r"::$", re.M)


def _as_code(match: re.Match[str]) -> str:
    target = match[2].strip()
    return f"`{target.rsplit('.', 1)[-1] if match[1] else target}`"


def plain_roles(text: str) -> str:
    """``text`` with every Sphinx role written as inline code, and ``::`` as ``:``."""
    return LITERAL_MARK.sub(":", ROLE.sub(_as_code, text))


class SphinxRolesAsCode(griffe.Extension):
    """Rewrites the roles of every docstring griffe reads, before mkdocstrings renders it."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain_roles(obj.docstring.value)
