"""A results file is whole or refused: a torn or short row is never read as a value, and the
stages that write the file repair it (a repeat is whole or absent)."""

from __future__ import annotations

import logging

import pytest
from run_helpers import tiny_config

from benchmark.cli import main
from benchmark.errors import ResultsError
from benchmark.io import split_torn_csv
from benchmark.store.results_file import ResultsFile, read_results_csv, result_rows
from benchmark.store.run_directory import RunDirectory

METRICS = ("map_at_r", "precision_at_1", "r_precision")


def _repeat(config, loss: str, repeat: int, value: float) -> list[dict]:
    """One repeat's rows, as a retrain writes them: two modes x three metrics."""
    rows = []
    for mode, dim in (("separated", 128), ("concatenated", 512)):
        metrics = {metric: value + i / 100 for i, metric in enumerate(METRICS)}
        rows += result_rows(
            config, loss, loss.upper(), repeat, mode, dim, metrics, params={"a": 1}, seeds=[1]
        )
    return rows


@pytest.fixture
def results(tmp_path, tiny_overrides) -> ResultsFile:
    """A run's results: untrained and mfcwms repeats 0 and 1, contrastive repeat 0."""
    config = tiny_config(tiny_overrides)
    results = ResultsFile(RunDirectory(tmp_path / "run"))
    for loss, repeat in [("untrained", 0), ("untrained", 1), ("mfcwms", 0), ("mfcwms", 1)]:
        results.append(_repeat(config, loss, repeat, 0.1 * (repeat + 1)))
    results.append(_repeat(config, "contrastive", 0, 0.4))
    return results


def _cut(results: ResultsFile, marker: str) -> str:
    """Cut the file just after the last ``marker`` (a write that died there); returns the text
    it had."""
    text = results.path.read_text()
    results.path.write_text(text[: text.rindex(marker) + len(marker)])
    return text


def test_a_row_torn_inside_its_value_is_refused_with_one_line_naming_the_file_and_row(
    results, capsys
):
    _cut(results, ",r_precision,0.4")  # the last row's value 0.42 cut to 0.4
    lines = len(results.path.read_text().splitlines())
    with pytest.raises(ResultsError) as error:
        results.read()
    message = str(error.value)
    assert message.startswith(f"{results.path}, line {lines}: ") and "\n" not in message
    assert "torn row" in message and "mlrc run" in message

    assert main(["tables", str(results.path.parent), "--out", str(results.path.parent / "t")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and f"line {lines}" in err and len(err.splitlines()) == 1


def test_a_short_row_that_ends_its_line_is_refused_too(results):
    text = results.path.read_text()
    header, *rows = text.splitlines(keepends=True)
    short = ",".join(rows[3].split(",")[:8]) + "\n"  # a row without its value and the rest
    results.path.write_text(header + "".join(rows[:3]) + short + "".join(rows[4:]))
    with pytest.raises(ResultsError, match=r"line 5: 8 of 18 fields: a torn row"):
        read_results_csv(results.path)


def test_the_repeats_counted_done_leave_out_a_torn_one_without_writing(results):
    _cut(results, ",separated,128,precision_at_1,0.4")  # contrastive 0: 2 rows whole, 1 torn
    torn = results.path.read_text()
    assert results.completed_repeats_by_loss() == {"untrained": {0, 1}, "mfcwms": {0, 1}}
    assert results.path.read_text() == torn


def test_a_repair_keeps_the_whole_repeats_and_drops_every_row_of_the_torn_one(results, caplog):
    whole = results.path.read_text()
    _cut(results, ",separated,128,precision_at_1,0.4")
    with caplog.at_level(logging.WARNING):
        assert results.repair() == 2  # the torn row and the whole row of its repeat before it
    assert results.path.read_text() == whole[: whole.index("contrastive")].rsplit("\n", 1)[0] + (
        "\n"
    )
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "loss=contrastive repeat=0" in warning and "computed again" in warning
    assert results.repair() == 0  # whole now: nothing more to do


def test_a_repair_then_an_append_restores_the_file_exactly(results, tiny_overrides):
    whole = results.path.read_text()
    _cut(results, ",concatenated,512,map_at_r,0.")
    results.append(_repeat(tiny_config(tiny_overrides), "contrastive", 0, 0.4))  # repairs first
    assert results.path.read_text() == whole


def test_a_row_torn_before_its_repeat_is_known_drops_the_repeat_before_it_only_if_incomplete(
    results,
):
    whole = results.path.read_text()
    # Torn in the first row of contrastive repeat 0: the repeat before it (mfcwms 1) is whole,
    # as its siblings show, and stays.
    results.path.write_text(whole[: whole.index("contrastive") + 4])
    assert results.repair() == 1
    assert results.completed_repeats_by_loss() == {"untrained": {0, 1}, "mfcwms": {0, 1}}
    # Torn after 4 of contrastive's 6 rows, in its dataset field: the rows before it are cut.
    lines = whole.splitlines(keepends=True)
    results.path.write_text("".join(lines[:-2]) + "synth")
    assert results.repair() == 5
    assert results.completed_repeats_by_loss() == {"untrained": {0, 1}, "mfcwms": {0, 1}}


def test_a_file_cut_at_a_line_end_loses_the_incomplete_repeat_on_repair(results):
    lines = results.path.read_text().splitlines(keepends=True)
    results.path.write_text("".join(lines[:-2]))  # contrastive 0 lost its last two rows
    assert len(read_results_csv(results.path)) == len(lines) - 3  # whole rows: readable
    assert "contrastive" not in results.completed_repeats_by_loss()  # but not done
    assert results.repair() == 4


def test_a_torn_header_leaves_no_row_and_is_repaired_to_an_empty_file(results):
    results.path.write_text("dataset,proto")
    with pytest.raises(ResultsError, match="line 1: 2 of 2 fields, no line end"):
        results.read()
    assert results.completed_repeats_by_loss() == {}
    results.repair()
    assert results.read().empty


def test_the_csv_splitter_keeps_whole_records_character_for_character():
    text = 'a,b\n1,"x\ny"\n\n2,3\n4'
    records = split_torn_csv(text)
    assert records.header == ["a", "b"] and records.whole_text == 'a,b\n1,"x\ny"\n\n2,3\n'
    (torn,) = records.torn
    assert (torn.line, torn.fields, torn.ended) == (6, ["4"], False)
    assert records.whole_before_torn == [2]
