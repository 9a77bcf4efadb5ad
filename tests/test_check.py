"""Predict-then-check questions: what the learner types, what they read back."""

import pytest

from avicviz.widgets.checks import Check


@pytest.mark.parametrize("typed", ["4096", "4,096", "4 096", "4_096", " 4,096 ", "0x1000", "0x1_000"])
def test_numbers_as_people_write_them_are_accepted(typed):
    c = Check("How many entries?", answer=4096)
    ok, msg = c.submit(typed)
    assert ok and msg == "Correct.", (typed, msg)


@pytest.mark.parametrize("typed", ["four thousand", "", "0x", "4.096e3"])
def test_text_that_is_no_number_says_how_to_type_one(typed):
    ok, msg = Check("How many entries?", answer=4096).submit(typed)
    assert not ok and "is not a number" in msg and "4,096" in msg
