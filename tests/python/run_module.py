"""Runs one unittest module for ctest and reports what really ran.

Exit codes: 0 when every test passed and at least one ran, 77 (ctest's
SKIP_RETURN_CODE for these tests) when every test of the module was skipped,
1 on any failure or error. A module in which some tests ran and some were
skipped passes, and the skipped ones are listed on stdout with their reason.
"""
import sys
import unittest


def main(argv):
    if len(argv) != 2:
        print("usage: run_module.py MODULE", file=sys.stderr)
        return 2
    suite = unittest.defaultTestLoader.loadTestsFromName(argv[1])
    result = unittest.TextTestRunner(verbosity=2, stream=sys.stdout).run(suite)
    for test, why in result.skipped:
        print("SKIPPED: %s: %s" % (test.id(), why))
    if not result.wasSuccessful():
        return 1
    if result.testsRun == len(result.skipped):
        print("every test of %s was skipped" % argv[1])
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
