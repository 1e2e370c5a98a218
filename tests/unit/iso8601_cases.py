"""iso8601_cases.py: what Celery's eta/expires parser makes of a list of
strings, for interop_iso8601 (tests/unit/test_iso8601_celery.c) to compare
with cel_clock_parse_iso line by line.

Run with Debian's /usr/bin/python3, which has python3-celery. The list is
a fixed set of hand-picked strings plus near misses generated from a fixed
seed. Each output line is the string's UTF-8 in hex, a space, and then:

  <int>     Celery reads it as this many microseconds since the epoch
            (a string without a zone is UTC, as Celery's worker takes it);
  REFUSED   Celery's parser raises;
  PREFIX    Celery's regex matched only a prefix and silently dropped the
            rest (a time such as T-1:00, trailing text); celeriac refuses
            these;
  ZONE <int> Celery dropped a zone in ISO 8601's basic form (+0530, +05)
            that ends the text, reading the time as UTC; celeriac applies
            the offset, giving this many microseconds;
  OVERFLOW  the instant is outside 0001-01-01..9999-12-31 UTC, where
            Celery's worker fails to convert the eta; celeriac refuses.

The last line is "END <count>", so a truncated run cannot pass.
"""
import datetime
import random
import re
import sys

from celery.utils.iso8601 import ISO8601_REGEX, parse_iso8601

EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
ONE_US = datetime.timedelta(microseconds=1)

FIXED = [
    '2026-11-21T21:51:16.741105+00:00', '2026-11-21T21:51:16Z',
    '2026-11-21 21:51:16', '2020-01-01', '2020-1-1', '2020-01-01T00:00',
    '2020-01-01T00:00Z', '2020-01-01T00:00-05:00', '2020-01-01t00:00:00',
    '2020-01-01x00:00:00', '2020-01-01\u00e900:00:00',
    '2020-01-01\u202800:00:00', '2020-01-01\U0001F60000:00:00',
    '2020-01-01\t00:00:00', '2020-01-01\r00:00:00', '2020-01-01\n00:00:00',
    '2020-01-01T00:00:00.5', '2020-01-01T00:00:00.000000001',
    '2020-01-01T00:00:00.1234567', '2020-01-01T00:00:00.999999',
    '2020-01-01T00:00:00.000000000000000000000000000000000123',
    '2020-01-01T00:00:00.99999999999999999999999999',
    '2020-01-01T00:00:00.' + '0' * 4299 + '1',
    '2020-01-01T00:00:00.' + '0' * 4300 + '1',
    '2020-01-01T00:00:00.', '2020-01-01T00:00:00,5', '2020-01-01T00:00.5',
    '2020-01-01T00:00:00+0530', '2020-01-01T00:00:00+05',
    '2020-01-01T00:00:00+05:30', '2020-01-01T00:00:00+05:99',
    '2020-01-01T00:00:00+23:59', '2020-01-01T00:00:00+23:60',
    '2020-01-01T00:00:00+24:00', '2020-01-01T00:00:00-00:00',
    '2020-01-01T00:00:00-00:30', '2020-01-01T00:00:00z',
    '2020-01-01T00:00:00+05x30', '2026-11-21T21:51:16+0100x',
    '2099-02-31T00:00:00', '2030-01-01T-1:00:00', '2020-01-01T24:00:00',
    '2020-01-01T00:60:00', '2020-01-01T00:00:60', '2020-01-01T0:00:00',
    '2020-01-1112:30', '2024-02-29', '2023-02-29', '1900-02-29',
    '2000-02-29', '2020-04-31', '2020-00-01', '2020-01-00', '2020-13-01',
    '0000-01-01', '0001-01-01T00:00:00', '0001-01-01T00:00:00+00:01',
    '0001-01-01T00:00:00-23:59', '9999-12-31T23:59:59.999999',
    '9999-12-31T23:59:59.999999-00:01', '9999-12-31T23:59:59+23:59',
    '20200-01-01', '2020', '2020-01', '2020-01-', '', 'undefined',
    ' 2020-01-01', '2020-01-01 ', '\uff12\uff10\uff12\uff10-01-01',
]

# Near misses: each piece is usually a good one (first list) and sometimes
# one at or just past a limit (second list).
PIECES = {
    'month': (['1', '01', '02', '09', '10', '12'], ['0', '00', '13', '001']),
    'day': (['1', '01', '09', '28', '29', '30', '31'], ['0', '00', '32', '001']),
    'sep': (['T', ' ', 't', 'x', '\t', '\u00e9', '\U0001F600'],
            ['\n', '', '--']),
    'hour': (['00', '07', '23'], ['24', '99', '7', '-1', '007']),
    'minute': (['00', '30', '59'], ['60', '5']),
    'second': (['', ':00', ':07', ':59'], [':60', ':5', ':']),
    'fraction': (['', '.5', '.05', '.123456', '.000999999', '.999999'],
                 ['.', '.1000000', '.1234567', ',5', '.5.5']),
    'zone': (['', 'Z', '+00:00', '-00:00', '+05:30', '-05:30', '+23:59',
              '-23:59', '+05:99', '-00:01'],
             ['z', '+0530', '+05', '+24:00', '+23:60', '+5:30', 'Z+01:00']),
}
ALPHABET = '0123456789-:T tZz+.,\n\u00e9'


def piece(rng, name):
    good, bad = PIECES[name]
    return rng.choice(bad if rng.random() < 0.12 else good)


def year(rng):
    if rng.random() < 0.05:
        return rng.choice(['0000', '999', '20201', '+2020'])
    return '%04d' % rng.choice([1, 2, 1969, 1970, 2000, 2020, 2024, 2100,
                                9998, 9999, rng.randrange(1, 10000)])
BASIC_ZONE = re.compile(r'([-+])([0-9]{2})([0-9]{2})?')


def basic_zone(text, m, dt):
    """A +HHMM or +HH zone ending the text after a time Celery read."""
    z = BASIC_ZONE.fullmatch(text[m.end():])
    if z is None or m.group('hour') is None or m.group('timezone'):
        return 'PREFIX'
    minutes = int(z.group(2)) * 60 + int(z.group(3) or 0)
    if minutes >= 24 * 60:
        return 'PREFIX'
    sign = -1 if z.group(1) == '-' else 1
    zone = datetime.timezone(datetime.timedelta(minutes=sign * minutes))
    try:
        dt = dt.replace(tzinfo=zone).astimezone(datetime.timezone.utc)
    except OverflowError:
        return 'PREFIX'
    return 'ZONE %d' % ((dt - EPOCH) // ONE_US)


def verdict(text):
    m = ISO8601_REGEX.match(text)
    try:
        dt = parse_iso8601(text)
    except (ValueError, TypeError, OverflowError):
        return 'REFUSED'  # OverflowError: a fraction past C's long
    if m.end() != len(text):
        return basic_zone(text, m, dt)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    try:
        dt.astimezone(datetime.timezone.utc)
    except OverflowError:
        return 'OVERFLOW'
    return str((dt - EPOCH) // ONE_US)


def assembled(rng):
    p = {k: piece(rng, k) for k in PIECES}
    date = '%s-%s-%s' % (year(rng), p['month'], p['day'])
    shape = rng.randrange(4)
    if shape == 0:
        return date
    time = p['sep'] + p['hour'] + ':' + p['minute']
    if shape == 1:
        return date + time + p['zone']
    return date + time + p['second'] + p['fraction'] + p['zone']


def mutated(rng, text):
    for _ in range(rng.randrange(1, 3)):
        i = rng.randrange(len(text) + 1)
        op = rng.randrange(3)
        if op == 0:
            text = text[:i] + text[i + 1:]
        elif op == 1:
            text = text[:i] + rng.choice(ALPHABET) + text[i:]
        else:
            text = text[:i] + rng.choice(ALPHABET) + text[i + 1:]
    return text


def cases():
    rng = random.Random(20220606)
    out = list(FIXED)
    for _ in range(3000):
        out.append(assembled(rng))
    for _ in range(2000):
        out.append(mutated(rng, assembled(rng)))
    return out


def main():
    n = 0
    for text in cases():
        if '\0' in text:  # a C string cannot hold it
            continue
        print(text.encode('utf-8').hex() or '-', verdict(text))
        n += 1
    print('END', n)
    return 0


if __name__ == '__main__':
    sys.exit(main())
