"""Mutations of valid inputs, for bench/fuzz_campaign.py: each takes the bytes of a file (or a
SQLite export on disk) and a seeded random generator and returns a damaged variant, the kinds
of damage files really get (cut, flipped, spliced) and the values a reader must not trust
(numbers out of range, NaN and infinities, wrong JSON types, control characters in names)."""

from __future__ import annotations

import json
import random
import re
import sqlite3
import struct
from pathlib import Path

EXTREME_NUMBERS = [
    b"0", b"-1", b"-0", b"1", b"NaN", b"nan", b"Infinity", b"-Infinity", b"inf", b"-inf",
    b"1e308", b"1e-308", b"4294967295", b"4294967296", b"9223372036854775807",
    b"9223372036854775808", b"18446744073709551615", b"18446744073709551616",
    b"12345678901234567890123456", b"9" * 400, b"0x7fffffff", b"1.5", b"-99999999999", b"",
]
HOSTILE = ["\x1b]0;pwned\x07", "\x1b[2J\x1b[31m", "\u202e", "\u2066", "\x00", "\n", "\r",
           "\x9b31m", "\\", '"', "\t", "é" * 3, "<img src=x onerror=alert(1)>", "x" * 5000]
JSON_VALUES = [None, [], {}, "x", -1, 0, 2 ** 64, -(2 ** 63) - 1, float("nan"), float("inf"),
               True, 1e308, "\x1b[31m", [1, 2], {"a": None}]
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?")


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def flip_bytes(data: bytes, r: random.Random) -> bytes:
    if not data:
        return b"\x00"
    b = bytearray(data)
    for _ in range(r.randint(1, 8)):
        b[r.randrange(len(b))] ^= r.randrange(1, 256)
    return bytes(b)


def truncate(data: bytes, r: random.Random) -> bytes:
    return data[: r.randrange(len(data) + 1)]


def delete_lines(data: bytes, r: random.Random) -> bytes:
    ls = _lines(data)
    i = r.randrange(len(ls))
    del ls[i: i + r.choice([1, 1, 1, 3, 20])]
    return b"\n".join(ls)


def duplicate_lines(data: bytes, r: random.Random) -> bytes:
    ls = _lines(data)
    i = r.randrange(len(ls))
    block = ls[i: i + r.choice([1, 2, 10])]
    j = r.randrange(len(ls) + 1)
    return b"\n".join(ls[:j] + block * r.choice([1, 2, 50]) + ls[j:])


def swap_lines(data: bytes, r: random.Random) -> bytes:
    ls = _lines(data)
    if len(ls) > 1:
        i, j = r.randrange(len(ls)), r.randrange(len(ls))
        ls[i], ls[j] = ls[j], ls[i]
    return b"\n".join(ls)


def extreme_number(data: bytes, r: random.Random) -> bytes:
    """Some numbers replaced by values no writer makes."""
    found = list(_NUMBER.finditer(data))
    if not found:
        return data + r.choice(EXTREME_NUMBERS)
    out = data
    for m in sorted(r.sample(found, min(len(found), r.choice([1, 1, 2, 5, 50]))),
                    key=lambda m: -m.start()):
        out = out[: m.start()] + r.choice(EXTREME_NUMBERS) + out[m.end():]
    return out


def hostile_text(data: bytes, r: random.Random) -> bytes:
    """Control and bidi characters, markup, quotes or a long run inserted somewhere."""
    i = r.randrange(len(data) + 1)
    return data[:i] + r.choice(HOSTILE).encode("utf-8", "surrogatepass") + data[i:]


def splice(data: bytes, other: bytes, r: random.Random) -> bytes:
    """Lines of another file of the same kind in the middle of this one."""
    a, b = _lines(data), _lines(other)
    i, j = r.randrange(len(b)), r.randrange(len(a) + 1)
    return b"\n".join(a[:j] + b[i: i + r.randint(1, 30)] + a[j:])


def json_line_value(data: bytes, r: random.Random) -> bytes:
    """One JSON line with a key deleted, or a value of another type (NaN and Infinity too)."""
    ls = _lines(data)
    idx = [i for i, ln in enumerate(ls) if ln.strip().startswith(b"{")]
    if not idx:
        return extreme_number(data, r)
    for i in r.sample(idx, min(len(idx), r.choice([1, 1, 3]))):
        try:
            d = json.loads(ls[i])
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue
        if not isinstance(d, dict) or not d:
            continue
        k = r.choice(sorted(d))
        if r.random() < 0.25:
            del d[k]
        else:
            d[k] = r.choice(JSON_VALUES)
        ls[i] = json.dumps(d).encode()
    return b"\n".join(ls)


def whole_json(data: bytes, r: random.Random) -> bytes:
    """A JSON document replaced by a value of another type, or one of its keys damaged."""
    try:
        d = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return flip_bytes(data, r)
    if r.random() < 0.3 or not isinstance(d, dict) or not d:
        return json.dumps(r.choice(JSON_VALUES)).encode()
    k = r.choice(sorted(d))
    if r.random() < 0.3:
        del d[k]
    else:
        d[k] = r.choice(JSON_VALUES)
    return json.dumps(d).encode()


TEXT = [flip_bytes, truncate, delete_lines, duplicate_lines, swap_lines, extreme_number,
        extreme_number, hostile_text, json_line_value]


def mutate_text(data: bytes, r: random.Random, other: bytes | None = None) -> bytes:
    for _ in range(r.choice([1, 1, 1, 2, 3])):
        if other is not None and r.random() < 0.1:
            data = splice(data, other, r)
        else:
            data = r.choice(TEXT)(data, r)
    return data


# ---------------------------------------------------------------- pipesight's events files

HEADER = struct.Struct("<IIIIQQII")
RECORD = 64
FIELDS = {"kind": (0, "B"), "probe": (1, "B"), "flags": (2, "H"), "tid": (4, "I"),
          "ts": (8, "Q"), "cpu": (16, "Q"), "pad": (24, "I"), "peer": (28, "I"),
          "size": (32, "I"), "count": (36, "i"), "pts": (40, "Q"), "seq": (56, "Q")}


def mutate_events(data: bytes, r: random.Random) -> bytes:
    b = bytearray(data)
    what = r.choice(["header", "field", "field", "field", "cut", "flip", "shuffle"])
    if what == "header" and len(b) >= HEADER.size:
        vals = list(HEADER.unpack_from(b, 0))
        i = r.randrange(len(vals))
        bits = [8 * s for s in (4, 4, 4, 4, 8, 8, 4, 4)][i]
        vals[i] = r.choice([0, 1, 2, 3, 64, (1 << bits) - 1, r.getrandbits(bits)])
        HEADER.pack_into(b, 0, *vals)
    elif what == "field" and len(b) > 64 + RECORD:
        n = (len(b) - 64) // RECORD
        for _ in range(r.choice([1, 1, 10, 1000])):
            rec = 64 + RECORD * r.randrange(n)
            name = r.choice(sorted(FIELDS))
            off, fmt = FIELDS[name]
            size = struct.calcsize(fmt)
            top = 1 << (8 * size)
            v = r.choice([0, top - 1, r.getrandbits(8 * size), 1, 7, 9])
            if fmt.islower():  # signed
                v = v - top if v >= top // 2 else v
            struct.pack_into("<" + fmt, b, rec + off, v)
    elif what == "cut":
        return bytes(b[: r.randrange(len(b) + 1)])
    elif what == "shuffle" and len(b) > 64 + 2 * RECORD:
        n = (len(b) - 64) // RECORD
        recs = [bytes(b[64 + i * RECORD: 64 + (i + 1) * RECORD]) for i in range(n)]
        i = r.randrange(n)
        j = min(n, i + r.randint(2, 200))
        part = recs[i:j]
        r.shuffle(part)
        recs[i:j] = part
        return bytes(b[:64]) + b"".join(recs) + bytes(b[64 + n * RECORD:])
    else:
        return flip_bytes(bytes(b), r)
    return bytes(b)


# ---------------------------------------------------------------- SQLite exports

SQL_VALUES = [None, -1, 0, 2 ** 63 - 1, -(2 ** 63), "x", b"\x00\x01", 1e308, 3.5, "\x1b[31m"]


def mutate_sqlite(path: Path, r: random.Random) -> None:
    """Damage an export in place: its tables (dropped, emptied, values replaced) or its bytes."""
    if r.random() < 0.25:
        data = path.read_bytes()
        b = bytearray(data)
        for _ in range(r.randint(1, 20)):
            i = r.randrange(100, len(b))
            b[i] ^= r.randrange(1, 256)
        path.write_bytes(bytes(b))
        return
    con = sqlite3.connect(path)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        for _ in range(r.choice([1, 1, 2, 4])):
            t = r.choice(tables)
            what = r.choice(["drop", "delete", "update", "update", "update", "delete_some"])
            if what == "drop":
                con.execute(f'DROP TABLE "{t}"')
                tables.remove(t)
            elif what == "delete":
                con.execute(f'DELETE FROM "{t}"')
            elif what == "delete_some":
                con.execute(f'DELETE FROM "{t}" WHERE abs(random()) % 3 = 0')
            else:
                cols = [c[1] for c in con.execute(f'PRAGMA table_info("{t}")')]
                if not cols:
                    continue
                c = r.choice(cols)
                v = r.choice(SQL_VALUES)
                where = r.choice(["", " WHERE abs(random()) % 5 = 0", " WHERE rowid = 1"])
                con.execute(f'UPDATE "{t}" SET "{c}" = ?{where}', (v,))
            if not tables:
                break
        con.commit()
    except sqlite3.Error:
        pass
    finally:
        con.close()
