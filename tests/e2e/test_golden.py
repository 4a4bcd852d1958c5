"""Golden files: a built-in template on a tiny fixture shop must render
byte for byte what tests/golden/ holds. A deliberate format change is
recorded with POSFEED_UPDATE_GOLDEN=1 and reviewed in the diff."""
import os
import shutil

from shop import REPO, ShopTest

GOLDEN = os.path.join(REPO, "tests", "golden")


class Golden(ShopTest):
    def check(self, name, feed):
        s = self.shop()
        shutil.rmtree(s.data)
        shutil.copytree(os.path.join(REPO, "tests", "fixtures", "tiny"),
                        s.data)
        shutil.copy(os.path.join(GOLDEN, name + ".conf"),
                    os.path.join(s.dir, "posfeed.conf"))
        s.posfeed("run")
        got = open(s.feed_path(feed), "rb").read()
        want_path = os.path.join(GOLDEN, name + "." + feed.split(".")[-1])
        if os.environ.get("POSFEED_UPDATE_GOLDEN"):
            open(want_path, "wb").write(got)
        want = open(want_path, "rb").read()
        self.assertEqual(got.decode(), want.decode())

    def test_clerk(self):
        self.check("clerk-tiny", "clerk.json")
