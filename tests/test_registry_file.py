"""A databases file that is wrong says what is wrong, naming the entry, through the `nlsql`
command: at start-up (`nlsql serve`) and in `nlsql databases` — never a silently missing database.
The start-up case runs the real server process; the rest call `main` in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from nlsql_server.cli import main
from nlsql_server.samples import ensure_sample


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def nlsql(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., Run]:
    """`nlsql ARGS` with `NLSQL_DATABASES` set, in this process."""

    def run(*args: str, databases_file: Path) -> Run:
        monkeypatch.setenv("NLSQL_DATABASES", str(databases_file))
        code = main(list(args))
        out = capsys.readouterr()
        return Run(code, out.out, out.err)

    return run


@pytest.fixture
def finance_file(data_dir: Path) -> Path:
    return ensure_sample("finance", data_dir)


def test_a_good_file_lists_its_databases_with_their_dialect(
    nlsql: Callable[..., Run], tmp_path: Path, finance_file: Path
) -> None:
    config = tmp_path / "databases.toml"
    config.write_text(
        f'[databases.books]\nurl = "sqlite:///{finance_file}"\n\n'
        '[databases.shop]\nurl = "mysql://reader@db.internal/shop"\n'
    )
    listed = nlsql("databases", databases_file=config)
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line.split()[1] for line in listed.stdout.splitlines()[1:]}
    assert lines["books"] == "sqlite" and lines["shop"] == "mysql"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        # The old registry read this as no database at all, and served only the samples.
        ('[[database]]\nname = "books"\nurl = "sqlite:///{file}"\n', "unknown section 'database'"),
        ('[database.books]\nurl = "sqlite:///{file}"\n', "unknown section 'database'"),
        ('title = "ours"\n', "unknown section 'title'"),
        ("# nothing yet\n", "names no database"),
    ],
)
def test_a_misspelt_section_is_an_error_not_an_empty_registry(
    nlsql: Callable[..., Run], tmp_path: Path, finance_file: Path, text: str, says: str
) -> None:
    config = tmp_path / "databases.toml"
    config.write_text(text.format(file=finance_file))
    run = nlsql("databases", databases_file=config)
    assert run.returncode == 2, run.stdout
    assert says in run.stderr and str(config) in run.stderr
    assert "[databases.NAME]" in run.stderr


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite:///{missing}", "No such SQLite file"),
        ("sqlite:///{not_sqlite}", "Not a SQLite database"),
        ("mongodb://h/db", "Unsupported database URL"),
        ("mysql://u@h:99999999/db", "Bad port"),
        ("mysql://u@h/db?sslmode=require", "Unknown URL option 'sslmode'"),
    ],
)
def test_a_bad_entry_is_named_in_the_listing(
    nlsql: Callable[..., Run], tmp_path: Path, finance_file: Path, url: str, says: str
) -> None:
    not_sqlite = tmp_path / "notes.sqlite"
    not_sqlite.write_text("not a database")
    config = tmp_path / "databases.toml"
    url = url.format(missing=tmp_path / "gone.sqlite", not_sqlite=not_sqlite)
    config.write_text(
        f'[databases.books]\nurl = "sqlite:///{finance_file}"\n\n'
        f'[databases.broken]\nurl = "{url}"\n'
    )
    run = nlsql("databases", databases_file=config)
    assert run.returncode == 2, run.stdout
    assert f"databases.broken: {says}" in run.stderr and "books" not in run.stderr


def test_the_server_process_does_not_start_on_a_wrong_file(tmp_path: Path) -> None:
    config = tmp_path / "databases.toml"
    config.write_text('[[database]]\nname = "books"\nurl = "sqlite:///books.sqlite"\n')
    run = subprocess.run(
        [sys.executable, "-m", "nlsql_server", "serve", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ | {"NLSQL_DATABASES": str(config)},
        check=False,
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith(f"nlsql serve: {config}: unknown section 'database'")
