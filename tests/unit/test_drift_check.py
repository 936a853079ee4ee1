"""drift_check.py's report logic: the table and the one-issue-per-drifted-component rule."""

from __future__ import annotations

from generator.shipped import drift_check as dc

RUN = "https://github.com/bbws/2_1_bbws_dynamodb_schemas/actions/runs/7"


def _results() -> list[dc.Result]:
    return [
        dc.Result(
            "tenants", "dev", dc.DRIFTED, ("aws_dynamodb_table.this: update",), ("aws_dynamodb_table.this: update",)
        ),
        dc.Result("tenants", "prod", dc.DRIFTED, ("aws_dynamodb_table.this: update",), ()),
        dc.Result("products", "dev", dc.IN_SYNC),
        dc.Result("products", "prod", dc.IN_SYNC),
        dc.Result("backup", "dev", dc.IN_SYNC),
        dc.Result("backup", "prod", dc.ERROR, error="terraform plan failed:\nAccessDenied"),
    ]


def test_one_new_issue_per_drifted_component_covering_every_environment() -> None:
    actions = dc.issue_actions(_results(), [], RUN)
    assert [(a.kind, a.title, a.labels) for a in actions] == [("create", "Drift: tenants", ["drift"])]
    body = actions[0].body
    assert "| `tenants` | drifted | drifted |" in body
    assert "#### `tenants` in `dev`: drifted" in body and "#### `tenants` in `prod`: drifted" in body
    assert RUN in body


def test_an_open_issue_is_rewritten_and_one_back_in_sync_is_closed() -> None:
    open_issues = [
        {"number": 4, "title": "Drift: tenants"},
        {"number": 5, "title": "Drift: products"},
        {"number": 6, "title": "Drift: backup"},
    ]
    actions = {a.component: a for a in dc.issue_actions(_results(), open_issues, RUN)}
    assert (actions["tenants"].kind, actions["tenants"].number) == ("update", 4)
    assert (actions["products"].kind, actions["products"].number) == ("close", 5)
    # An error proves nothing: the backup issue stays open, untouched.
    assert "backup" not in actions


def test_summary_table_marks_missing_results_as_errors() -> None:
    results = dc.complete(_results()[:2], ["dev", "prod", "sit"], ["tenants"])
    table = dc.summary_table(results, ["dev", "prod", "sit"], ["tenants"])
    assert table.splitlines() == [
        "| component | dev | prod | sit |",
        "| --- | --- | --- | --- |",
        "| `tenants` | drifted | drifted | error |",
    ]
    assert "plan job for this environment failed" in dc.details(results)


def test_bad_usage_exits_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert dc.main(["plan", "--env", "dev; rm -rf /", "--root", str(tmp_path)]) == 2
    assert dc.main(["plan", "--env", "qa", "--root", str(tmp_path)]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert dc.main(["report", str(bad), "--root", str(tmp_path), "--environments", "dev"]) == 2
