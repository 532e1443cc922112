#!/usr/bin/env python3
"""Checks a fetcher log (stderr) for forged or unsafe lines.

  check_log.py text|json FILE [--max-line N] [--forbid WORD]...

text: every line is "<ts> <LEVEL> <message> key=value..." where a value is
bare (printable ASCII without blanks, quotes, '=' or backslashes) or a JSON
string literal; the whole line must parse that way, with one level.
json: every line is one JSON object with ts, level and msg.
Both: every byte is printable ASCII (no C0/C1 controls, no raw non-ASCII),
no line is longer than --max-line bytes, and no field key is one of the
--forbid words (a field a hostile value would have forged). Prints the
problems and exits 1 when there is one.
"""
import json
import re
import sys

TEXT_HEAD = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (ERROR|WARN|INFO|DEBUG|TRACE) ')
KEY = re.compile(r' ([A-Za-z0-9_.-]+)=')
BARE = re.compile(r'[!#-<>-\[\]-~]+')  # printable ASCII without blank, '"', '=', '\'


def json_string_end(s, i):
    """s[i] == '"': index after the closing quote of a JSON string, or -1."""
    j = i + 1
    while j < len(s):
        c = s[j]
        if c == '\\':
            j += 2
            continue
        if c == '"':
            return j + 1
        j += 1
    return -1


def parse_text(line):
    """The field keys of a text line, or None when it does not parse."""
    m = TEXT_HEAD.match(line)
    if not m:
        return None
    rest = line[m.end():]
    # The message: bare words up to the first " key=" or one JSON string.
    if rest.startswith('"'):
        end = json_string_end(rest, 0)
        if end < 0:
            return None
        json.loads(rest[:end])
        rest = rest[end:]
    else:
        k = KEY.search(rest)
        msg = rest if k is None else rest[:k.start()]
        if '"' in msg or '=' in msg or '\\' in msg:
            return None
        rest = rest[len(msg):]
    keys = []
    while rest:
        k = KEY.match(rest)
        if not k:
            return None
        keys.append(k.group(1))
        rest = rest[k.end():]
        if rest.startswith('"'):
            end = json_string_end(rest, 0)
            if end < 0:
                return None
            json.loads(rest[:end])
            rest = rest[end:]
        elif rest.startswith('{') or rest.startswith('['):
            # A JSON object or array value: up to the next " key=" that parses.
            done = False
            for k2 in KEY.finditer(rest):
                try:
                    json.loads(rest[:k2.start()])
                except ValueError:
                    continue
                rest = rest[k2.start():]
                done = True
                break
            if not done:
                json.loads(rest)
                rest = ''
        else:
            b = BARE.match(rest)
            if not b:
                return None
            rest = rest[b.end():]
        if rest and not rest.startswith(' '):
            return None
    return keys


def main():
    fmt, path = sys.argv[1], sys.argv[2]
    max_line = 16384
    forbid = []
    args = sys.argv[3:]
    while args:
        if args[0] == '--max-line':
            max_line = int(args[1])
        elif args[0] == '--forbid':
            forbid.append(args[1])
        args = args[2:]
    problems = []
    data = open(path, 'rb').read()
    for n, raw in enumerate(data.split(b'\n')[:-1] if data.endswith(b'\n') else data.split(b'\n'), 1):
        if not raw:
            continue
        if len(raw) > max_line:
            problems.append('line %d: %d bytes' % (n, len(raw)))
        bad = [b for b in raw if b < 0x20 or b >= 0x7f]
        if bad:
            problems.append('line %d: raw byte 0x%02x' % (n, bad[0]))
            continue
        line = raw.decode('ascii')
        if fmt == 'json':
            try:
                obj = json.loads(line)
            except ValueError as e:
                problems.append('line %d: not JSON (%s)' % (n, e))
                continue
            if not isinstance(obj, dict) or not all(k in obj for k in ('ts', 'level', 'msg')):
                problems.append('line %d: ts/level/msg missing' % n)
                continue
            keys = list(obj.keys())
        else:
            try:
                keys = parse_text(line)
            except ValueError:
                keys = None
            if keys is None:
                problems.append('line %d: does not parse: %.200s' % (n, line))
                continue
        for k in keys:
            if k in forbid:
                problems.append('line %d: forged field %s' % (n, k))
    for p in problems[:20]:
        print('    ' + p)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
