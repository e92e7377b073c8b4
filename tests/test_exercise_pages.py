"""rnncourse.exercises: the parts, points and titles the book's exercise pages show, read from the release."""
import json

import pytest

from rnncourse.exercises import assignment_index, assignments, parts, parts_table, title


def test_every_assignment_is_listed_with_its_parts():
    names = assignments()
    assert "01_rnn" in names and names == sorted(names)
    index = assignment_index()
    for name in names:
        assert f"]({name}.md)" in index
        assert parts(name), name


def test_parts_match_the_graded_cells(tmp_path):
    folder = tmp_path / "exercises" / "09_demo"
    folder.mkdir(parents=True)
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# Exercise 9: a demo\n\nIntro."},
        {"cell_type": "markdown", "metadata": {}, "source": "## Part 1: the first (2 points)\n"},
        {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "grade_id": "a_test", "points": 2}},
         "source": '"""a matches | the reference (2 points)."""\ncheck(a)', "outputs": [], "execution_count": None},
        {"cell_type": "markdown", "metadata": {}, "source": "## Part 2: the second\n"},
        {"cell_type": "code", "metadata": {"nbgrader": {"grade": False, "grade_id": "b"}}, "source": "b = 1",
         "outputs": [], "execution_count": None},
        {"cell_type": "code", "metadata": {"nbgrader": {"grade": True, "grade_id": "b_test", "points": 3.5}},
         "source": "check(b)", "outputs": [], "execution_count": None},
    ]
    (folder / "demo.ipynb").write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    assert title("09_demo", tmp_path) == "Exercise 9: a demo"
    found = parts("09_demo", tmp_path)
    assert [(p.title, p.grade_id, p.points, p.checks) for p in found] == [
        ("Part 1: the first", "a_test", 2.0, "a matches | the reference"),
        ("Part 2: the second", "b_test", 3.5, ""),
    ]
    table = parts_table("09_demo", tmp_path)
    assert "a matches / the reference" in table and "**5.5**" in table


def test_unknown_assignment_is_a_clear_error():
    with pytest.raises(ValueError, match="expected one notebook in .*99_none.*assignments: 01_rnn"):
        parts("99_none")
