"""Python's imaplib, measured like the other clients of the comparison
(or, with BENCH_IMAPLIB=imaplib_rs, the imaplib_rs package in its place).

Arguments: PORT CA_FILE|- USER PASSWORD UID(0|1) SET ITEMS REPS. Logs in,
selects INBOX, runs the FETCH once to warm up and then REPS times, timing
only the FETCH inside Python, and prints one RESULT line (times, literal
bytes and messages of the last FETCH, peak RSS from /proc/self/status).
"""

import importlib
import os
import sys
import time


imaplib = importlib.import_module(os.environ.get("BENCH_IMAPLIB", "imaplib"))


def peak_rss_kb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    port, ca, user, password, uid, msgset, items, reps = sys.argv[1:9]
    port, reps = int(port), int(reps)
    if ca == "-":
        m = imaplib.IMAP4("127.0.0.1", port)
    else:
        # Imported only here: a program on plain TCP loads `ssl` only if
        # its imaplib does (CPython's always imports it).
        import ssl

        ctx = ssl.create_default_context(cafile=ca)
        m = imaplib.IMAP4_SSL("127.0.0.1", port, ssl_context=ctx)
    m.login(user, password)
    m.select("INBOX")
    times = []
    nbytes = messages = 0
    for rep in range(reps + 1):
        t = time.perf_counter()
        if uid == "1":
            typ, data = m.uid("FETCH", msgset, items)
        else:
            typ, data = m.fetch(msgset, items)
        elapsed = time.perf_counter() - t
        assert typ == "OK", (typ, data[:1])
        nbytes = messages = 0
        for d in data:
            if isinstance(d, tuple):
                nbytes += len(d[1])
                messages += 1
            elif d and d[:1].isdigit():
                nbytes += len(d)
                messages += 1
        del data
        if rep > 0:
            times.append(elapsed)
    m.logout()
    print(
        "RESULT times=%s bytes=%d messages=%d hwm_kb=%d"
        % (",".join("%.6f" % t for t in times), nbytes, messages, peak_rss_kb())
    )


if __name__ == "__main__":
    main()
