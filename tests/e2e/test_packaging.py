"""packaging/ (issue 15, "past one machine"): the Kubernetes examples are
valid objects of the Kubernetes API, say what a shop's job needs (one run
at a time, a deadline, non-root, secrets as files, /healthz readiness),
the posfeed.conf each ConfigMap carries passes `posfeed check`, and
packaging/kubernetes/generate.py turns a folder of shop configs into
objects that validate, with spread, stable schedules.

The validator is tests/node/k8s_validate.mjs: kubernetes-models (the
official OpenAPI schemas) plus unknown fields, from `npm ci` in
tests/node, which .ci/run does. Without Node.js or those packages the
tests that need them are skipped locally and fail in CI (CI set).
"""
import http.client
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from shop import BIN, REPO
from test_docs import code_blocks, stop_group

K8S = os.path.join(REPO, "packaging", "kubernetes")
NODE_DIR = os.path.join(REPO, "tests", "node")
VALIDATE = os.path.join(NODE_DIR, "k8s_validate.mjs")
GENERATE = os.path.join(K8S, "generate.py")
NOMAD_JOB = os.path.join(REPO, "packaging", "nomad",
                         "posfeed-shop.nomad.hcl")
HCL_TO_JSON = os.path.join(NODE_DIR, "hcl_to_json.mjs")
# Where the manifests mount things (Kubernetes; Nomad's task folders);
# the config check maps them to a scratch folder.
MOUNTS = ("/etc/posfeed/", "/var/lib/posfeed/", "/secrets/", "/local/")


def validator_missing():
    """Why the validator cannot run here, or None."""
    if shutil.which("node") is None:
        return "Node.js is not installed (Debian package nodejs)"
    for pkg in ("kubernetes-models", "yaml", "@cdktf/hcl2json"):
        if not os.path.isdir(os.path.join(NODE_DIR, "node_modules", pkg)):
            return ("%s is not installed: run `npm ci` in tests/node "
                    "(.ci/run does)" % pkg)
    return None


_node_cache = {}


def node_tool(tc, script, paths, stdin=None):
    """What one of tests/node's scripts prints for paths ("-" reads
    stdin), as JSON. The same question is asked once per test run (a
    deep copy each time: tests may not share what they change)."""
    why = validator_missing()
    if why is not None:
        if os.environ.get("CI"):
            tc.fail("CI must have the packaging validators: " + why)
        tc.skipTest(why)
    key = (script, tuple(paths), stdin)
    if key not in _node_cache:
        r = subprocess.run(["node", script] + list(paths), input=stdin,
                           capture_output=True, text=True, timeout=120)
        tc.assertEqual(r.returncode, 0, r.stderr)
        _node_cache[key] = r.stdout
    return json.loads(_node_cache[key])


def validate(tc, paths, stdin=None):
    """The Kubernetes validator's documents for paths."""
    return node_tool(tc, VALIDATE, paths, stdin)


def manifest_files():
    return sorted(os.path.join(K8S, n) for n in os.listdir(K8S)
                  if n.endswith(".yaml"))


def ini_keys(text):
    """(section, key, value) of an INI text, comments dropped."""
    out, sec = [], None
    for ln in text.splitlines():
        s = ln.strip()
        if not s or s[0] in ";#":
            continue
        if s.startswith("["):
            sec = s[1:-1].strip()
        elif "=" in s:
            k, v = s.split("=", 1)
            out.append((sec, k.strip(), v.split(";")[0].strip()))
    return out


def pod_spec(obj):
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


class Manifests(unittest.TestCase):
    def docs(self):
        docs = validate(self, manifest_files())
        self.assertTrue(docs)
        return docs

    def test_every_manifest_is_a_valid_object(self):
        docs = self.docs()
        for d in docs:
            self.assertEqual(d["errors"], [], "%s document %d (%s %s)"
                             % (d["file"], d["doc"], d["kind"], d["name"]))
        kinds = {d["kind"] for d in docs}
        for k in ("ConfigMap", "PersistentVolumeClaim", "CronJob",
                  "Deployment", "Service"):
            self.assertIn(k, kinds)

    def test_validator_refuses_what_the_api_server_would(self):
        with open(os.path.join(K8S, "shop-cronjob.yaml")) as f:
            good = f.read()
        bad = (good.replace("concurrencyPolicy: Forbid",
                            "concurrencyPolicy: Never")
               .replace("runAsUser: 10001", "runAsUser: root")
               .replace("      activeDeadlineSeconds:",
                        "      activeDeadline:"))
        docs = validate(self, ["-"], stdin=bad)
        errors = " ".join(e for d in docs for e in d["errors"])
        self.assertIn("concurrencyPolicy", errors)
        self.assertIn("runAsUser", errors)
        self.assertIn("unknown field spec.jobTemplate.spec.activeDeadline",
                      errors)
        docs = validate(self, ["-"], stdin="apiVersion: v1\nkind: Pdo\n")
        self.assertIn("unknown apiVersion/kind", docs[0]["errors"][0])
        docs = validate(self, ["-"], stdin="a: [1,\n")
        self.assertTrue(docs[0]["errors"])

    def test_jobs_run_posfeed_safely(self):
        docs = self.docs()
        workloads = [d["object"] for d in docs
                     if d["kind"] in ("CronJob", "Deployment")]
        self.assertTrue(workloads)
        claims = {d["name"] for d in docs
                  if d["kind"] == "PersistentVolumeClaim"}
        for w in workloads:
            pod = pod_spec(w)
            self.assertTrue(pod["securityContext"]["runAsNonRoot"])
            c = pod["containers"][0]
            self.assertEqual(c["args"][:2], ["-c",
                                             "/etc/posfeed/posfeed.conf"])
            self.assertFalse(
                c["securityContext"]["allowPrivilegeEscalation"])
            self.assertIn("memory", c["resources"]["requests"])
            self.assertIn("memory", c["resources"]["limits"])
            vols = {v["name"]: v for v in pod["volumes"]}
            self.assertIn(vols["store"]["persistentVolumeClaim"]
                          ["claimName"], claims)
            self.assertIn("secret", vols["secrets"])
            mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
            self.assertEqual(mounts["secrets"], "/etc/posfeed/secrets")
            self.assertEqual(mounts["store"], "/var/lib/posfeed")
        cron = [w for w in workloads if w["kind"] == "CronJob"]
        self.assertTrue(cron)
        for cj in cron:
            self.assertEqual(cj["spec"]["concurrencyPolicy"], "Forbid")
            job = cj["spec"]["jobTemplate"]["spec"]
            self.assertGreater(job["activeDeadlineSeconds"], 0)
            self.assertEqual(pod_spec(cj)["containers"][0]["args"][2:],
                             ["run"])

    def test_serve_is_ready_on_healthz_behind_a_service(self):
        docs = self.docs()
        deps = [d["object"] for d in docs if d["kind"] == "Deployment"]
        svcs = [d["object"] for d in docs if d["kind"] == "Service"]
        self.assertTrue(deps and svcs)
        for dep in deps:
            self.assertEqual(dep["spec"]["replicas"], 1)
            self.assertEqual(dep["spec"]["strategy"]["type"], "Recreate")
            c = pod_spec(dep)["containers"][0]
            self.assertEqual(c["args"][2:], ["serve"])
            probe = c["readinessProbe"]["httpGet"]
            self.assertEqual(probe["path"], "/healthz")
            ports = {p["name"]: p["containerPort"] for p in c["ports"]}
            self.assertIn(probe["port"], ports)
            labels = dep["spec"]["template"]["metadata"]["labels"]
            svc = [s for s in svcs if all(
                labels.get(k) == v for k, v in s["spec"]["selector"].items())]
            self.assertEqual(len(svc), 1, "one Service selects the Pods")

    def test_secrets_come_from_files(self):
        for d in self.docs():
            if d["kind"] != "ConfigMap":
                continue
            text = d["object"]["data"]["posfeed.conf"]
            files = [(k, v) for _, k, v in ini_keys(text)
                     if k.endswith("_file")]
            self.assertTrue(files, d["name"])
            for k, v in files:
                self.assertTrue(v.startswith(MOUNTS), (k, v))
            for sec, k, v in ini_keys(text):
                self.assertFalse(
                    k in ("client_secret", "token", "api_key", "secret_key",
                          "access_key") and not v.startswith("env:"),
                    "%s: [%s] %s given inline" % (d["name"], sec, k))


def check_config(tc, text):
    """Runs `posfeed check` on a config written for the manifests' mounts,
    with those folders mapped to a scratch root and every *_file it names
    present. Returns the CompletedProcess."""
    root = tempfile.mkdtemp(prefix="posfeed-pkg-")
    tc.addCleanup(shutil.rmtree, root, True)
    text = re.sub(r"(?m)^(\s*\w+\s*=\s*)(%s)" % "|".join(MOUNTS),
                  lambda m: m.group(1) + root + m.group(2), text)
    for _, k, v in ini_keys(text):
        if k.endswith("_file"):
            os.makedirs(os.path.dirname(v), exist_ok=True)
            with open(v, "w") as f:
                f.write("placeholder-" + k + "\n")
    os.makedirs(root + "/var/lib/posfeed/feeds", exist_ok=True)
    conf = os.path.join(root, "posfeed.conf")
    with open(conf, "w") as f:
        f.write(text)
    env = {k: v for k, v in os.environ.items() if k != "POSFEED_TOKEN"}
    return subprocess.run([BIN, "-c", conf, "check"], capture_output=True,
                          text=True, env=env, timeout=60)


def assert_checks(tc, text, where):
    """`posfeed check` passes on the config text."""
    r = check_config(tc, text)
    tc.assertEqual(r.returncode, 0, "%s: %s" % (where, r.stderr))


class EmbeddedConfigs(unittest.TestCase):
    def configs(self):
        docs = validate(self, manifest_files())
        return [(d["name"], d["object"]["data"]["posfeed.conf"])
                for d in docs if d["kind"] == "ConfigMap"]

    def test_each_configmap_is_a_posfeed_conf_that_checks(self):
        configs = self.configs()
        self.assertGreaterEqual(len(configs), 2)
        for name, text in configs:
            with self.subTest(configmap=name):
                assert_checks(self, text, name)

    def test_check_catches_a_broken_embedded_config(self):
        # The check above can fail: a config missing its secret file or
        # with a misspelt key is refused.
        _, text = self.configs()[0]
        r = check_config(self, text.replace("timezone =", "timezon ="))
        self.assertEqual(r.returncode, 2)
        self.assertIn("timezon", r.stderr)


class Nomad(unittest.TestCase):
    """packaging/nomad/: HashiCorp's own HCL parser reads the job; the
    rest is checked on what it read."""

    def job(self):
        out = node_tool(self, HCL_TO_JSON, [NOMAD_JOB])
        self.assertIsNone(out[0]["error"])
        jobs = out[0]["body"]["job"]
        self.assertEqual(len(jobs), 1)
        name, (job,) = next(iter(jobs.items()))
        return name, job

    def test_a_periodic_batch_job_that_never_overlaps(self):
        name, job = self.job()
        self.assertEqual(job["type"], "batch")
        (periodic,) = job["periodic"]
        self.assertIs(periodic["prohibit_overlap"], True)
        for cron in periodic["crons"]:
            self.assertRegex(cron, r"^\S+ \S+ \S+ \S+ \S+$")
        (group,) = job["group"].values()
        (task,) = group[0]["task"].values()
        task = task[0]
        self.assertNotIn(task["user"].split(":")[0], ("", "0", "root"))
        (config,) = task["config"]
        self.assertEqual(config["args"][-1], "run")
        self.assertIs(config["readonly_rootfs"], True)
        (mount,) = task["volume_mount"]
        self.assertEqual(mount["destination"], "/var/lib/posfeed")
        self.assertEqual(group[0]["volume"][mount["volume"]][0]["type"],
                         "host")
        templates = {t["destination"]: t["data"] for t in task["template"]}
        conf = templates["local/posfeed.conf"]
        self.assertEqual(config["args"][:2], ["-c", "/local/posfeed.conf"])
        tz = [v for sec, k, v in ini_keys(conf) if k == "timezone"]
        self.assertEqual(tz, [periodic["time_zone"]])
        # Every secret file the config names is rendered from a Nomad
        # Variable of this job, never written in the job itself.
        for _, k, v in ini_keys(conf):
            if k.endswith("_file") and v.startswith("/secrets/"):
                data = templates[v[1:]]
                self.assertIn('nomadVar "nomad/jobs/%s"' % name, data)
        assert_checks(self, conf, NOMAD_JOB)

    def test_the_parser_refuses_broken_hcl(self):
        out = node_tool(self, HCL_TO_JSON, ["-"],
                        stdin='job "x" {\n  type = "batch"\n')
        self.assertIsNotNone(out[0]["error"])


def generate(tc, shops_dir, *args):
    return subprocess.run([sys.executable, GENERATE, shops_dir] + list(args),
                          capture_output=True, text=True, timeout=60)


class Generator(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="posfeed-shops-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.acme = example_shop()
        shops = {"acme": self.acme}
        for i in range(20):
            shops["shop-%02d" % i] = self.acme.replace(
                "schedule = daily 03:30", "schedule = daily 03:00")
        shops["hourly"] = self.acme.replace(
            "schedule = daily 03:30", "schedule = every 2 hours")
        shops["quarter"] = self.acme.replace(
            "schedule = daily 03:30", "schedule = every 15 minutes")
        shops["manual"] = self.acme.replace(
            "schedule = daily 03:30", "schedule = on-demand")
        # YAML's traps: an indented first line, a colon, quotes, a hash,
        # a tab, trailing blank lines; the ConfigMap keeps it byte for byte.
        shops["tricky"] = ('  ; indented: "quoted" # and \'single\'\n\t;tab\n'
                           + self.acme + "\n\n")
        for name, text in shops.items():
            with open(os.path.join(self.dir, name + ".conf"), "w") as f:
                f.write(text)
        self.shops = shops

    def cronjobs(self, out):
        return {d["object"]["metadata"]["labels"]
                ["app.kubernetes.io/instance"]: d["object"]
                for d in validate(self, ["-"], stdin=out)
                if d["kind"] == "CronJob"}

    def test_one_valid_cronjob_per_shop(self):
        r = generate(self, self.dir, "--namespace", "feeds")
        self.assertEqual(r.returncode, 0, r.stderr)
        docs = validate(self, ["-"], stdin=r.stdout)
        for d in docs:
            self.assertEqual(d["errors"], [], (d["kind"], d["name"]))
            self.assertEqual(d["object"]["metadata"]["namespace"], "feeds")
        cms = {d["name"]: d["object"]["data"]["posfeed.conf"]
               for d in docs if d["kind"] == "ConfigMap"}
        self.assertEqual(cms, {"posfeed-" + k: v
                               for k, v in self.shops.items()})
        cj = self.cronjobs(r.stdout)
        self.assertEqual(set(cj), set(self.shops))
        for shop, obj in cj.items():
            self.assertEqual(obj["spec"]["concurrencyPolicy"], "Forbid")
            self.assertEqual(obj["spec"]["timeZone"], "Europe/Amsterdam")
            self.assertEqual(obj["spec"]["suspend"], shop == "manual")
        # The example is what the generator writes for its shop.
        example = [d["object"] for d in validate(self, manifest_files())
                   if d["kind"] == "CronJob"]
        self.assertEqual(example[0]["spec"]["schedule"],
                         cj["acme"]["spec"]["schedule"])
        # The output is stable: a regeneration changes nothing.
        self.assertEqual(generate(self, self.dir, "--namespace",
                                  "feeds").stdout, r.stdout)

    def test_schedules_are_spread_within_the_jitter(self):
        r = generate(self, self.dir, "--jitter", "30m")
        self.assertEqual(r.returncode, 0, r.stderr)
        cj = self.cronjobs(r.stdout)
        starts = []
        for i in range(20):
            m = re.fullmatch(r"(\d+) (\d+) \* \* \*",
                             cj["shop-%02d" % i]["spec"]["schedule"])
            self.assertIsNotNone(m)
            t = int(m.group(2)) * 60 + int(m.group(1))
            self.assertTrue(180 <= t < 210, t)
            starts.append(t)
        # 20 shops due at 03:00 over 30 minutes: not all in one minute,
        # at least half of them in minutes of their own.
        self.assertGreaterEqual(len(set(starts)), 10, starts)
        self.assertRegex(cj["hourly"]["spec"]["schedule"],
                         r"^\d+ [01]-23/2 \* \* \*$")
        self.assertRegex(cj["quarter"]["spec"]["schedule"],
                         r"^\d+-59/15 \* \* \* \*$")
        r0 = generate(self, self.dir, "--jitter", "0")
        cj0 = self.cronjobs(r0.stdout)
        self.assertEqual(cj0["shop-00"]["spec"]["schedule"], "0 3 * * *")
        self.assertEqual(cj0["acme"]["spec"]["schedule"], "30 3 * * *")

    def test_bad_shop_files_are_refused_with_their_name(self):
        bad = os.path.join(self.dir, "no good.conf")
        with open(bad, "w") as f:
            f.write(self.acme)
        r = generate(self, self.dir)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stdout, "")
        self.assertIn("no good.conf", r.stderr)
        os.unlink(bad)
        with open(os.path.join(self.dir, "odd.conf"), "w") as f:
            f.write(self.acme.replace("daily 03:30", "every 7 minutes"))
        r = generate(self, self.dir)
        self.assertEqual(r.returncode, 2)
        self.assertRegex(r.stderr, r"odd\.conf:\d+: schedule 'every 7 ")
        os.unlink(os.path.join(self.dir, "odd.conf"))
        for old, new, what in (
                ("store = /var/lib/posfeed/store.db", "store = store.db",
                 r"\[shop\] store = store\.db"),
                ("store = /var/lib/posfeed/store.db\n", "",
                 r"\[shop\] store is not set"),
                ("client_secret_file = /etc/posfeed/secrets/",
                 "client_secret_file = ", r"\[source\] client_secret_file"),
                ("template = google-shopping", "template = my/google.xml",
                 r"\[feed google\] template")):
            with open(os.path.join(self.dir, "rel.conf"), "w") as f:
                f.write(self.acme.replace(old, new))
            r = generate(self, self.dir)
            self.assertEqual(r.returncode, 2, what)
            self.assertEqual(r.stdout, "")
            self.assertRegex(r.stderr, r"rel\.conf(:\d+)?: " + what)
            self.assertIn("/var/lib/posfeed", r.stderr)
        os.unlink(os.path.join(self.dir, "rel.conf"))
        self.assertEqual(generate(self, self.dir).returncode, 0)
        empty = tempfile.mkdtemp(dir=self.dir)
        r = generate(self, empty)
        self.assertEqual(r.returncode, 2)
        self.assertIn("no *.conf files", r.stderr)


def example_shop():
    """The posfeed.conf of packaging/kubernetes/shop-cronjob.yaml."""
    with open(os.path.join(K8S, "shop-cronjob.yaml")) as f:
        m = re.search(r"posfeed\.conf: \|\n((?:    .*\n|\n)+)", f.read())
    return re.sub(r"(?m)^    ", "", m.group(1)).rstrip("\n") + "\n"


class DocCommands(unittest.TestCase):
    """The commands README's "Running many shops" and docs/many-shops.md
    show, run as written (paths under /tmp moved to a scratch folder)."""

    def scratch(self):
        """A folder laid out as the repository for what the commands
        read (packaging/, the example shops and the demo's data), so
        what they write stays out of the checkout."""
        d = tempfile.mkdtemp(prefix="posfeed-many-")
        self.addCleanup(shutil.rmtree, d, True)
        os.symlink(os.path.join(REPO, "packaging"),
                   os.path.join(d, "packaging"))
        os.symlink(BIN, os.path.join(d, "posfeed"))
        for sub in ("shops", os.path.join("demo", "data")):
            shutil.copytree(os.path.join(REPO, "examples", sub),
                            os.path.join(d, "examples", sub))
        return d

    def sh(self, command, cwd):
        r = subprocess.run(["sh", "-c", command], cwd=cwd,
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, "%s\n%s%s" % (command, r.stdout,
                                                       r.stderr))
        return r

    def test_readme_generator_command(self):
        d = self.scratch()
        blocks = code_blocks("README.md", "## Running many shops")
        self.assertEqual(len(blocks), 2, blocks)
        self.assertEqual(len(blocks[1]), 1)
        self.sh(blocks[1][0], d)
        with open(os.path.join(d, "shops.yaml")) as f:
            docs = validate(self, ["-"], stdin=f.read())
        self.assertEqual(sorted(x["name"] for x in docs
                                if x["kind"] == "CronJob"),
                         ["posfeed-acme"])
        for x in docs:
            self.assertEqual(x["errors"], [], x["name"])

    def test_example_shop_is_the_cronjobs(self):
        # packaging/kubernetes/shops/acme.conf is the config the CronJob
        # example embeds: the README's generator command starts from it.
        with open(os.path.join(K8S, "shops", "acme.conf")) as f:
            self.assertEqual(f.read(), example_shop())

    def test_readme_serve_shops_command(self):
        d = self.scratch()
        shops = os.path.join(d, "examples", "shops")
        names = sorted(f[:-5] for f in os.listdir(shops)
                       if f.endswith(".conf"))
        self.assertGreaterEqual(len(names), 2)
        for name in names:
            r = subprocess.run([BIN, "-c", os.path.join(shops,
                                                        name + ".conf"),
                                "check"], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
        command = code_blocks("README.md", "## Running many shops")[0]
        self.assertEqual(len(command), 1, command)
        self.assertIn(" --listen 127.0.0.1:8080", command[0])
        # The one change: a free port instead of 8080, which another
        # program on a test machine may hold.
        line = command[0].replace(":8080", ":0")
        proc = subprocess.Popen(["sh", "-c", line], cwd=d,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                start_new_session=True)
        self.addCleanup(stop_group, proc)
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        first = proc.stdout.readline().decode() if ready else ""
        m = re.search(r"listening on https?://127\.0\.0\.1:(\d+)", first)
        if m is None:
            stop_group(proc, close=False)
            err = proc.stderr.read().decode()
            proc.stdout.close()
            proc.stderr.close()
            self.fail("serve --shops did not start: %r\n%s" % (first, err))
        c = http.client.HTTPConnection("127.0.0.1", int(m.group(1)),
                                       timeout=20)
        try:
            c.request("GET", "/healthz")
            self.assertEqual(c.getresponse().read().strip(), b"ok")
            c.request("GET", "/status.json")
            r = c.getresponse()
            body = r.read().decode()
            self.assertEqual(r.status, 200, body)
            shown = [x["name"] for x in json.loads(body)["shops"]]
            self.assertEqual(shown, names)
        finally:
            c.close()

    def test_measuring_commands_of_the_sizing(self):
        tmp = tempfile.mkdtemp(prefix="posfeed-sizing-")
        self.addCleanup(shutil.rmtree, tmp, True)
        blocks = code_blocks("docs/many-shops.md",
                             "### How these figures were measured")
        self.assertEqual(len(blocks), 3, blocks)
        script = "\n".join(blocks[0] + blocks[1])
        script = (script.replace("/tmp/", tmp + "/")
                  .replace("build/posfeed", BIN))
        r = self.sh(script, REPO)
        runs = re.findall(r"(?m)^[0-9.]+ s, (\d+) KB$", r.stderr)
        self.assertEqual(len(runs), 3, r.stderr)
        with open(os.path.join(tmp, "shop1k", "feeds", "clerk.json")) as f:
            self.assertEqual(len(json.load(f)["products"]), 1000)
        with open(os.path.join(tmp, "lsr1k", "dataset.json")) as f:
            self.assertEqual(len(json.load(f)["Item"]), 1000)
        # The third block (the eCom bench, about a minute) is
        # tests/emulators/lse_bench.py as `make bench` runs it.
        self.assertIn("tests/emulators/lse_bench.py", blocks[2][0])


if __name__ == "__main__":
    unittest.main()
