"""A database password of any characters opens the database and reaches no file or message.

On a private PostgreSQL server whose password holds ``#``, ``/``, ``?``, ``@`` and ``%``: the
URL as RFC 3986 writes it (percent-encoded) and as a user may type it (a raw ``#``, ``/``, ``?``)
both authenticate; run.json keeps neither; a wrong password is one line without it.
"""

from __future__ import annotations

from urllib.parse import quote

import optuna
import pytest

from benchmark.config import load_protocol
from benchmark.errors import StorageError
from benchmark.store.run_directory import RunDirectory
from benchmark.store.storage import open_storage

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

SECRET = "Pw7kXj#c1fmQz/9e2rTy?a4dqWv@Qx8vNb%z3wHk"
TYPED = "Pw7kXj#c1fmQz/9e2rTy?a4dqWv"
"""What a user may type unencoded: everything but the '@' and the '%'."""
PIECES = ["Pw7kXj", "c1fmQz", "9e2rTy", "a4dqWv", "Qx8vNb", "z3wHk"]


def _with_password(server, password: str) -> str:
    return server.url.replace("postgres@", f"postgres:{password}@")


def _opens_and_forgets(url: str, tmp_path) -> None:
    """``url`` authenticates (a study is created), and run.json records it without password."""
    storage = open_storage(url, tmp_path / "unused.journal")
    optuna.create_study(storage=storage, study_name="passwords")
    assert optuna.get_all_study_names(storage) == ["passwords"]
    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(load_protocol("demo", "synthetic", []), [], url)
    manifest = run_dir.manifest_path.read_text()
    assert not any(piece in manifest for piece in PIECES), manifest
    assert run_dir.read_manifest()["storage"].startswith("postgresql://postgres@127.0.0.1:")


@pytest.mark.parametrize("private_postgres", [SECRET], indirect=True)
def test_a_percent_encoded_password_of_any_characters_opens_the_database(
    private_postgres, tmp_path
):
    _opens_and_forgets(_with_password(private_postgres, quote(SECRET, safe="")), tmp_path)


@pytest.mark.parametrize("private_postgres", [TYPED], indirect=True)
def test_a_password_typed_with_a_raw_hash_slash_and_question_mark_opens_the_database(
    private_postgres, tmp_path
):
    _opens_and_forgets(_with_password(private_postgres, TYPED), tmp_path)


@pytest.mark.parametrize("private_postgres", [SECRET], indirect=True)
def test_a_wrong_password_is_one_line_that_holds_none_of_it(private_postgres, tmp_path):
    wrong = SECRET.replace("Pw7kXj", "Pw7kXX")
    with pytest.raises(StorageError, match="password authentication failed") as error:
        open_storage(_with_password(private_postgres, quote(wrong, safe="")), tmp_path / "x")
    message = str(error.value)
    assert len(message.splitlines()) == 1
    assert not any(piece in message for piece in [*PIECES, "Pw7kXX"]), message
