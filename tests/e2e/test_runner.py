"""tests/run.sh counts and names skipped tests (issue 9, item 16).

run.sh works from the folder above its own, so a copy of it in a scratch
tree runs a scratch suite: a real cmocka binary with a skip() and a
unittest module with skipped tests, one with a docstring and one that
writes to stderr first, as the real suites do.
"""
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
import unittest

from shop import REPO

CMOCKA_TEST = r"""
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

static void passes(void **state) { (void)state; }
static void needs_a_device(void **state) { (void)state; skip(); }

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(passes),
        cmocka_unit_test(needs_a_device),
        cmocka_unit_test(passes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
"""

UNITTEST_MODULE = '''
import sys
import unittest


class Fake(unittest.TestCase):
    def test_passes(self):
        pass

    def test_skip_plain(self):
        self.skipTest("no chromium here")

    def test_skip_with_doc(self):
        """A docstring's first line goes between name and result."""
        self.skipTest("no promtool here")

    def test_skip_after_noise(self):
        sys.stderr.write("some warning\\n")
        self.skipTest("no man here")
'''


class RunSh(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="posfeed-runsh-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        os.makedirs(os.path.join(self.dir, "tests", "e2e"))
        os.makedirs(os.path.join(self.dir, "b", "tests"))
        shutil.copy(os.path.join(REPO, "tests", "run.sh"),
                    os.path.join(self.dir, "tests", "run.sh"))
        with open(os.path.join(self.dir, "tests", "e2e", "test_fake.py"),
                  "w") as f:
            f.write(textwrap.dedent(UNITTEST_MODULE))
        src = os.path.join(self.dir, "t.c")
        with open(src, "w") as f:
            f.write(CMOCKA_TEST)
        cc = os.environ.get("CC", "cc")
        r = subprocess.run([cc, "-o", os.path.join(self.dir, "b", "tests",
                                                   "test_fakeunit"),
                            src, "-lcmocka"], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_summary_counts_and_names_skips(self):
        r = subprocess.run(["sh", os.path.join(self.dir, "tests", "run.sh"),
                            "b"], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = r.stdout.splitlines()
        # cmocka: 2 passed, 1 skipped; unittest: 1 passed, 3 skipped.
        self.assertEqual(lines[-1], "3 passed, 0 failed, 4 skipped",
                         r.stdout)
        # CI recognises the plain "N passed, N failed" start of it.
        self.assertRegex(lines[-1], r"^\d+ passed, \d+ failed")
        names = "\n".join(lines[lines.index("skipped (see build/test-logs/"
                                            "skipped):"):-1])
        for want in ("[plain] test_fakeunit needs_a_device",
                     "[plain] e2e test_skip_plain (test_fake.Fake."
                     "test_skip_plain): no chromium here",
                     "[plain] e2e test_skip_with_doc (test_fake.Fake."
                     "test_skip_with_doc): no promtool here",
                     "[plain] e2e test_skip_after_noise (test_fake.Fake."
                     "test_skip_after_noise): no man here"):
            self.assertIn(want, names)
        self.assertIn("ok   [plain] test_fakeunit: 2 passed, 1 skipped",
                      lines)
        self.assertIn("ok   [plain] e2e: 1 passed, 3 skipped", lines)

    def test_no_skips_say_zero(self):
        os.remove(os.path.join(self.dir, "tests", "e2e", "test_fake.py"))
        os.remove(os.path.join(self.dir, "b", "tests", "test_fakeunit"))
        with open(os.path.join(self.dir, "tests", "e2e", "test_ok.py"),
                  "w") as f:
            f.write("import unittest\n\n\nclass T(unittest.TestCase):\n"
                    "    def test_a(self):\n        pass\n")
        r = subprocess.run(["sh", os.path.join(self.dir, "tests", "run.sh"),
                            "b"], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stdout.splitlines()[-1],
                         "1 passed, 0 failed, 0 skipped")
        self.assertNotRegex(r.stdout, re.compile("^skipped", re.M))


if __name__ == "__main__":
    unittest.main()
