"""make install / uninstall and the man pages (issue 9, item 14).

The install tests build posfeed once more, into a private build folder
(-O0, to be quick), and install it under temp prefixes: what a newcomer
does with `make && make install PREFIX=...`, without touching build/ or
the system.
"""
import os
import shutil
import subprocess
import tempfile
import unittest

from shop import REPO

MAN_PAGES = ("man/posfeed.1", "man/posfeed.conf.5")

CONFIG = """[shop]
name = Installed
timezone = Europe/Amsterdam
currency = EUR
url = https://shop.example

[source]
type = file
path = data

[feed clerk]
template = clerk
"""


def clean_env(**extra):
    """The environment without what the test runner sets: the templates
    folder (an installed posfeed must find its own) and the outer make's
    flags (its jobserver is not ours)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("POSFEED_TEMPLATES", "MAKEFLAGS", "MFLAGS",
                        "MAKELEVEL")}
    env.update(extra)
    return env


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="posfeed-install-")
        cls.build = os.path.join(cls.tmp, "build")
        # A plain `make` first, as a newcomer does.
        cls.make_in(cls, "posfeed")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def make_in(self, *args):
        r = subprocess.run(
            ["make", "--no-print-directory", "-j2", "B=" + self.build,
             "CFLAGS=-O0"] + list(args), cwd=REPO, capture_output=True,
            text=True, env=clean_env(), timeout=900)
        if r.returncode != 0:
            raise AssertionError("make %s failed:\n%s%s"
                                 % (" ".join(args), r.stdout, r.stderr))
        return r

    def shop(self, name):
        d = os.path.join(self.tmp, name)
        os.makedirs(os.path.join(d, "data"))
        with open(os.path.join(d, "posfeed.conf"), "w") as f:
            f.write(CONFIG)
        return os.path.join(d, "posfeed.conf")

    def check(self, binary, conf):
        return subprocess.run([binary, "-c", conf, "check"], cwd=self.tmp,
                              capture_output=True, text=True,
                              env=clean_env(), timeout=60)

    def files_under(self, root):
        out = []
        for d, _, files in os.walk(root):
            out += [os.path.relpath(os.path.join(d, f), root) for f in files]
        return sorted(out)

    def expected_files(self):
        tpl = sorted(f for f in os.listdir(os.path.join(REPO, "templates"))
                     if f.endswith((".json", ".xml")))
        return sorted(["bin/posfeed", "share/man/man1/posfeed.1",
                       "share/man/man5/posfeed.conf.5"] +
                      ["share/posfeed/templates/" + t for t in tpl])

    def test_prefix_after_plain_make(self):
        # Deep enough that the search for a checkout's templates/ beside
        # and above the binary (up to three folders) stays inside tmp.
        prefix = os.path.join(self.tmp, "p", "q", "x")
        self.make_in("PREFIX=" + prefix, "install")
        binary = os.path.join(prefix, "bin", "posfeed")
        conf = self.shop("shop-x")
        r = self.check(binary, conf)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.files_under(prefix), self.expected_files())
        # It is the prefix's templates folder that it reads.
        tpl = os.path.join(prefix, "share", "posfeed", "templates")
        os.rename(os.path.join(tpl, "clerk.json"),
                  os.path.join(tpl, "clerk.json.off"))
        r = self.check(binary, conf)
        self.assertEqual(r.returncode, 2)
        self.assertIn(tpl, r.stderr)
        os.rename(os.path.join(tpl, "clerk.json.off"),
                  os.path.join(tpl, "clerk.json"))
        # The man pages are where man looks under the prefix.
        for page in ("posfeed", "posfeed.conf"):
            if shutil.which("man") is None:
                break
            r = subprocess.run(["man", "-M", os.path.join(prefix, "share",
                                                          "man"),
                                "-w", page], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.startswith(prefix), r.stdout)
        # uninstall removes exactly what install put there.
        mine = os.path.join(prefix, "bin", "other-tool")
        open(mine, "w").close()
        self.make_in("PREFIX=" + prefix, "uninstall")
        self.assertEqual(self.files_under(prefix), ["bin/other-tool"])
        self.assertFalse(os.path.exists(os.path.join(prefix, "share",
                                                     "posfeed")))

    def test_destdir_stages_for_the_prefix(self):
        stage = os.path.join(self.tmp, "stage")
        prefix = "/opt/posfeed-test-%d" % os.getpid()
        args = ("DESTDIR=" + stage, "PREFIX=" + prefix)
        self.make_in(*args, "install")
        self.assertFalse(os.path.exists(prefix))
        root = stage + prefix
        self.assertEqual(self.files_under(root), self.expected_files())
        # The staged binary looks where it will be installed.
        r = self.check(os.path.join(root, "bin", "posfeed"),
                       self.shop("shop-stage"))
        self.assertEqual(r.returncode, 2)
        self.assertIn(prefix + "/share/posfeed/templates", r.stderr)
        self.make_in(*args, "uninstall")
        self.assertEqual(self.files_under(stage), [])


class ManPages(unittest.TestCase):
    def test_man_pages_format_without_warnings(self):
        if shutil.which("man") is None or shutil.which("lexgrog") is None:
            self.skipTest("man and lexgrog are not installed (Debian "
                          "package man-db; .ci/run installs it)")
        env = dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80",
                   LC_ALL="C.UTF-8")
        for page in MAN_PAGES:
            path = os.path.join(REPO, page)
            r = subprocess.run(["man", "--warnings=w", "-E", "UTF-8", "-l",
                                path], capture_output=True, text=True,
                               env=env, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stderr, "", page)
            self.assertIn("SYNOPSIS" if page.endswith(".1")
                          else "DESCRIPTION", r.stdout)
            # lexgrog reads the NAME line as whatis and apropos will.
            r = subprocess.run(["lexgrog", path], capture_output=True,
                               text=True, env=env, timeout=60)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            name = os.path.basename(page).rsplit(".", 1)[0]
            self.assertIn('"%s - ' % name, r.stdout)

    def test_templates_variable_is_documented(self):
        for doc in ("man/posfeed.1", "man/posfeed.conf.5",
                    "docs/configuration.md"):
            with open(os.path.join(REPO, doc), encoding="utf-8") as f:
                self.assertIn("POSFEED_TEMPLATES", f.read(), doc)


if __name__ == "__main__":
    unittest.main()
