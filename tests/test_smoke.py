from tests.conftest import count_rows, query


def test_practice_fixture_builds(practice, db_path):
    counts = count_rows(db_path)
    assert counts["client"] == 1
    assert counts["care_case"] == 1
    assert counts["intake"] == 1
    result = practice(
        "session", "log", "Jane", "--pre", "7", "--post", "4",
        "--technique", "myofascial-release=25", "--technique", "swedish=20", "--region", "neck",
    )  # fmt: skip
    assert "visit 1 of 12" in result.stdout
    assert "97140" in result.stdout
    assert query(db_path, "SELECT count(*) AS n FROM session")[0]["n"] == 1
