"""Synthetic data in the real curated YAML format, for benchmarks only (never shipped as data).

Deterministic by seed: the same (orgs, seed) gives byte-identical files. One unit of size is an
organization; around each come the records curators write about such groups in the proportions of
the shipped data: multilingual names, branches, persons with tenures, pledges and their acceptances,
events with casualties, claims and attributions, estimates, relations, designations, statements,
and the sources all of them cite, mostly with quotes. Records are split into files of at most
FILE_RECORDS records per kind, as curators would split a growing dataset.

Every name, quote and date here is made up: the files exist to be measured, not read.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from pathlib import Path

FILE_RECORDS = 1000

# Organization units for about 2.4k, 10k, 100k, 1M and 10M triples (~475 triples per unit, measured before
# the time-true model; it grew them ~64%).
SIZES = {"tiny": 10, "10k": 21, "100k": 210, "1m": 2100, "10m": 21000}

# (latin, cyrillic, arabic) syllables: names are built from the same syllables in each script.
_SYLLABLES = [
    ("ab", "аб", "اب"),
    ("ul", "ул", "ول"),
    ("ra", "ра", "را"),
    ("ham", "хам", "هام"),
    ("mar", "мар", "مار"),
    ("sa", "са", "سا"),
    ("id", "ид", "يد"),
    ("kha", "ха", "خا"),
    ("lid", "лид", "ليد"),
    ("ru", "ру", "رو"),
    ("stam", "стам", "ستام"),
    ("ma", "ма", "ما"),
    ("gom", "гом", "غوم"),
    ("ed", "ед", "يد"),
    ("al", "ал", "ال"),
    ("bek", "бек", "بيك"),
    ("za", "за", "زا"),
    ("kar", "кар", "كار"),
    ("dag", "даг", "داغ"),
    ("nur", "нур", "نور"),
    ("tan", "тан", "تان"),
    ("is", "ис", "اس"),
    ("lam", "лам", "لام"),
    ("shi", "ши", "شي"),
]
_GROUP_WORDS = [
    ("jamaat", "джамаат", "جماعة"),
    ("vilayat", "вилайят", "ولاية"),
    ("brigade", "бригада", "كتيبة"),
    ("front", "фронт", "جبهة"),
]
_PUBLISHER_COUNT = 8

# The generated records that stand in for the shipped records the library queries name (their defaults and the
# competency questions' own IRIs): the first organization is a hub most pledges go to, as the Islamic State is;
# organizations 3, 6, 9... are branches (`branch` makes org 3i a branch of an earlier one). Without them the
# bench's library queries asked about records the bench data lacks and timed empty answers.
STAND_INS = {
    "org/islamic-state": "org/org-000000",
    "org/caucasus-emirate": "org/org-000001",
    "org/is-caucasus-province": "org/org-000003",
    "org/vilayat-dagestan": "org/org-000006",
    "org/vilayat-nokhchicho": "org/org-000009",
    "org/vilayat-galgaicho": "org/org-000012",
    "org/vilayat-kbk": "org/org-000015",
    "place/north-caucasus": "place/place-00000",
    "person/rustam-asildarov": "person/person-000000",
    "estimate/melikov-1500-north-caucasians-with-is": "estimate/estimate-000000",
    "pledge/caucasus-velayats-pledge-2015-06": "pledge/pledge-000000",
}


class _Names:
    """Deterministic multilingual names; a counter suffix keeps them distinct at any size."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def word(self) -> tuple[str, str, str]:
        parts = [self.rng.choice(_SYLLABLES) for _ in range(self.rng.randint(2, 3))]
        lat, cyr, ara = ("".join(p[i] for p in parts) for i in range(3))
        return lat.capitalize(), cyr.capitalize(), ara


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _date(rng: random.Random, start: int = 1995, end: int = 2023) -> str:
    year = rng.randint(start, end)
    form = rng.random()
    if form < 0.2:
        return f'"{year}"'
    if form < 0.45:
        return f'"{year}-{rng.randint(1, 12):02d}"'
    if form < 0.9:
        return f'"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"'
    if form < 0.95:
        return f'{{by: "{year}-{rng.randint(1, 12):02d}", as_stated: "by {year}"}}'
    return f'{{in: "{year}", part: {rng.choice(["early", "mid", "late"])}}}'


class Generator:
    def __init__(self, orgs: int, seed: int):
        self.rng = random.Random(seed)
        self.names = _Names(self.rng)
        self.n_orgs = max(orgs, _PUBLISHER_COUNT + 2)
        self.n_hubs = max(3, self.n_orgs // 200)
        self.files: dict[str, list[str]] = {}

    # -- helpers ---------------------------------------------------------------------------------

    def cite(self, indent: str, text: str) -> str:
        """A `sources:` block with one or two citations, each with the verbatim quote."""
        lines = [f"{indent}sources:"]
        cited = set()
        for _ in range(1 if self.rng.random() < 0.75 else 2):
            source = self.source_id()
            citation = [f"{indent}  - source: {source}", f"{indent}    quote: {_q(text[:280])}"]
            if self.rng.random() < 0.1:
                citation.append(f"{indent}    said_by: {self.person_id()}")
            if source not in cited:  # a source drawn twice is cited once: a list holds each citation once
                cited.add(source)
                lines += citation
        return "\n".join(lines)

    def source_id(self) -> str:
        return f"src-{self.rng.randrange(self.n_sources):06d}"

    def org_id(self, i: int | None = None) -> str:
        return f"org-{self.rng.randrange(self.n_orgs) if i is None else i:06d}"

    def person_id(self, i: int | None = None) -> str:
        return f"person-{self.rng.randrange(self.n_persons) if i is None else i:06d}"

    def place_id(self) -> str:
        return f"place-{self.rng.randrange(self.n_places):05d}"

    def pick(self, *choices: str) -> str:
        return self.rng.choice(choices)

    def names_block(self, indent: str, label: str, kinds: tuple[str, ...]) -> tuple[str, str]:
        lat, cyr, ara = self.names.word()
        en = f"{lat} {label}".strip()
        lines = [f"{indent}names:"]
        variants = [(en, "en", kinds[0]), (f"{cyr}", "ru", "transliteration"), (ara, "ar", kinds[-1])]
        if self.rng.random() < 0.3:
            variants.append((f"{lat}-{self.names.word()[0]}", "ar-Latn", "transliteration"))
        for name, lang, kind in variants[: 2 + (self.rng.random() < 0.7)] + variants[3:]:
            lines.append(f"{indent}  - name: {_q(name)}")
            lines.append(f"{indent}    lang: {lang}")
            lines.append(f"{indent}    kind: {kind}")
            lines.append(self.cite(indent + "    ", f"known as {name}, the source says"))
        return en, "\n".join(lines)

    def add(self, key: str, record: str) -> None:
        self.files.setdefault(key, []).append(record)

    # -- kinds -----------------------------------------------------------------------------------

    def generate(self) -> None:
        n = self.n_orgs
        self.n_sources = n // 2 + 5
        self.n_places = n // 10 + 20
        self.n_persons = n * 3 // 2
        self.n_pledges = n * 2
        self.n_tenures = self.n_persons
        for i in range(self.n_sources):
            self.source(i)
        for i in range(self.n_places):
            self.place(i)
        for i in range(n):
            self.organization(i)
        for i in range(self.n_persons):
            self.person(i)
        for i in range(self.n_tenures):
            self.tenure(i)
        for i in range(n // 3):
            self.branch(i)
        for i in range(self.n_pledges):
            self.pledge(i)
        for i in range(self.n_pledges // 4):
            self.acceptance(i)
        for i in range(n):
            self.event(i)
        for i in range(n // 5):
            self.estimate(i)
        for i in range(n // 4):
            self.relation(i)
        for i in range(n // 10):
            self.designation(i)
        for i in range(n // 8):
            self.statement(i)

    def source(self, i: int) -> None:
        r = self.rng
        lat = self.names.word()[0]
        lines = [
            f"  - id: src-{i:06d}",
            f"    title: {_q(f'{lat} and the groups of the region, part {i}')}",
            f"    publisher: org-{i % _PUBLISHER_COUNT:06d}",
            f"    kind: {self.pick('news-article', 'blog-post', 'report', 'analysis', 'academic-paper')}",
            f"    language: {self.pick('en', 'en', 'ru', 'ar')}",
        ]
        if r.random() < 0.6:
            lines.append(f"    date: {_date(r, 2005, 2024)}")
        if r.random() < 0.5:
            lines.append(f"    url: https://example.org/bench/{i}")
        self.add("sources", "\n".join(lines))

    def place(self, i: int) -> None:
        label, names = self.names_block("    ", "", ("common-name", "common-name"))
        lines = [f"  - id: place-{i:05d}", f"    kind: {self.pick('city', 'region', 'district', 'settlement')}", names]
        if i >= 20:
            lines.append(f"    within: place-{self.rng.randrange(20):05d}")
        lines.append(self.cite("    ", f"{label}, a place in the region"))
        self.add("places", "\n".join(lines))

    def organization(self, i: int) -> None:
        r = self.rng
        word = r.choice(_GROUP_WORDS)[0].capitalize()
        kind = (
            "media-outlet"
            if i < _PUBLISHER_COUNT
            else self.pick("militant-group", "jamaat", "province", "militant-group", "umbrella")
        )
        label, names = self.names_block("    ", word, ("official-name", "common-name"))
        lines = [f"  - id: org-{i:06d}", f"    kind: [{kind}]", names]
        if r.random() < 0.6:
            lines += [
                "    founded:",
                f"      - value: {_date(r, 1990, 2004)}",
                self.cite("        ", f"{label} was founded then, according to the report"),
            ]
        if r.random() < 0.7:
            lines.append(f"    regions: [{', '.join(sorted({self.place_id() for _ in range(r.randint(1, 3))}))}]")
        if r.random() < 0.4:
            lines.append(f"    ideology: [{self.pick('jihadism', 'salafi-jihadism', 'caliphate')}]")
        if r.random() < 0.3:
            lines.append(f"    based_in: {self.place_id()}")
        if r.random() < 0.5:
            lines.append(f"    description: {_q(f'An armed group known as {label}, reported active in the region.')}")
        lines.append(self.cite("    ", f"the group {label} announced its existence"))
        self.add("organizations", "\n".join(lines))

    def person(self, i: int) -> None:
        r = self.rng
        label, names = self.names_block("    ", self.names.word()[0], ("real-name", "kunya"))
        lines = [f"  - id: person-{i:06d}", names]
        if r.random() < 0.5:
            lines.append(f"    origin: {self.place_id()}")
        if r.random() < 0.3:
            lines.append(f"    description: [{_q(f'{label} is described as a field commander.')}]")
        if r.random() < 0.15:
            lines += [
                "    deaths:",
                f"      - date: {_date(r, 2024, 2025)}",  # after all they did
                f"        place: {self.place_id()}",
                f"        manner: {self.pick('killed', 'killed-in-security-operation', 'unknown')}",
                "        reported_by_label: security services",
                self.cite("        ", f"{label} was reported killed"),
            ]
        lines.append(self.cite("    ", f"{label} was named in the report"))
        self.add("persons", "\n".join(lines))

    def tenure(self, i: int) -> None:
        r = self.rng
        lines = [
            f"  - id: tenure-{i:06d}",
            f"    person: person-{i:06d}",
            f"    organization: {self.org_id()}",
            f"    role: {self.pick('leader', 'commander', 'spokesman', 'qadi', 'governor')}",
            f"    from: {_date(r, 2000, 2015)}",
        ]
        if r.random() < 0.4:
            lines.append(f"    until: {_date(r, 2016, 2023)}")
            lines += [
                "    end:",
                f"      - manner: {self.pick('killed', 'replaced', 'defected', 'unknown')}",
                self.cite("        ", "his tenure ended"),
            ]
        if r.random() < 0.2 and (predecessor := self.person_id()) != f"person-{i:06d}":  # never oneself
            lines.append(f"    predecessor: {predecessor}")
        lines.append(self.cite("    ", f"person {i} was appointed to lead the unit"))
        self.add("tenures", "\n".join(lines))

    def branch(self, i: int) -> None:
        r = self.rng
        child = max(1, i * 3 % self.n_orgs)
        parent = r.randrange(child)  # a lower number: branch chains never loop
        lines = [
            f"  - id: branch-{i:06d}",
            f"    branch: org-{child:06d}",
            f"    parent: org-{parent:06d}",
            f"    from: {_date(r, 2005, 2016)}",
        ]
        if r.random() < 0.3:
            lines.append(f"    until: {_date(r, 2017, 2023)}")
        lines.append(self.cite("    ", "the unit operates as a branch of the larger group"))
        self.add("branches", "\n".join(lines))

    def pledge(self, i: int) -> None:
        r = self.rng
        # Pledges go to one of a few central groups (as in the shipped data: the Islamic State, al-Qaeda,
        # the Caucasus Emirate), pledged to by units numbered after it. With any unit as the target, an
        # accepted pledge could put every unit under every other through chains, and the transitive
        # closure grew with the square of the size (312,000 pg:under pairs among 2,100 units).
        to = self.org_id(r.randrange(self.n_hubs))
        pledgers = sorted({self.org_id(r.randrange(int(to[4:]) + 1, self.n_orgs)) for _ in range(r.randint(1, 3))})
        lines = [f"  - id: pledge-{i:06d}", f"    pledgers: [{', '.join(pledgers)}]", f"    to: {to}"]
        if r.random() < 0.5:
            lines.append(f"    to_leader: {self.person_id()}")
        if r.random() < 0.2 and (renounced := self.org_id()) != to:
            lines.append(f"    renounces: {renounced}")
        lines.append(f"    date: {_date(r, 2010, 2021)}")
        lines.append(f"    medium: [{self.pick('audio', 'video', 'online-statement', 'social-media')}]")
        if r.random() < 0.5:
            lines.append(f"    description: {_q('A pledge of allegiance announced in a recorded statement.')}")
        lines.append(self.cite("    ", f"the fighters of {pledgers[0]} pledged allegiance to {to}"))
        self.add("pledges", "\n".join(lines))

    def acceptance(self, i: int) -> None:
        r = self.rng
        lines = [
            f"  - id: acceptance-{i:06d}",
            f"    accepts: [pledge-{i * 4:06d}]",
            f"    accepted_by: {self.person_id()}",
            f"    on_behalf_of: {self.org_id()}",
            f"    date: {_date(r, 2022, 2023)}",
            "    medium: [audio]",
        ]  # after any pledge
        if r.random() < 0.3:
            lines.append(f"    establishes: [{self.org_id()}]")
        if r.random() < 0.3:
            lines.append(f"    appoints: [tenure-{r.randrange(self.n_tenures):06d}]")
        lines.append(self.cite("    ", "the spokesman accepted the pledges"))
        self.add("acceptances", "\n".join(lines))

    def event(self, i: int) -> None:
        r = self.rng
        place = self.place_id()
        lines = [
            f"  - id: event-{i:06d}",
            f"    kind: [{self.pick('attack', 'bombing', 'shooting', 'clash')}]",
            f"    label: {_q(f'Attack {i} near {place}')}",
            f"    date: {_date(r, 2010, 2023)}",
            f"    places: [{place}]",
        ]
        if r.random() < 0.6:
            lines.append("    casualties:")
            for status in ("killed", "injured")[: r.randint(1, 2)]:
                lines += [
                    f"      - status: {status}",
                    f"        count: {r.randint(1, 40)}",
                    f"        bound: {self.pick('at-least', 'exactly', 'up-to')}",
                    f"        group: {self.pick('police officers', 'civilians', 'attackers')}",
                    self.cite("        ", f"{status} in the attack, officials said"),
                ]
        if r.random() < 0.4:
            lines += [
                "    claimed_by:",
                f"      - by: {self.org_id()}",
                "        medium: online-statement",
                self.cite("        ", "the group claimed responsibility"),
            ]
        if r.random() < 0.3:
            lines += [
                "    attributed_to:",
                f"      - to: {self.org_id()}",
                "        by_label: investigators",
                self.cite("        ", "investigators blamed the group"),
            ]
        if r.random() < 0.05:
            lines += [
                "    disputes:",
                "      - by_label: local residents",
                "        alternative: a gas explosion",
                self.cite("        ", "residents said it was a gas explosion"),
            ]
        if r.random() < 0.3:
            lines.append(f"    participants: [{self.org_id()}]")
        lines.append(self.cite("    ", f"an attack took place near {place}"))
        self.add("events", "\n".join(lines))

    def estimate(self, i: int) -> None:
        r = self.rng
        lines = [
            f"  - id: estimate-{i:06d}",
            "    quantity: fighters-abroad",
            f"    population: {_q('militants from the region')}",
            f"    origin: {self.place_id()}",
            f"    value: {r.randint(10, 3000)}",
            f"    bound: {self.pick('over', 'up-to', 'approximately')}",
            f"    estimated_by: {self.person_id()}",
            f"    date: {_date(r, 2012, 2023)}",
        ]
        lines.append(self.cite("    ", "officials estimated the number of fighters"))
        self.add("estimates", "\n".join(lines))

    def relation(self, i: int) -> None:
        subject, other = self.org_id(), self.org_id()
        if other == subject:  # a relation is between two organizations
            other = f"org-{(int(subject[4:]) + 1) % self.n_orgs:06d}"
        lines = [
            f"  - id: relation-{i:06d}",
            f"    subject: {subject}",
            f"    kind: {self.pick('affiliate-of', 'rival-of', 'supports')}",
            f"    object: {other}",
            f"    from: {_date(self.rng, 2005, 2020)}",
        ]
        lines.append(self.cite("    ", "the two groups were reported to cooperate"))
        self.add("relations", "\n".join(lines))

    def designation(self, i: int) -> None:
        designated, by = self.org_id(), f"org-{self.rng.randrange(_PUBLISHER_COUNT):06d}"
        if designated == by:  # no body designates itself
            designated = f"org-{_PUBLISHER_COUNT:06d}"
        lines = [
            f"  - id: designation-{i:06d}",
            f"    designated: {designated}",
            f"    by: {by}",
            "    designation: terrorist-organization",
            f"    date: {_date(self.rng, 2005, 2023)}",
        ]
        lines.append(self.cite("    ", "the group was designated a terrorist organization"))
        self.add("designations", "\n".join(lines))

    def statement(self, i: int) -> None:
        lines = [
            f"  - id: statement-{i:06d}",
            f"    by: [{self.person_id()}]",
            f"    kind: {self.pick('warning', 'denial', 'claim', 'condemnation')}",
            f"    date: {_date(self.rng, 2010, 2023)}",
            f"    about: [{self.org_id()}]",
            f"    summary: {_q('The official warned of further attacks.')}",
        ]
        lines.append(self.cite("    ", "the official warned of further attacks"))
        self.add("statements", "\n".join(lines))

    # -- output ----------------------------------------------------------------------------------

    def write(self, out: Path) -> list[Path]:
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        written = [out / "dataset.yaml"]
        written[0].write_text(
            "dataset:\n  title: pledgegraph benchmark data (synthetic)\n  version: 0.0.0-bench\n"
            "  license: https://creativecommons.org/licenses/by/4.0/\n  modified: 2026-01-01\n",
            encoding="utf-8",
        )
        for key, records in self.files.items():
            for n, start in enumerate(range(0, len(records), FILE_RECORDS), start=1):
                path = out / f"{key}-{n:03d}.yaml"
                path.write_text(
                    f"{key}:\n" + "\n\n".join(records[start : start + FILE_RECORDS]) + "\n", encoding="utf-8"
                )
                written.append(path)
        return written


def generate(out: Path, orgs: int, seed: int = 1) -> list[Path]:
    """Write a synthetic dataset of `orgs` organization units to `out` (replacing it)."""
    g = Generator(orgs, seed)
    g.generate()
    return g.write(Path(out))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--orgs", type=int, default=SIZES["10k"], help="size, in organization units")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    files = generate(a.out, a.orgs, a.seed)
    print(f"wrote {len(files)} files to {a.out}")


if __name__ == "__main__":
    main()
