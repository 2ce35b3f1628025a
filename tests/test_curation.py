"""What keeps curating honest beyond one record: warnings acknowledged in the data, records that vanish,
the coverage table, and suggestions that stay fast however many references are wrong."""

from __future__ import annotations

import random
import re
import subprocess
import time

from click.testing import CliRunner

from conftest import ROOT, copy_data
from pledgegraph.cli import main
from pledgegraph.stages.suggest import Suggester

README = ROOT / "data" / "README.md"
COVERAGE = re.compile(r"<!-- coverage:begin -->\n(.*?)<!-- coverage:end -->", re.S)
SUMMARY = re.compile(r"^(\d+) error\(s\), (\d+) warning\(s\)(?:; (\d+) acknowledged warning\(s\) not shown)?", re.M)


def run(*args, **env):
    return CliRunner().invoke(main, list(args), env=env or None)


def git(repo, *args):
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args], cwd=repo, check=True, capture_output=True
    )


# --- acknowledged warnings ------------------------------------------------------------------------


def test_shipped_data_has_no_unacknowledged_warning_and_all_shows_every_one(project, data_copy):
    plain = run("validate", "--data", str(data_copy))
    assert plain.exit_code == 0, plain.output
    errors, warnings, acknowledged = SUMMARY.search(plain.output).groups()
    assert (errors, warnings) == ("0", "0") and int(acknowledged) > 0
    every = run("validate", "--data", str(data_copy), "--all")
    shown = [line for line in every.output.splitlines() if ": warning: " in line]
    assert len(shown) == int(acknowledged) and SUMMARY.search(every.output).group(2) == acknowledged
    assert run("validate", "--data", str(data_copy), "--strict").exit_code == 0


def test_a_new_warning_is_shown_among_acknowledged_ones(project, data_copy):
    (data_copy / "zz-case.yaml").write_text(
        "statements:\n  - id: test-statement\n    kind: claim\n"
        "    summary: A test.\n    sources: [wikipedia-is-caucasus-province]\n"
    )
    result = run("validate", "--data", str(data_copy))
    warnings = [line for line in result.output.splitlines() if ": warning: " in line]
    assert warnings and all(line.startswith("data/zz-case.yaml:") for line in warnings), result.output
    assert run("validate", "--data", str(data_copy), "--strict").exit_code == 1


def test_an_acknowledgement_that_matches_nothing_is_pointed_out(project, data_copy):
    checks = data_copy / "checks.yaml"
    checks.write_text(
        checks.read_text() + "  - rule: person.sources\n    entity: no-such-person\n    because: a test\n"
    )
    result = run("validate", "--data", str(data_copy))
    assert result.exit_code == 0
    line = len(checks.read_text().splitlines()) - 2
    assert (
        f"data/checks.yaml:{line}:5: info: no-such-person: acknowledges a warning of 'no-such-person', which is "
        "not a record [acknowledged] (hint: remove it from checks.yaml)" in result.output.splitlines()
    )


def test_an_acknowledgement_without_a_reason_is_refused_at_its_line(project, data_copy):
    checks = data_copy / "checks.yaml"
    checks.write_text(checks.read_text() + "  - rule: person.sources\n    entity: vladimir-putin\n")
    result = run("validate", "--data", str(data_copy))
    line = len(checks.read_text().splitlines()) - 1
    assert result.exit_code == 2
    assert f"data/checks.yaml:{line}:5: error: an acknowledgement needs 'because'" in result.output


# --- records that disappear -----------------------------------------------------------------------


def _without_record(data_dir, file: str, rid: str) -> None:
    path = data_dir / file
    text = path.read_text(encoding="utf-8")
    start = text.index(f"  - id: {rid}\n")
    end = text.find("\n  - id: ", start + 1)
    path.write_text(text[:start] + (text[end + 1 :] if end != -1 else ""), encoding="utf-8")


def test_build_refuses_to_drop_records_of_the_current_build_unless_told(project, data_copy, tmp_path):
    out = tmp_path / "dist"
    assert run("build", "--data", str(data_copy), "--out", str(out)).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    victim = re.findall(r"^  - id: (\S+)$", (data_copy / "branches.yaml").read_text(), re.M)[-1]
    _without_record(data_copy, "branches.yaml", victim)
    refused = run("build", "--data", str(data_copy), "--out", str(out))
    assert refused.exit_code == 1
    assert f"'{victim}' is in the current build but not in the data [removed-record]" in refused.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    allowed = run("build", "--data", str(data_copy), "--out", str(out), "--allow-removals")
    assert allowed.exit_code == 0, allowed.output
    assert f"/{victim}>" not in (out / "asserted.nt").read_text()


def test_validate_names_records_removed_since_git_head(project, tmp_path):
    repo = tmp_path / "repo"
    copy_data(repo / "data")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "data")
    file = "branches.yaml"
    victims = re.findall(r"^  - id: (\S+)$", (repo / "data" / file).read_text(), re.M)[-2:]
    for victim in victims:
        _without_record(repo / "data", file, victim)
    result = run("validate", "--data", str(repo / "data"))
    for victim in victims:
        assert (
            f"data/{file}: warning: {victim}: record '{victim}' is in git HEAD but no longer in the data "
            "[removed-record]" in result.output
        ), result.output
    assert "; 2 record(s) removed since git HEAD;" in result.output.splitlines()[-1]


# --- coverage -------------------------------------------------------------------------------------


def test_coverage_command_prints_the_table_of_data_readme(project):
    result = run("coverage")
    assert result.exit_code == 0
    match = COVERAGE.search(README.read_text(encoding="utf-8"))
    assert match and result.output == match.group(1), (
        "data/README.md's coverage table is stale; replace it with:\n" + result.output
    )


# --- suggestions ----------------------------------------------------------------------------------


def _typos(ids: list[str], n: int, rng: random.Random) -> list[str]:
    out = set()
    while len(out) < n:
        word = list(rng.choice(ids))
        i = rng.randrange(len(word))
        word[i] = rng.choice("abcdefghijklmnopqrstuvwxyz")
        out.add("".join(word) + f"-x{rng.randrange(10**6)}")
    return sorted(out)


def test_five_thousand_dangling_references_are_reported_in_under_two_seconds(project, data_copy):
    ids = re.findall(r"^  - id: (\S+)$", "".join(p.read_text() for p in data_copy.glob("*.yaml")), re.M)
    wrong = _typos([i for i in ids if "-" in i], 5000, random.Random(7))
    (data_copy / "zz-case.yaml").write_text(
        "statements:\n  - id: test-statement\n    kind: claim\n    summary: A test.\n"
        "    about:\n" + "".join(f"      - {w}\n" for w in wrong) + "    sources: [wikipedia-is-caucasus-province]\n"
    )
    start, cpu = time.perf_counter(), time.process_time()
    result = run("validate", "--data", str(data_copy))
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert result.exit_code == 1
    assert result.output.splitlines()[-1].startswith("5000 error(s)")
    assert sum("(hint: did you mean '" in line for line in result.output.splitlines()) > 4000
    assert cpu < 2 and took < 10, f"{cpu:.2f}s CPU, {took:.2f}s wall"  # wall: the machine may be shared


def test_suggestions_cost_does_not_grow_with_the_number_of_ids():
    rng = random.Random(3)

    def vocabulary(n: int) -> list[str]:  # ids made of few common words: the hardest case for an index
        return [
            "-".join(
                rng.choice(
                    [
                        "islamic",
                        "state",
                        "vilayat",
                        "caucasus",
                        "emirate",
                        "dagestan",
                        "attack",
                        "pledge",
                        "leader",
                        "province",
                        "grozny",
                        "police",
                        str(rng.randrange(9999)),
                    ]
                )
                for _ in range(4)
            )
            for _ in range(n)
        ]

    seconds = {}
    for n in (2_000, 50_000):
        words = vocabulary(n)
        suggester = Suggester(words)
        queries = _typos(words, 2000, rng)
        start = time.perf_counter()
        hits = [suggester.closest(q) for q in queries]
        seconds[n] = time.perf_counter() - start
        assert sum(h is not None for h in hits) > 1500
    assert seconds[50_000] < 3 * seconds[2_000] + 0.2, seconds  # 25 times the ids, not 25 times the time
    assert Suggester(["islamic-state", "caucasus-emirate"]).closest("islamic-stat") == "islamic-state"
    assert Suggester(["islamic-state"]).closest("zzz") is None
