"""XXH64 of a byte buffer: `xxh64(data, seed) -> int`, the checksum of
shuffle blocks (cluster/shuffle_checksum.py).

The XXH64 algorithm (Yann Collet, xxHash specification), as a numba kernel
over the bytes (uint8) and their little-endian 64-bit words: several GB/s,
where zlib.crc32 manages a fraction of that, so verifying every shuffle
byte costs little. Any change to the bytes changes the 64-bit result except
with probability 2^-64. Tested against a plain Python reference and the
specification's known values.
"""

from __future__ import annotations

import sys

import numpy as np
from numba import njit

P1 = np.uint64(0x9E3779B185EBCA87)
P2 = np.uint64(0xC2B2AE3D27D4EB4F)
P3 = np.uint64(0x165667B19E3779F9)
P4 = np.uint64(0x85EBCA77C2B2AE63)
P5 = np.uint64(0x27D4EB2F165667C5)
_LITTLE = sys.byteorder == "little"


@njit(cache=True, nogil=True, inline="always")
def _rotl(x, r):
    return (x << np.uint64(r)) | (x >> np.uint64(64 - r))


@njit(cache=True, nogil=True, inline="always")
def _round(acc, lane):
    acc = acc + lane * P2
    return _rotl(acc, 31) * P1


@njit(cache=True, nogil=True, inline="always")
def _merge(acc, val):
    acc = acc ^ _round(np.uint64(0), val)
    return acc * P1 + P4


@njit(cache=True, nogil=True)
def _xxh64(data, words, seed):
    n = data.shape[0]
    pos = 0
    if n >= 32:
        v1 = seed + P1 + P2
        v2 = seed + P2
        v3 = seed
        v4 = seed - P1
        stripes = n // 32
        for i in range(stripes):
            v1 = _round(v1, words[4 * i])
            v2 = _round(v2, words[4 * i + 1])
            v3 = _round(v3, words[4 * i + 2])
            v4 = _round(v4, words[4 * i + 3])
        h = _rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)
        h = _merge(h, v1)
        h = _merge(h, v2)
        h = _merge(h, v3)
        h = _merge(h, v4)
        pos = stripes * 32
    else:
        h = seed + P5
    h = h + np.uint64(n)
    while pos + 8 <= n:
        h = h ^ _round(np.uint64(0), words[pos // 8])
        h = _rotl(h, 27) * P1 + P4
        pos += 8
    if pos + 4 <= n:
        k = (np.uint64(data[pos]) | (np.uint64(data[pos + 1]) << np.uint64(8))
             | (np.uint64(data[pos + 2]) << np.uint64(16))
             | (np.uint64(data[pos + 3]) << np.uint64(24)))
        h = h ^ (k * P1)
        h = _rotl(h, 23) * P2 + P3
        pos += 4
    while pos < n:
        h = h ^ (np.uint64(data[pos]) * P5)
        h = _rotl(h, 11) * P1
        pos += 1
    h = h ^ (h >> np.uint64(33))
    h = h * P2
    h = h ^ (h >> np.uint64(29))
    h = h * P3
    h = h ^ (h >> np.uint64(32))
    return h


def xxh64(data, seed: int = 0) -> int:
    """XXH64 of any buffer (bytes, memoryview, pyarrow Buffer)."""
    b = np.frombuffer(data, dtype=np.uint8)
    words = b[:b.shape[0] // 8 * 8].view(np.uint64)
    if not _LITTLE:
        words = words.byteswap()
    return int(_xxh64(b, words, np.uint64(seed)))
