#!/usr/bin/env python3
"""Regenerates the code tables of docs/diagnostics.md from the codes in crates/schema/src
and crates/policy/src.

Everything above the first `## ` heading of the document is kept as written; the tables
below it list every code with its message (placeholders shown as `…`). A test
(`every_diagnostic_code_is_documented`) fails when a code is missing from the document.
"""
import glob
import os
import re

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SRCS = [os.path.join(ROOT, "crates/schema/src"), os.path.join(ROOT, "crates/policy/src")]
DOC = os.path.join(ROOT, "docs/diagnostics.md")
GROUPS = [
    ("E00", "Syntax (parser and lexer)"),
    ("E01", "Schema rules: configuration, names, types, attributes, defaults, keys"),
    ("E02", "Attribute arguments"),
    ("E03", "Relations"),
    ("E04", "ssot annotations"),
    ("E05", "Policy rules"),
    ("W", "Warnings"),
]


def message(text):
    text = text.replace("{{", "{").replace("}}", "}")
    text = re.sub(r"\{[a-z_.]*(:\?)?\}", "…", text)
    return text.replace("|", "\\|").replace('\\"', '"')


codes = {}
for path in sorted(p for src in SRCS for p in glob.glob(os.path.join(src, "**/*.rs"), recursive=True)):
    source = open(path, encoding="utf-8").read()
    for m in re.finditer(r'"([EW]\d{4})",\s*(?:format!\(\s*)?"((?:[^"\\]|\\.)*)"', source):
        codes.setdefault(m.group(1), m.group(2))

doc = open(DOC, encoding="utf-8").read()
intro = doc[: doc.index("\n## ") + 1] if "\n## " in doc else doc
out = [intro.rstrip("\n"), ""]
for prefix, title in GROUPS:
    out += [f"## {title}", "", "| code | message |", "|---|---|"]
    out += [f"| `{c}` | {message(codes[c])} |" for c in sorted(codes) if c.startswith(prefix)]
    out.append("")
open(DOC, "w", encoding="utf-8").write("\n".join(out))
print(f"{len(codes)} codes written to docs/diagnostics.md")
