"""`conveyor recipes` through the CLI: prepare and SQL recipes, lineage, re-runs, sandboxing and bad steps."""

from __future__ import annotations

import gzip
import json

import pytest

PREPARE = """\
name: adult_clean
output: adult_clean
input: adult
steps:
  - rename: {sex: gender}
  - drop: [fnlwgt]
  - fill_missing: {workclass: Unknown, occupation: {strategy: mode}}
  - filter: "age >= 18"
  - cast: {age: DOUBLE}
  - derive: {age_decade: "floor(age / 10)"}
  - split: {column: marital_status, separator: "-", into: [marital_1, marital_2]}
  - deduplicate: true
  - join: {dataset: regions, on: [native_country], how: left}
"""


@pytest.fixture
def adult(cli, demo_csv, tmp_path):
    assert cli("datasets", "add", demo_csv, "--name", "adult").exit_code == 0
    regions = tmp_path / "regions.csv"
    regions.write_text("native_country,region\nUnited-States,Americas\nMexico,Americas\nGermany,Europe\n")
    assert cli("datasets", "add", regions, "--name", "regions").exit_code == 0
    return tmp_path


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_prepare_recipe_makes_a_version_with_lineage_and_reruns(cli, adult, demo_csv):
    result = cli("recipes", "run", _write(adult, "clean.yaml", PREPARE), "--json")
    assert result.exit_code == 0, result.output
    version = json.loads(result.stdout)
    assert version["dataset"] == "adult_clean"
    assert version["parents"] == ["adult:1", "regions:1"]
    assert version["recipe"]["name"] == "adult_clean"
    assert version["source"] == "recipe:adult_clean"
    names = [c["name"] for c in version["columns"]]
    assert "gender" in names
    assert "fnlwgt" not in names
    assert {"age_decade", "marital_1", "region"} <= set(names)
    assert version["rows"] < 48_842  # duplicates and minors gone
    shown = json.loads(cli("datasets", "show", "adult_clean", "--json").stdout)
    workclass = next(p for p in shown["profile"] if p["name"] == "workclass")
    assert workclass["missing_pct"] == 0

    again = cli("recipes", "rerun", "adult_clean")
    assert "Same result as adult_clean:1" in again.stdout
    with gzip.open(demo_csv, "rt") as source:
        head = "".join(line for _, line in zip(range(301), source, strict=False))
    (adult / "head.csv").write_text(head)
    cli("datasets", "add", adult / "head.csv", "--name", "adult")
    rerun = json.loads(cli("recipes", "rerun", "adult_clean", "--json").stdout)
    assert rerun["version"] == 2
    assert rerun["parents"] == ["adult:2", "regions:1"]
    listed = json.loads(cli("recipes", "list", "--json").stdout)
    assert [r["name"] for r in listed] == ["adult_clean"]


def test_sql_recipe_reads_only_its_inputs(cli, adult):
    recipe = _write(
        adult,
        "by_sex.yaml",
        "name: by_sex\noutput: by_sex\ninputs: [adult]\n"
        "sql: SELECT sex, count(*) AS n, avg(age) AS mean_age FROM adult GROUP BY sex ORDER BY sex\n",
    )
    version = json.loads(cli("recipes", "run", recipe, "--json").stdout)
    assert version["rows"] == 2
    assert version["parents"] == ["adult:1"]
    escape = _write(
        adult,
        "escape.yaml",
        "name: escape\noutput: escape\ninputs: [adult]\nsql: SELECT * FROM read_csv('/etc/passwd')\n",
    )
    refused = cli("recipes", "run", escape)
    assert refused.exit_code == 1
    assert "file system operations are disabled" in refused.stderr


@pytest.mark.parametrize(
    ("step", "message"),
    [
        ("drop: [agee]", "Step 2 (drop) of recipe 'bad': unknown column 'agee'"),
        ('filter: "agee > 3"', "Step 2 (filter) of recipe 'bad': Binder Error: Referenced column \"agee\" not found"),
        ("cast: {workclass: INTEGER}", "values of column 'workclass' cannot become INTEGER, e.g. 'State-gov'"),
        ("parse_dates: {age: '%Y-%m-%d'}", "Step 2 (parse_dates) of recipe 'bad': 48,842 values of column 'age'"),
        ("join: {dataset: regions, on: [region]}", "unknown column 'region'"),
        ("union: {dataset: nowhere}", "Recipe 'bad' reads 'nowhere': No dataset named 'nowhere'"),
        ("aggregate: {by: [sex], aggregations: {n: 'sum(agee)'}}", "Step 2 (aggregate)"),
        ("sample: {fraction: 3}", "fraction must be in (0, 1]"),
        ('filter: "age > 1000"', "Recipe 'bad' produced no rows"),
        ("explode: [age]", "Step 2 of recipe 'bad' is not a step"),
    ],
)
def test_a_bad_step_names_step_and_column_and_writes_nothing(cli, adult, home, step, message):
    before = sorted(p for p in (home / "artifacts").rglob("*") if p.is_file())
    recipe = _write(
        adult, "bad.yaml", f"name: bad\noutput: bad_out\ninput: adult\nsteps:\n  - drop: [fnlwgt]\n  - {step}\n"
    )
    result = cli("recipes", "run", recipe)
    assert result.exit_code == 1, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output
    assert "bad_out" not in [d["name"] for d in json.loads(cli("datasets", "list", "--json").stdout)]
    assert sorted(p for p in (home / "artifacts").rglob("*") if p.is_file()) == before
    assert cli("recipes", "show", "bad").exit_code == 1


def test_every_step_kind_through_the_sdk(home, demo_csv, tmp_path):
    import conveyor as cv

    ws = cv.Workspace(home=home)
    ws.add_dataset(demo_csv, "adult")
    version = ws.run_recipe(
        {
            "name": "summary",
            "output": "summary",
            "input": "adult",
            "steps": [
                {"select": ["age", "sex", "education", "hours_per_week"]},
                {"sample": {"rows": 5000, "seed": 7}},
                {"union": {"dataset": "adult"}},
                {"derive": {"born": "2024 - age"}},
                {"aggregate": {"by": ["sex"], "aggregations": {"n": "count(*)", "hours": "avg(hours_per_week)"}}},
            ],
        }
    )
    assert version.rows == 2
    assert version.parents == ["adult:1"]
    frame = ws.load_dataset("summary")
    assert frame["n"].sum() == 48_842 + 5000
    report = ws.profile("adult", target="income")
    assert "Profile of adult:1" in report._repr_html_()


@pytest.mark.parametrize(
    ("command", "what"),
    [(("recipes", "run"), "Recipe file"), (("datasets", "expect", "adult", "--file"), "Expectations file")],
    ids=["recipe", "expectations"],
)
def test_missing_or_broken_yaml_files_are_named(cli, adult, command, what):
    missing = cli(*command, adult / "nowhere.yaml")
    assert missing.exit_code == 1
    assert f"{what} {adult / 'nowhere.yaml'} does not exist" in missing.stderr
    broken = _write(adult, "broken.yaml", "steps: [unclosed\n")
    result = cli(*command, broken)
    assert result.exit_code == 1
    assert "broken.yaml is not valid YAML" in result.stderr
