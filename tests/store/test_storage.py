"""open_storage: one URL decides where a run's studies live; bad URLs fail with one clear line."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from optuna.storages import JournalStorage, RDBStorage

from benchmark.errors import StorageError
from benchmark.store.storage import (
    masked_url,
    open_storage,
    parse_database_url,
    without_password,
)

# Each piece of this password is distinctive, so that a part of it left in a text is found too.
PIECES = ["Zq7", "Xv9", "Kp4", "Wm2", "Rt5", "Ln8"]
SECRET = "Zq7#Xv9/Kp4?Wm2@Rt5%Ln8"


def _holds_the_secret(text: str) -> bool:
    return any(piece in text for piece in PIECES)


def _url(password: str, tail: str = "") -> str:
    return f"postgresql://me:{password}@127.0.0.1:1/mlrc{tail}"


def test_no_url_is_the_run_directorys_journal_file(tmp_path):
    storage = open_storage(None, tmp_path / "run" / "optuna.journal")
    assert isinstance(storage, JournalStorage)
    assert (tmp_path / "run" / "optuna.journal").exists()


@pytest.mark.parametrize("url", ["journal:///{tmp}/a.journal", "{tmp}/b.journal", "{tmp}/c.log"])
def test_journal_urls_and_paths_open_a_journal(tmp_path, url):
    storage = open_storage(url.format(tmp=tmp_path), tmp_path / "unused.journal")
    assert isinstance(storage, JournalStorage)
    assert not (tmp_path / "unused.journal").exists()


def test_sqlite_url_opens_a_database(tmp_path):
    assert isinstance(open_storage(f"sqlite:///{tmp_path}/s.db", tmp_path / "x"), RDBStorage)


def test_postgres_scheme_is_refused_with_the_spelling_sqlalchemy_wants(tmp_path):
    with pytest.raises(StorageError, match=r"postgres://.*write postgresql://") as error:
        open_storage("postgres://me:secret@db.example/mlrc", tmp_path / "x")
    assert "secret" not in str(error.value)


def test_unreachable_database_names_the_url_without_its_password(tmp_path):
    url = "postgresql://me:secret@127.0.0.1:1/mlrc"
    with pytest.raises(StorageError, match=r"cannot open storage postgresql://me:\*\*\*@") as error:
        open_storage(url, tmp_path / "x")
    assert "secret" not in str(error.value)


def test_an_unknown_url_says_which_forms_work(tmp_path):
    with pytest.raises(StorageError, match="journal:///.*sqlite:///.*postgresql://"):
        open_storage("redis://localhost", tmp_path / "x")


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("postgresql://me:s3cret@db.example:5433/mlrc", "postgresql://me@db.example:5433/mlrc"),
        (
            "postgresql://me:p%40ss@db/mlrc?sslmode=require",
            "postgresql://me@db/mlrc?sslmode=require",
        ),
        ("postgresql://me@db/mlrc", "postgresql://me@db/mlrc"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        (None, None),
    ],
)
def test_a_url_loses_its_password_before_it_is_written_anywhere(url, kept):
    from benchmark.store.storage import without_password

    assert without_password(url) == kept


def test_run_json_never_records_a_storage_password(tmp_path):
    from benchmark.config import load_protocol
    from benchmark.store.run_directory import RunDirectory

    run_dir = RunDirectory(tmp_path / "run")
    run_dir.initialise(load_protocol("demo", "synthetic", []), [], "postgresql://me:s3cret@db/x")
    assert "s3cret" not in run_dir.manifest_path.read_text()
    assert run_dir.read_manifest()["storage"] == "postgresql://me@db/x"


@pytest.mark.parametrize("tail", ["", "?connect_timeout=3&sslmode=require"])
def test_a_percent_encoded_password_of_any_characters_is_read_and_stripped(tail):
    url = _url(quote(SECRET, safe=""), tail)
    assert parse_database_url(url).password == SECRET  # what SQLAlchemy sends the server
    assert without_password(url) == "postgresql://me@127.0.0.1:1/mlrc" + tail
    assert masked_url(url) == "postgresql://me:***@127.0.0.1:1/mlrc" + tail


@pytest.mark.parametrize("raw", ["Zq7#Xv9", "Zq7/Xv9", "Zq7?Xv9", "Zq7:Xv9", "Zq7#Xv9/Kp4?Wm2"])
def test_a_raw_hash_slash_question_mark_or_colon_in_a_password_is_part_of_it(raw):
    url = _url(raw, "?sslmode=require")
    assert parse_database_url(url).password == raw
    assert without_password(url) == "postgresql://me@127.0.0.1:1/mlrc?sslmode=require"
    assert not _holds_the_secret(masked_url(url))


@pytest.mark.parametrize("raw", [SECRET, "Zq7@Xv9", "Zq7@Xv9/Kp4", "Zq7@Xv9?Kp4=Wm2"])
def test_a_raw_at_sign_in_a_password_is_refused_in_one_line_that_holds_none_of_it(raw, tmp_path):
    for refuse in (without_password, lambda url: open_storage(url, tmp_path / "x")):
        with pytest.raises(StorageError, match="percent-encode the password.*%40") as error:
            refuse(_url(raw))
        assert len(str(error.value).splitlines()) == 1
        assert not _holds_the_secret(str(error.value))


def test_a_password_given_as_a_query_parameter_is_stripped_and_masked_too():
    url = f"postgresql://me@db/mlrc?password={quote(SECRET, safe='')}&sslmode=require"
    assert without_password(url) == "postgresql://me@db/mlrc?sslmode=require"
    assert masked_url(url) == "postgresql://me@db/mlrc?password=***&sslmode=require"


@pytest.mark.parametrize("password", [quote(SECRET, safe=""), "Zq7#Xv9/Kp4?Wm2", SECRET])
def test_no_message_about_a_url_shows_its_password(password, tmp_path):
    """Unreachable, unknown scheme, postgres:// or unparsable: the message masks it."""
    urls = [
        _url(password),
        f"postgresq://me:{password}@db/mlrc",
        f"postgres://me:{password}@db/mlrc",
        f"postgresql://me:{password}@db:port/mlrc",
    ]
    for url in urls:
        assert not _holds_the_secret(masked_url(url))
        with pytest.raises(StorageError) as error:
            open_storage(url, tmp_path / "x")
        assert not _holds_the_secret(str(error.value)), url


def test_run_json_never_records_a_password_of_any_characters(tmp_path):
    from benchmark.config import load_protocol
    from benchmark.store.run_directory import RunDirectory

    run_dir = RunDirectory(tmp_path / "run")
    url = _url(quote(SECRET, safe=""))
    run_dir.initialise(load_protocol("demo", "synthetic", []), [], url)
    assert not _holds_the_secret(run_dir.manifest_path.read_text())
    assert run_dir.read_manifest()["storage"] == "postgresql://me@127.0.0.1:1/mlrc"
