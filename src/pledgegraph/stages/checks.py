"""The curators' own settings for checking, kept with the data in `data/checks.yaml`:

    archives:                  # folders holding the sources' archived plain texts (relative to this file)
      - ../../shared/seeds
    acknowledged:              # warnings looked at and kept, each with the reason
      - rule: tenure.sources
        entities: [bortnikov-fsb-director, patrushev-security-council-chief]
        because: only the RFE/RL article states these tenures; no other archived source covers them

Quotes are checked against the archives on every `validate` and `build`. A warning that matches an
acknowledgement (its rule and record, and its value when one is given) is counted, not shown, so
the warnings a curator sees are new ones; `validate --all` shows them all.
"""

from __future__ import annotations

from pathlib import Path

from pledgegraph.errors import Position, Problem, UnusableInput, relative
from pledgegraph.model.records import CHECKS_FILE, Acknowledged, Checks
from pledgegraph.stages.yamlread import MDict, MList, YamlError, decode, read

_ACK_KEYS = {"rule", "entity", "entities", "value", "because"}


def read_checks(data_dir: Path) -> Checks:
    """`data_dir/checks.yaml`, or no settings when there is none."""
    path = data_dir / CHECKS_FILE
    if not path.exists():
        return Checks()
    name = relative(path, data_dir)
    try:
        tree = read(decode(path.read_bytes()))
    except YamlError as e:
        raise UnusableInput(
            f"cannot read {name}", [Problem(Position(name, e.line, e.column), str(e), rule="yaml", hint=e.hint)]
        ) from None
    except OSError as e:
        raise UnusableInput(f"cannot read {name}: {e.strerror}") from None
    problems: list[Problem] = []

    def bad(line_col, message: str, hint: str = "") -> None:
        problems.append(Problem(Position(name, *line_col), message, rule="checks", hint=hint))

    checks = Checks()
    if tree is None:
        return checks
    if not isinstance(tree, MDict):
        bad((1, 1), f"{CHECKS_FILE} is a mapping with `archives:` and `acknowledged:`")
        raise UnusableInput(f"cannot read {name}", problems)
    for key in tree:
        if key not in ("archives", "acknowledged"):
            bad(tree.key_pos[key], f"unknown key '{key}' in {CHECKS_FILE}", "keys: archives, acknowledged")
    archives = tree.get("archives")
    if archives is not None:
        if not isinstance(archives, MList) or not all(isinstance(a, str) for a in archives):
            bad(tree.value_pos["archives"], "archives is a list of folders")
        else:
            checks.archives = [path.parent / str(a) for a in archives]
    acks = tree.get("acknowledged")
    if acks is not None and not isinstance(acks, MList):
        bad(tree.value_pos["acknowledged"], "acknowledged is a list of {rule, entities, because}")
        acks = None
    for item, at in zip(acks or [], (acks.item_pos if acks else [])):
        if not isinstance(item, MDict):
            bad(at, "each acknowledgement is a mapping {rule, entities, because}")
            continue
        unknown = set(item) - _ACK_KEYS
        missing = [k for k in ("rule", "because") if not isinstance(item.get(k), str) or not item[k].strip()]
        entities = item.get("entities", [item["entity"]] if "entity" in item else None)
        if unknown:
            bad(at, f"unknown key(s) {', '.join(sorted(unknown))}", f"keys: {', '.join(sorted(_ACK_KEYS))}")
        elif missing:
            bad(
                at,
                f"an acknowledgement needs '{missing[0]}'",
                "say which rule it silences and why the warning is kept" if missing[0] == "because" else "",
            )
        elif not isinstance(entities, list) or not entities or not all(isinstance(e, str) for e in entities):
            bad(at, "an acknowledgement names its record(s): `entity: id` or `entities: [id, …]`")
        else:
            checks.acknowledged.append(
                Acknowledged(
                    str(item["rule"]),
                    frozenset(map(str, entities)),
                    str(item["because"]),
                    Position(name, *at),
                    str(item.get("value", "")),
                )
            )
    if problems:
        raise UnusableInput(f"{name} is not valid", problems)
    return checks
