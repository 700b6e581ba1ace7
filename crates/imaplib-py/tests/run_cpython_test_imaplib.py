"""Runs CPython's own test_imaplib (the copy that ships with the running
Python) with imaplib_rs standing in for imaplib, and prints the counts.

Exit status 0 when every test passes or fails only as listed in
DELIBERATE (each with its reason), and every listed test really does
differ; 1 otherwise.
"""

import sys
import unittest

import imaplib_rs

# Tests that fail on purpose, with the reason. Keep this list short.
DELIBERATE = {
}


def main():
    sys.modules["imaplib"] = imaplib_rs
    from test import support
    try:
        from test import test_imaplib
    except Exception as exc:  # pragma: no cover - shown to the reader
        print(f"cannot import test.test_imaplib: {exc!r}")
        return 1
    # The network resource is what RemoteIMAP* tests need (a public server);
    # they are skipped without it, as in CPython's own runs.
    support.use_resources = ["network"] if "--network" in sys.argv else []
    assert test_imaplib.imaplib is imaplib_rs, "test_imaplib did not take imaplib_rs"
    suite = unittest.defaultTestLoader.loadTestsFromModule(test_imaplib)
    result = unittest.TextTestRunner(verbosity=1 if "-q" in sys.argv else 2).run(suite)
    failed = {}
    for test, trace in result.failures + result.errors:
        failed[test.id().split(".", 2)[-1]] = trace
    unexpected = {k: v for k, v in failed.items() if k not in DELIBERATE}
    unmet = sorted(k for k in DELIBERATE if k not in failed)
    print(f"test_imaplib with imaplib_rs: {result.testsRun} run, "
          f"{result.testsRun - len(failed) - len(result.skipped)} passed, "
          f"{len(failed)} failed ({len(failed) - len(unexpected)} deliberate), "
          f"{len(result.skipped)} skipped")
    for name in sorted(unexpected):
        print(f"UNEXPECTED FAILURE: {name}")
    for name in unmet:
        print(f"LISTED AS DELIBERATE BUT PASSED: {name}")
    return 1 if unexpected or unmet else 0


if __name__ == "__main__":
    sys.exit(main())
