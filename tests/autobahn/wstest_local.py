# -*- coding: utf-8 -*-
"""Run Autobahn|Testsuite's wstest with every listening socket on 127.0.0.1.

Python 2.7 only (run it with the interpreter of the venv made by install.sh).

    wstest_local.py WSTEST-ARGS...
        Same arguments as `wstest`. Every reactor.listenTCP / listenSSL /
        listenUDP call is forced to interface 127.0.0.1 (wstest binds to all
        interfaces otherwise), and the embedded web UI is disabled
        (`--webport 0`) unless a web port is given explicitly.

    wstest_local.py --list-cases SPEC.json
        Print, as JSON, the case ids wstest would run for the spec's
        "cases" / "exclude-cases" (resolved with wstest's own CaseSet code),
        plus the category names, for summarize.py.
"""
from __future__ import print_function

import json
import sys
import warnings

# cryptography warns about Python 2 on import; it is noise here.
warnings.filterwarnings("ignore", message=".*Python 2 is no longer supported.*")

LOOPBACK = "127.0.0.1"


def list_cases(spec_path):
    from autobahntestsuite.case import (Cases, CaseSetname, CaseBasename,
                                        CaseCategories, CaseSubCategories)
    from autobahntestsuite.caseset import CaseSet

    with open(spec_path) as f:
        spec = json.load(f)
    case_set = CaseSet(CaseSetname, CaseBasename, Cases, CaseCategories,
                       CaseSubCategories)
    ids = case_set.parseSpecCases(spec)
    unknown = [c for c in ids if c not in case_set.CasesIndices]
    if unknown:
        sys.stderr.write("unknown case ids in %s: %s\n" % (spec_path, ", ".join(unknown)))
        return 1
    json.dump({
        "spec": spec_path,
        "all_cases": len(Cases),
        "cases": ids,
        "categories": CaseCategories,
        "subcategories": CaseSubCategories,
    }, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")
    return 0


def force_loopback(reactor):
    """Wrap the reactor's listen methods so they only ever bind to loopback."""

    def wrap(name, interface_pos):
        original = getattr(reactor, name)

        def listen(*args, **kwargs):
            args = list(args)
            if len(args) > interface_pos:
                requested = args.pop(interface_pos)
            else:
                requested = kwargs.pop("interface", "")
            if requested != LOOPBACK:
                print("wstest_local: %s(port %r) interface %r -> %r"
                      % (name, args[0] if args else kwargs.get("port"),
                         requested, LOOPBACK))
            kwargs["interface"] = LOOPBACK
            return original(*args, **kwargs)

        setattr(reactor, name, listen)

    # listenTCP(port, factory, backlog=50, interface='')
    wrap("listenTCP", 3)
    # listenSSL(port, factory, contextFactory, backlog=50, interface='')
    wrap("listenSSL", 4)
    # listenUDP(port, protocol, interface='', maxPacketSize=8192)
    wrap("listenUDP", 2)


def has_webport(argv):
    for a in argv:
        if a == "-u" or a.startswith("--webport") or (a.startswith("-u") and a[2:].isdigit()):
            return True
    return False


def main(argv):
    if len(argv) >= 1 and argv[0] == "--list-cases":
        if len(argv) != 2:
            sys.stderr.write("usage: wstest_local.py --list-cases SPEC.json\n")
            return 2
        return list_cases(argv[1])

    # Importing wstest installs the epoll reactor (autobahntestsuite.choosereactor);
    # only then is the global reactor the one wstest will use.
    from autobahntestsuite import wstest
    from twisted.internet import reactor

    force_loopback(reactor)

    if not has_webport(argv):
        argv = argv + ["--webport", "0"]
    sys.argv = [sys.argv[0]] + argv
    wstest.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
