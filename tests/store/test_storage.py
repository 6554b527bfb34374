"""open_storage: one URL decides where a run's studies live; bad URLs fail with one clear line."""

from __future__ import annotations

import pytest
from optuna.storages import JournalStorage, RDBStorage

from benchmark.errors import StorageError
from benchmark.store.storage import open_storage


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
