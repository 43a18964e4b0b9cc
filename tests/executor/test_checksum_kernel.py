"""The XXH64 kernel against a plain Python reference and known values."""

import os
import random

import numpy as np

from quiver.executor.kernels.checksum import xxh64

M = (1 << 64) - 1
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M


def _round(acc, lane):
    return _rotl((acc + lane * P2) & M, 31) * P1 & M


def reference(data: bytes, seed: int = 0) -> int:
    n, pos = len(data), 0
    word = lambda p: int.from_bytes(data[p:p + 8], "little")  # noqa: E731
    if n >= 32:
        v = [(seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M]
        while pos + 32 <= n:
            v = [_round(v[i], word(pos + 8 * i)) for i in range(4)]
            pos += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & M
        for x in v:
            h = ((h ^ _round(0, x)) * P1 + P4) & M
    else:
        h = (seed + P5) & M
    h = (h + n) & M
    while pos + 8 <= n:
        h = (_rotl(h ^ _round(0, word(pos)), 27) * P1 + P4) & M
        pos += 8
    if pos + 4 <= n:
        h = (_rotl(h ^ (int.from_bytes(data[pos:pos + 4], "little") * P1 & M), 23) * P2 + P3) & M
        pos += 4
    while pos < n:
        h = _rotl(h ^ (data[pos] * P5 & M), 11) * P1 & M
        pos += 1
    h ^= h >> 33
    h = h * P2 & M
    h ^= h >> 29
    h = h * P3 & M
    return h ^ (h >> 32)


def test_known_values():
    assert reference(b"") == 0xEF46DB3751D8E999
    assert xxh64(b"") == 0xEF46DB3751D8E999


def test_matches_the_reference_at_every_length_and_alignment():
    rng = random.Random(1)
    blob = os.urandom(300)
    for n in list(range(0, 70)) + [rng.randrange(300) for _ in range(30)]:
        for off in (0, 1, 3):
            data = blob[off:off + n]
            for seed in (0, 2):
                assert xxh64(memoryview(blob)[off:off + n], seed) == reference(data, seed), (n, off)


def test_a_flipped_bit_changes_it():
    data = bytearray(np.random.default_rng(3).integers(0, 256, 4099, dtype=np.uint8).tobytes())
    good = xxh64(data)
    rng = random.Random(2)
    for _ in range(500):
        pos, bit = rng.randrange(len(data)), 1 << rng.randrange(8)
        data[pos] ^= bit
        assert xxh64(data) != good
        data[pos] ^= bit
    assert xxh64(data) == good
