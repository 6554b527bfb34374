"""The CSV files ``mlrc tables`` reads: an unparsable one is one error naming it."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmark.errors import ResultsError
from benchmark.io import first_bad_row
from benchmark.report.reference import read_reference_csv
from benchmark.report.runtime_table import read_profile_csv


@pytest.mark.parametrize(
    ("read", "what"), [(read_reference_csv, "reference CSV"), (read_profile_csv, "profile CSV")]
)
def test_an_unparsable_file_is_one_error_naming_it(tmp_path, read, what):
    path = tmp_path / "file.csv"
    path.write_text("a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(ResultsError, match=rf"file\.csv is not a readable {what} \(Error"):
        read(path)


def test_first_bad_row_is_the_position_of_the_first_true():
    assert first_bad_row(pd.Series([False, True, True], index=[7, 8, 9])) == 1
    assert first_bad_row(pd.Series([False, False])) is None
