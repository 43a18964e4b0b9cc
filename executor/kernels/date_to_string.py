"""DATE to its 'YYYY-MM-DD' text in one pass: `format_dates`.

Arrow formats a date32 through its generic strftime path, about 80 ns a
value (SF1 `max(CAST(l_shipdate AS VARCHAR))`: 0.3 s). Every date of
years 0001-9999 is exactly 10 bytes, so the offsets are known and the
digits come from the civil-from-days conversion (H. Hinnant's algorithm).
"""

from __future__ import annotations

import numpy as np

from .jit import njit

_MIN_DAYS = -719162          # 0001-01-01
_MAX_DAYS = 2932896          # 9999-12-31


@njit(cache=True, nogil=True)
def format_dates(days, valid, data):
    """Write each valid day number as 10 ASCII bytes at data[10*i:]; False
    when a valid date is outside years 1-9999 (the caller uses Arrow)."""
    has_valid = len(valid) > 0
    for i in range(len(days)):
        if has_valid and not valid[i]:
            continue
        z = np.int64(days[i])
        if z < _MIN_DAYS or z > _MAX_DAYS:
            return False
        z += 719468
        era = z // 146097
        doe = z - era * 146097
        yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
        y = yoe + era * 400
        doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
        mp = (5 * doy + 2) // 153
        d = doy - (153 * mp + 2) // 5 + 1
        m = mp + 3 if mp < 10 else mp - 9
        if m <= 2:
            y += 1
        p = 10 * i
        data[p] = 48 + y // 1000
        data[p + 1] = 48 + (y // 100) % 10
        data[p + 2] = 48 + (y // 10) % 10
        data[p + 3] = 48 + y % 10
        data[p + 4] = 45
        data[p + 5] = 48 + m // 10
        data[p + 6] = 48 + m % 10
        data[p + 7] = 45
        data[p + 8] = 48 + d // 10
        data[p + 9] = 48 + d % 10
    return True
