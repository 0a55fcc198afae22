#!/usr/bin/env python3
"""Summarise Autobahn|Testsuite reports and check them strictly.

    summarize.py [--agent NAME] [--markdown-out FILE] ROLE_DIR...

Each ROLE_DIR (target/autobahn/client, target/autobahn/server) holds wstest's
index.json and the expected-cases.json written by run.sh (the case ids wstest
resolves from the spec, via `wstest_local.py --list-cases`).

Prints, per role, markdown tables of behavior / behaviorClose counts per case
group (first level "6" and second level "6.4"), the failing and missing cases,
and a final line per role. A case passes only if both `behavior` and
`behaviorClose` are OK or INFORMATIONAL; a case in the expected list that is
absent from the report fails too. In particular UNIMPLEMENTED, which wstest
reports for a 12.* or 13.* case when the testee did not agree on
permessage-deflate, fails. Exit status 1 if any case fails, 0 otherwise.
"""

import argparse
import json
import os
import sys
from collections import Counter, OrderedDict

PASSING = ("OK", "INFORMATIONAL")
# Display order; anything else wstest reports is appended alphabetically.
BEHAVIOR_ORDER = ["OK", "INFORMATIONAL", "NON-STRICT", "UNIMPLEMENTED", "WRONG CODE",
                  "UNCLEAN", "FAILED BY CLIENT", "NO_CLOSE", "FAILED"]

ROLE_TITLES = {
    "client": "client role: wstest -m fuzzingclient against the wscore echo_server",
    "server": "server role: wscore autobahn_client against wstest -m fuzzingserver",
}


def id_key(case_id):
    return tuple(int(x) for x in case_id.split("."))


def group1(case_id):
    return case_id.split(".")[0]


def group2(case_id):
    # "6.4.1" -> "6.4"; two-part ids ("2.3") have no second level: "2".
    parts = case_id.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else parts[0]


def fmt_counts(counter):
    names = [b for b in BEHAVIOR_ORDER if counter.get(b)]
    names += sorted(b for b in counter if b not in BEHAVIOR_ORDER)
    return ", ".join("%d %s" % (counter[b], b) for b in names) or "-"


def describe(text, limit=70):
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def passes(result):
    return result.get("behavior") in PASSING and result.get("behaviorClose") in PASSING


class Role:
    def __init__(self, directory, agent):
        self.dir = directory
        self.name = os.path.basename(os.path.normpath(directory))
        self.problems = []  # run-level problems (no report, unknown agent...)

        with open(os.path.join(directory, "expected-cases.json")) as f:
            expected = json.load(f)
        self.expected = list(expected["cases"])
        self.categories = dict(expected.get("categories", {}))
        self.categories.update(expected.get("subcategories", {}))

        self.results = {}
        index_path = os.path.join(directory, "index.json")
        if not os.path.exists(index_path):
            self.problems.append("no report (%s missing): wstest produced nothing" % index_path)
            return
        with open(index_path) as f:
            index = json.load(f)
        if agent in index:
            self.results = index[agent]
        else:
            self.problems.append("agent %r not in report (agents: %s)"
                                 % (agent, ", ".join(sorted(index)) or "none"))
        others = sorted(a for a in index if a != agent)
        if others and agent in index:
            self.problems.append("report also has other agents, ignored: %s" % ", ".join(others))

    def analyse(self):
        expected = set(self.expected)
        self.missing = [c for c in self.expected if c not in self.results]
        self.unexpected = sorted((c for c in self.results if c not in expected), key=id_key)
        self.failing = [c for c in self.expected
                        if c in self.results and not passes(self.results[c])]
        self.passing = [c for c in self.expected
                        if c in self.results and passes(self.results[c])]
        self.ok = not (self.missing or self.failing or
                       any(p.startswith(("no report", "agent")) for p in self.problems))

    def table(self, grouper, heading):
        groups = OrderedDict()
        for c in sorted(self.expected, key=id_key):
            groups.setdefault(grouper(c), []).append(c)
        lines = [
            "| %s | Description | Cases | behavior | behaviorClose | Missing | Result |" % heading,
            "|---|---|---:|---|---|---:|---|",
        ]
        for g, cases in groups.items():
            reported = [self.results[c] for c in cases if c in self.results]
            behavior = Counter(r.get("behavior") for r in reported)
            close = Counter(r.get("behaviorClose") for r in reported)
            missing = len(cases) - len(reported)
            good = missing == 0 and all(passes(r) for r in reported)
            lines.append("| %s | %s | %d | %s | %s | %d | %s |" % (
                g, describe(self.categories.get(g, "")), len(cases), fmt_counts(behavior),
                fmt_counts(close), missing, "pass" if good else "**FAIL**"))
        return lines

    def report(self):
        out = ["### %s" % ROLE_TITLES.get(self.name, self.name + " role"), ""]
        for p in self.problems:
            out += ["> %s" % p, ""]
        if not self.expected:
            out += ["(no cases selected)", ""]
        else:
            out += self.table(group1, "Group") + [""]
            out += self.table(group2, "Subgroup") + [""]
        if self.failing:
            out.append("Failing cases:")
            out.append("")
            for c in self.failing:
                r = self.results[c]
                out.append("- %s: behavior=%s behaviorClose=%s remoteCloseCode=%s (%s)" % (
                    c, r.get("behavior"), r.get("behaviorClose"), r.get("remoteCloseCode"),
                    os.path.join(self.dir, r.get("reportfile", "?"))))
            out.append("")
        if self.missing:
            out.append("Missing from the report (%d): %s" % (len(self.missing), compress(self.missing)))
            out.append("")
        if self.unexpected:
            out.append("Not expected but reported (ignored): %s" % compress(self.unexpected))
            out.append("")
        return out

    def final_line(self):
        return ("%s role: %d cases, %d OK/INFORMATIONAL, %d failing (%d missing)"
                % (self.name, len(self.expected), len(self.passing),
                   len(self.failing) + len(self.missing), len(self.missing)))


def compress(ids):
    """'1.1.1 1.1.2 1.1.3 2.1' -> '1.1.1-1.1.3, 2.1' for readable listings."""
    ids = sorted(ids, key=id_key)
    runs, start, prev = [], None, None
    for c in ids:
        t = id_key(c)
        if prev is not None and t[:-1] == prev[:-1] and t[-1] == prev[-1] + 1:
            prev = t
            continue
        if start is not None:
            runs.append((start, prev))
        start = prev = t
    if start is not None:
        runs.append((start, prev))
    fmt = lambda t: ".".join(map(str, t))
    return ", ".join(fmt(a) if a == b else "%s-%s" % (fmt(a), fmt(b)) for a, b in runs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--agent", default="wscore")
    ap.add_argument("--markdown-out", help="also write the summary to this file")
    ap.add_argument("dirs", nargs="+", metavar="ROLE_DIR")
    args = ap.parse_args()

    roles = [Role(d, args.agent) for d in args.dirs]
    for r in roles:
        r.analyse()

    lines = ["## Autobahn|Testsuite results", ""]
    for r in roles:
        lines += r.report()
    lines += [r.final_line() for r in roles]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    if args.markdown_out:
        with open(args.markdown_out, "w") as f:
            f.write(text)
    return 0 if all(r.ok for r in roles) else 1


if __name__ == "__main__":
    sys.exit(main())
