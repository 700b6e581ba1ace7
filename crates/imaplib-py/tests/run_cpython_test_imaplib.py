"""Runs CPython's own test_imaplib (the copy that ships with the running
Python) with imaplib_rs standing in for imaplib, and prints the counts.

Two deliberate kinds of difference are allowed, and both are checked:

* the tests named in DELIBERATE, each with its reason, must fail;
* a test that fails only because imaplib_rs verifies certificates by
  default (imaplib verifies nothing) is run again with the module's
  default context swapped for imaplib's own (unverified) one, and must
  pass then.

Exit status 0 when that holds, 1 otherwise. ``-q`` prints less.
"""

import sys
import unittest

import imaplib_rs

# Tests that fail on purpose, with the reason. Keep this list short.
DELIBERATE = {
    "NewIMAPTests.test_enable_UTF8_True_append":
        "imaplib sends 'UTF8 (' and ')' inside the APPEND literal; RFC 6855 "
        "puts them around a literal8, as imaplib_rs sends them",
    "NewIMAPSSLTests.test_enable_UTF8_True_append": "as NewIMAPTests",
    "ThreadedNetworkedTests.test_enable_UTF8_True_append": "as NewIMAPTests",
    "ThreadedNetworkedTestsSSL.test_enable_UTF8_True_append": "as NewIMAPTests",
    "NewIMAPTests.test_line_termination":
        "a line ended by a bare LF is accepted, as real servers send them; "
        "imaplib aborts the connection",
    "NewIMAPSSLTests.test_line_termination": "as NewIMAPTests",
    "ThreadedNetworkedTests.test_line_termination": "as NewIMAPTests",
    "ThreadedNetworkedTestsSSL.test_line_termination": "as NewIMAPTests",
}

VERIFY_FAILED = "CERTIFICATE_VERIFY_FAILED"


def short(test):
    return test.id().split(".", 2)[-1]


def run(tests, verbosity):
    suite = unittest.TestSuite(tests)
    result = unittest.TextTestRunner(verbosity=verbosity).run(suite)
    failed = {short(t): trace for t, trace in result.failures + result.errors}
    return result, failed


def flatten(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from flatten(item)
        else:
            yield item


def main():
    sys.modules["imaplib"] = imaplib_rs
    from test import support
    # The test servers print every line they exchange when verbose (read
    # by test_imaplib when it is imported).
    support.verbose = "-v" in sys.argv
    try:
        from test import test_imaplib
    except Exception as exc:  # shown to the reader
        print(f"cannot import test.test_imaplib: {exc!r}")
        return 1
    # The network resource is what RemoteIMAP* tests need (a public server);
    # they are skipped without it, as in CPython's own runs.
    support.use_resources = ["network"] if "--network" in sys.argv else []
    assert test_imaplib.imaplib is imaplib_rs, "test_imaplib did not take imaplib_rs"
    verbosity = 1 if "-q" in sys.argv else 2
    tests = list(flatten(unittest.defaultTestLoader.loadTestsFromModule(test_imaplib)))
    result, failed = run(tests, verbosity)

    # Second run: the tests refused only by certificate verification, with
    # imaplib's own default context.
    verify = sorted(k for k, v in failed.items()
                    if VERIFY_FAILED in v and k not in DELIBERATE)
    second = {}
    if verify:
        import ssl
        imaplib_rs._default_ssl_context = ssl._create_stdlib_context
        try:
            again = [t for t in tests if short(t) in verify]
            _, second = run(again, verbosity)
        finally:
            del imaplib_rs._default_ssl_context
    unexpected = {k: v for k, v in failed.items()
                  if k not in DELIBERATE and k not in verify}
    unexpected.update(second)
    unmet = sorted(k for k in DELIBERATE if k not in failed)
    skipped = len(result.skipped)
    deliberate = sum(1 for k in failed if k in DELIBERATE)
    print(f"test_imaplib with imaplib_rs: {result.testsRun} run: "
          f"{result.testsRun - len(failed) - skipped} passed, {skipped} skipped, "
          f"{deliberate} fail deliberately, {len(verify)} refused only by "
          f"certificate verification ({len(verify) - len(second)} of them pass "
          f"with imaplib's unverified default), {len(unexpected)} unexpected "
          f"failures")
    for name in sorted(DELIBERATE):
        if name in failed:
            print(f"deliberate: {name}: {DELIBERATE[name]}")
    for name in sorted(unexpected):
        print(f"UNEXPECTED FAILURE: {name}")
    for name in unmet:
        print(f"LISTED AS DELIBERATE BUT PASSED: {name}")
    return 1 if unexpected or unmet else 0


if __name__ == "__main__":
    sys.exit(main())
