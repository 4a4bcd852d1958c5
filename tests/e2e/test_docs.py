"""The commands README.md and docs/serving.md show work as written, in the
order written (issue 9, items 12 and 15).

Each test builds a scratch copy of what the commands touch in a checkout
(examples/demo/ without its store, tests/demo.sh, feeds/, and ./posfeed
as a link to the binary under test) and runs the commands there with
sh, reading them from the documents themselves, so a document that
changes is tested as it reads.
"""
import http.client
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import unittest

from shop import BIN, REPO


def code_blocks(path, heading=None):
    """The indented code blocks of a Markdown file (under heading, if
    given, up to the next heading of any level), each a list of lines."""
    with open(os.path.join(REPO, path), encoding="utf-8") as f:
        lines = f.read().splitlines()
    if heading is not None:
        start = lines.index(heading) + 1
        end = next((i for i in range(start, len(lines))
                    if lines[i].startswith("#")), len(lines))
        lines = lines[start:end]
    blocks, cur = [], []
    for ln in lines + [""]:
        if ln.startswith("    "):
            cur.append(ln[4:])
        elif cur and ln.strip() == "":
            blocks.append(cur)
            cur = []
    return blocks



def stop_group(proc, close=True):
    """Stops a command started in a session of its own (a README line
    run through sh): SIGTERM to its group, SIGKILL if it lingers; closes
    its pipes unless the caller still reads them."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    for f in (proc.stdout, proc.stderr):
        if close and f and not f.closed:
            f.close()

class Checkout:
    """A scratch copy of the parts of a checkout the commands use."""

    def __init__(self, tc):
        self.dir = tempfile.mkdtemp(prefix="posfeed-docs-")
        tc.addCleanup(shutil.rmtree, self.dir, True)
        shutil.copytree(os.path.join(REPO, "examples", "demo"),
                        os.path.join(self.dir, "examples", "demo"),
                        ignore=shutil.ignore_patterns("*.db*", "token*"))
        os.mkdir(os.path.join(self.dir, "tests"))
        shutil.copy(os.path.join(REPO, "tests", "demo.sh"),
                    os.path.join(self.dir, "tests", "demo.sh"))
        os.mkdir(os.path.join(self.dir, "feeds"))
        os.symlink(BIN, os.path.join(self.dir, "posfeed"))
        # As a person has it: no test settings; ./posfeed finds the
        # templates of the checkout it was built in.
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("POSFEED_")}

    def sh(self, command, tc):
        r = subprocess.run(["sh", "-c", command], cwd=self.dir,
                           capture_output=True, text=True, env=self.env,
                           timeout=300)
        tc.assertEqual(r.returncode, 0, "%s\n%s%s" % (command, r.stdout,
                                                      r.stderr))
        return r

    def make_demo(self, tc):
        # `make demo` is `make posfeed` (the binary under test is that)
        # and then tests/demo.sh.
        return self.sh("tests/demo.sh", tc)

    def path(self, *parts):
        return os.path.join(self.dir, *parts)


def get(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        c.request("GET", path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


class QuickStartThenServe(unittest.TestCase):
    def test_first_serve_command_after_make_demo(self):
        co = Checkout(self)
        co.make_demo(self)
        token_path = co.path("examples", "demo", "token")
        self.assertEqual(os.stat(token_path).st_mode & 0o777, 0o600)
        with open(token_path) as f:
            token = f.read().strip()
        self.assertRegex(token, r"^[0-9a-f]{48}$")
        co.make_demo(self)                  # a second demo keeps it
        with open(token_path) as f:
            self.assertEqual(f.read().strip(), token)

        command = code_blocks("docs/serving.md")[0]
        self.assertEqual(len(command), 1, command)
        self.assertIn(" serve", command[0])
        # The one change: a free port instead of the demo's 8080, which
        # another program on a test machine may hold.
        proc = subprocess.Popen(
            ["sh", "-c", command[0] + " --listen 127.0.0.1:0"],
            cwd=co.dir, env=co.env, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True)
        self.addCleanup(stop_group, proc)
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        line = proc.stdout.readline().decode() if ready else ""
        m = re.match(r"listening on http://127\.0\.0\.1:(\d+)", line)
        if m is None:
            stop_group(proc)
            self.fail("serve did not start: %r\n%s"
                      % (line, proc.stderr.read().decode()))
        port = int(m.group(1))
        st, _ = get(port, "/feeds/clerk.json")
        self.assertEqual(st, 401)
        st, body = get(port, "/feeds/clerk.json",
                       {"Authorization": "Bearer " + token})
        self.assertEqual(st, 200)
        self.assertGreaterEqual(len(json.loads(body)["products"]), 40)
        st, body = get(port, "/feeds/google.xml")
        self.assertEqual(st, 200)
        self.assertIn(b"<rss", body)



class YourOwnShop(unittest.TestCase):
    def test_readme_walk_through(self):
        co = Checkout(self)
        blocks = code_blocks("README.md", "## Your own shop")
        self.assertEqual(len(blocks), 1)
        self.assertGreaterEqual(len(blocks[0]), 4)
        for command in blocks[0]:
            co.sh(command, self)
        with open(co.path("myshop", "feeds", "clerk.json")) as f:
            feed = json.load(f)
        self.assertGreaterEqual(len(feed["products"]), 40)
        self.assertEqual(os.listdir(co.path("feeds")), [])


if __name__ == "__main__":
    unittest.main()
