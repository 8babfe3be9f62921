"""The checks the Python tests record: one line per check as it is made, then a count and the
exit status (1 when any check failed or none was made)."""
import sys

RESULTS = []


def check(name, cond, detail=""):
    RESULTS.append((name, bool(cond)))
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"), flush=True)
    return bool(cond)


def finish():
    failed = [n for n, ok in RESULTS if not ok]
    print(f"\n{len(RESULTS) - len(failed)}/{len(RESULTS)} checks passed")
    sys.exit(1 if failed or not RESULTS else 0)
