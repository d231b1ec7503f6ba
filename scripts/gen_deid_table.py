#!/usr/bin/env python3
"""Generate host-trainer/crates/mask/src/deid_table.rs.

The table is PS3.15 Annex E, Table E.1-1 (Basic Application Level
Confidentiality Profile), read from the machine-readable copy of the DICOM
standard kept by innolitics/dicom-standard:

    repository: https://github.com/innolitics/dicom-standard
    file:       standard/confidentiality_profile_attributes.json
    commit:     7f4749d09ed3ef2fa70637d376d423a4b13523cd (2025-01-28; 621 rows)

That JSON is not kept in this repository; fetch it and pass its path:

    git clone https://github.com/innolitics/dicom-standard
    git -C dicom-standard show 7f4749d:standard/confidentiality_profile_attributes.json \\
        > confidentiality_profile_attributes.json
    python3 scripts/gen_deid_table.py confidentiality_profile_attributes.json \\
        host-trainer/crates/mask/src/deid_table.rs

The output is already laid out as `rustfmt --edition 2024` (default
settings) lays it out, so it needs no formatting pass. The rows whose tag is
not a plain (gggg,eeee) -- the curve data (50xx,xxxx) and overlay
(60xx,3000 / 60xx,4000) wildcards and the private-attribute row -- are left
out: deid.rs handles them in code. For a newer table pass --commit and
--date so the header names its source. Python 3.11, standard library only.
"""

import argparse
import json
import re
import sys

SOURCE_REPO = "innolitics/dicom-standard"
SOURCE_PATH = "standard/confidentiality_profile_attributes.json"
SOURCE_COMMIT = "7f4749d"
SOURCE_DATE = "January 2025"

# Table E.1-1 action code -> deid::BasicAction variant.
ACTIONS = {
    "X": "Remove",
    "D": "Dummy",
    "Z": "Empty",
    "U": "Uid",
    "X/D": "RemoveOrDummy",
    "X/Z": "RemoveOrEmpty",
    "Z/D": "EmptyOrDummy",
    "X/Z/D": "RemoveOrEmptyOrDummy",
    "X/Z/U*": "RemoveOrEmptyOrUid",
}

# The wildcard rows deid.rs handles in code (by their tag in the JSON).
HANDLED_IN_CODE = {
    "(50XX,XXXX)",
    "(60XX,3000)",
    "(60XX,4000)",
    "(GGGG,EEEE) WHERE GGGG IS ODD",
}

TAG = re.compile(r"\(([0-9A-F]{4}),([0-9A-F]{4})\)")

# rustfmt's fn_call_width (60% of max_width 100): a tuple whose items take
# more than this on one line is written one item per line.
FN_CALL_WIDTH = 60

HEADER = """\
//! PS3.15 Annex E, Table E.1-1: the attributes of the Basic Application
//! Level Confidentiality Profile and the action it takes on each.
//!
//! Generated from the machine-readable table of the DICOM standard kept by
//! {repo} (`{path}`,
//! commit {commit}, {date}; {rows} rows); the three wildcard rows
//! (curve data 50xx,xxxx, overlay data and comments 60xx,3000/4000) and the
//! private-attribute row are handled in code by [`super::deid`]. Sorted by
//! tag for binary search. Do not edit by hand: regenerate with
//! `scripts/gen_deid_table.py` from a newer table instead.

use super::deid::BasicAction::{{self, *}};

/// `(group, element, action, attribute name)`, sorted by `(group, element)`.
pub const BASIC_PROFILE: &[(u16, u16, BasicAction, &str)] = &[
"""


def rust_str(s: str) -> str:
    """A Rust string literal for `s`, escaped as Rust's `escape_debug` does.

    Names are kept as the JSON has them: (0088,0200) is
    "Icon Image Sequence\\n\\n(see Note 11)".
    """
    simple = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\0": "\\0"}
    out = "".join(
        simple.get(c) or (c if c.isprintable() else f"\\u{{{ord(c):x}}}") for c in s
    )
    return f'"{out}"'


def generate(rows: list[dict], commit: str, date: str) -> str:
    entries = []
    for row in rows:
        tag = row["tag"].strip()
        if tag in HANDLED_IN_CODE:
            continue
        m = TAG.fullmatch(tag)
        if not m:
            sys.exit(f"unexpected tag {tag!r} ({row.get('name')!r}): handle it in deid.rs")
        code = row["basicProfile"].strip()
        if code not in ACTIONS:
            sys.exit(f"unknown action {code!r} for {tag} ({row['name']!r}): extend BasicAction")
        group, element = int(m[1], 16), int(m[2], 16)
        entries.append((group, element, ACTIONS[code], row["name"]))
    entries.sort(key=lambda e: (e[0], e[1]))
    for a, b in zip(entries, entries[1:]):
        if (a[0], a[1]) == (b[0], b[1]):
            sys.exit(f"duplicate tag ({a[0]:04X},{a[1]:04X})")

    out = [HEADER.format(repo=SOURCE_REPO, path=SOURCE_PATH, commit=commit, date=date,
                         rows=len(rows))]
    for group, element, action, name in entries:
        items = [f"0x{group:04X}", f"0x{element:04X}", action, rust_str(name)]
        one_line = ", ".join(items)
        if len(one_line) <= FN_CALL_WIDTH:
            out.append(f"    ({one_line}),\n")
        else:
            out.append("    (\n" + "".join(f"        {i},\n" for i in items) + "    ),\n")
    out.append("];\n")
    return "".join(out)


def main() -> None:
    p = argparse.ArgumentParser(
        description="Write deid_table.rs (PS3.15 Table E.1-1, Basic Profile) from "
        f"{SOURCE_REPO}'s {SOURCE_PATH} (commit {SOURCE_COMMIT}, {SOURCE_DATE}).",
        epilog="example: python3 scripts/gen_deid_table.py "
        "confidentiality_profile_attributes.json "
        "host-trainer/crates/mask/src/deid_table.rs",
    )
    p.add_argument("json", help=f"{SOURCE_PATH} from {SOURCE_REPO} at commit {SOURCE_COMMIT}")
    p.add_argument("output", nargs="?", help="the .rs file to write (default: stdout)")
    p.add_argument("--commit", default=SOURCE_COMMIT,
                   help=f"source commit named in the header (default: {SOURCE_COMMIT})")
    p.add_argument("--date", default=SOURCE_DATE,
                   help=f"source date named in the header (default: {SOURCE_DATE})")
    args = p.parse_args()

    with open(args.json, encoding="utf-8") as f:
        rows = json.load(f)
    text = generate(rows, args.commit, args.date)
    if args.output:
        with open(args.output, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
