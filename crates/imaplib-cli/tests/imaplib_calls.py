#!/usr/bin/env python3
"""Runs imaplib calls listed in a file and prints one JSON object per call,
in the format of `imap shell --json`, so that the two can be compared.

Usage: imaplib_calls.py CALLS_FILE COMMAND

COMMAND is a shell command speaking IMAP on stdin/stdout (IMAP4_stream).
Each line of CALLS_FILE is a method name and its arguments split with
shlex; the words None, True and False stand for those values and @PATH for
the bytes of a file. A name of an IMAP4 attribute prints its value.

Output, one line per call:
  {"typ": TYP, "data": [ITEM, ...]}        a (typ, data) result
  {"result": VALUE}                        any other result or attribute
  {"error": {"kind": KIND, "message": M}}  IMAP4.error / abort / readonly
where an ITEM is a str (UTF-8 bytes), {"base64": ...} (other bytes), a
two-element list (a (header, literal) tuple), a list, or null.
"""

import base64
import imaplib
import json
import shlex
import sys

ATTRIBUTES = {
    "PROTOCOL_VERSION",
    "capabilities",
    "debug",
    "host",
    "is_readonly",
    "port",
    "state",
    "tagpre",
    "untagged_responses",
    "utf8_enabled",
    "welcome",
}


def encode(b):
    if isinstance(b, str):
        return b
    b = bytes(b)
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(b).decode("ascii")}


def item(d):
    if d is None:
        return None
    if isinstance(d, tuple):
        return [encode(d[0]), encode(d[1])]
    if isinstance(d, list):
        return [item(x) for x in d]
    if isinstance(d, (bytes, bytearray, str)):
        return encode(d)
    if isinstance(d, (bool, int, float)):
        return d
    if isinstance(d, dict):
        return {k: [item(x) for x in v] for k, v in sorted(d.items())}
    return str(d)


def convert(word):
    if word == "None":
        return None
    if word == "True":
        return True
    if word == "False":
        return False
    if word.startswith("@") and len(word) > 1:
        with open(word[1:], "rb") as f:
            return f.read()
    return word


def main():
    calls_file, command = sys.argv[1], sys.argv[2]
    m = imaplib.IMAP4_stream(command)
    with open(calls_file, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line in lines:
        words = shlex.split(line, comments=True)
        if not words:
            continue
        name, args = words[0], [convert(w) for w in words[1:]]
        try:
            if name in ATTRIBUTES:
                out = {"result": item(getattr(m, name))}
            else:
                r = getattr(m, name)(*args)
                if isinstance(r, tuple) and len(r) == 2 and isinstance(r[0], str):
                    out = {"typ": r[0], "data": [item(d) for d in r[1]]}
                else:
                    out = {"result": item(r)}
        except m.readonly as e:
            out = {"error": {"kind": "readonly", "message": str(e)}}
        except m.abort as e:
            out = {"error": {"kind": "abort", "message": str(e)}}
        except m.error as e:
            out = {"error": {"kind": "error", "message": str(e)}}
        print(json.dumps(out, ensure_ascii=False, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
