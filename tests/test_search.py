"""Finding an entity by any of its names (issue 23): every name attested in data/ finds its entity,
hand-made misspellings and transliteration variants mostly do, and the CLI, the release's index and
its search script answer as documented."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT
from pledgegraph.delivery.search import INDEX_FILE, Index, key, skeleton
from pledgegraph.model import schema

BASE = "https://w3id.org/pledgegraph/"
VARIANTS = Path(__file__).parent / "search_variants.tsv"


def attested_names() -> list[tuple[str, str, str]]:
    """(name, kind, entity IRI) for every name and event label written in data/*.yaml."""
    found = []
    for path in sorted((ROOT / "data").glob("*.yaml")):
        for section, records in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            kind = schema.KIND_BY_KEY.get(section)
            if kind is None or not isinstance(records, list):
                continue
            for record in records:
                iri = f"{BASE}id/{kind.segment}/{record['id']}"
                found += [(n["name"], kind.name, iri) for n in record.get("names") or []]
                if isinstance(record.get("label"), str):
                    found.append((record["label"], kind.name, iri))
    return found


def shared(names) -> set[str]:
    """Names (as keys) attested for more than one entity: only the kind can tell those apart."""
    owners: dict[str, set[str]] = {}
    for name, _, iri in names:
        owners.setdefault(key(name), set()).add(iri)
    return {k for k, iris in owners.items() if len(iris) > 1}


def variants() -> list[tuple[str, str, str]]:
    rows = [
        line.rstrip("\n").split("\t")
        for line in VARIANTS.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return [(query, kind, f"{BASE}id/{expected}") for query, kind, expected in rows]


@pytest.fixture(scope="module")
def index(dist) -> Index:
    return Index.load(dist)


def test_every_attested_name_finds_its_entity_first(index):
    names = attested_names()
    ambiguous = shared(names)
    assert len(names) > 150 and any(not n.isascii() for n, _, _ in names)  # several scripts
    missed = []
    for name, kind, iri in names:
        hits = index.search(name, [kind]) if key(name) in ambiguous else index.search(name)
        if not hits or hits[0].entity.iri != iri or hits[0].score != 100:
            missed.append((name, iri, [(h.entity.iri, h.score) for h in hits[:2]]))
    assert not missed
    # a name two entities bear ("Dagestan": the republic and the province) goes first to the one
    # whose preferred name it is, and to the other with its kind
    assert ambiguous == {"dagestan"}
    assert index.search("Dagestan")[0].entity.iri == BASE + "id/place/dagestan"


def test_misspellings_and_other_scripts_mostly_find_the_entity(index):
    rows = variants()
    assert len(rows) >= 30
    right = [q for q, _, iri in rows if (hits := index.search(q)) and hits[0].entity.iri == iri]
    assert len(right) / len(rows) >= 0.9, sorted({q for q, _, _ in rows} - set(right))
    assert {q for q, _, _ in rows if not q.isascii()}  # Cyrillic and Arabic queries are in the table


def test_keys_fold_script_case_diacritics_and_punctuation():
    assert key("Нохчийчоь") == "nohcijco"  # Cyrillic by ICU; the soft sign is not a word break
    assert key("Jean-François  RATELLE") == "jean francois ratelle"
    assert key("ისლამური") == "islamuri"  # Georgian
    assert key("Իսլամական") == "islamakan"  # Armenian
    assert skeleton(key("Nokhchiycho")) == skeleton(key("Нохчийчоь")) == skeleton(key("Nokhchicho"))
    assert skeleton(key("al-Qadari")) == skeleton(key("Kadari"))


def test_hits_carry_the_matching_name_its_language_kind_and_description(index):
    hit = index.search("Вилаят Кавказ Исламского государства")[0]
    assert (hit.entity.iri, hit.name, hit.lang, hit.entity.kind) == (
        BASE + "id/org/is-caucasus-province",
        "Вилаят Кавказ Исламского государства",
        "ru",
        "organization",
    )
    kebekov = index.search("Kebekov")[0]
    assert kebekov.entity.label == "Aliaskhab Kebekov" and "theologian" in kebekov.entity.description
    assert index.search("Vilayat Kavkaz", lang="ru-Latn")[0].lang == "ru-latn"
    assert index.search("Vilayat Kavkaz Islamskogo Gosudarstva", lang="ru")[0].lang == "ru-latn"  # ru takes ru-Latn
    assert all(h.entity.kind == "place" for h in index.search("Dagestan", ["place"]))
    assert index.search("") == [] and index.search("zqxwv zqxwv") == []


def run_cli(*args, dist):
    return subprocess.run(
        [sys.executable, "-m", "pledgegraph", "search", *args, "--dist", str(dist)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def test_cli_search_table_json_kind_and_exit_codes(dist, tmp_path):
    table = run_cli("Асильдаров", dist=dist)
    assert table.returncode == 0
    assert table.stdout.splitlines()[1].split()[1:4] == ["person", "Rustam", "Asildarov"]
    found = run_cli("Dagestan", "--kind", "org", "--format", "json", dist=dist)
    hits = json.loads(found.stdout)
    assert found.returncode == 0 and hits[0]["iri"] == BASE + "id/org/vilayat-dagestan"
    assert set(hits[0]) == {"iri", "kind", "label", "description", "score", "name", "lang"}
    assert run_cli("zqxwv", dist=dist).returncode == 1
    missing = run_cli("Dagestan", dist=tmp_path)
    assert missing.returncode == 2 and "run `pledgegraph build`" in missing.stderr


def test_the_release_ships_the_index_and_a_search_script(release, dist):
    assert (release / INDEX_FILE).read_bytes() == (dist / INDEX_FILE).read_bytes()
    page = (release / "index.html").read_text()
    assert '<form id="search"' in page and '<script src="search.js" defer></script>' in page
    assert (release / "search.js").is_file()


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: the release's script is not run")
def test_the_release_script_finds_names_in_any_script(release):
    program = (
        "const {rank} = require(process.argv[1]);"
        "const index = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8'));"
        "console.log(JSON.stringify(['Kebekov', 'asilderov', 'ისლამური', 'Jean-Francois']"
        ".map((q) => rank(index, q, 1)[0].page)));"
    )
    out = subprocess.run(
        ["node", "-e", program, str(release / "search.js"), str(release / INDEX_FILE)],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(out.stdout) == [
        "person/aliaskhab-kebekov.html",
        "person/rustam-asildarov.html",
        "org/is-caucasus-province.html",
        "person/jean-francois-ratelle.html",
    ]
    for page in json.loads(out.stdout):  # the links resolve inside the release
        assert (release / page).is_file()
