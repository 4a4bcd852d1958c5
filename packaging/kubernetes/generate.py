#!/usr/bin/env python3
"""Writes Kubernetes manifests for a folder of shop configs: for every
DIR/SHOP.conf a ConfigMap with it, a PersistentVolumeClaim for its store
and a CronJob running `posfeed -c /etc/posfeed/posfeed.conf run`, as in
shop-cronjob.yaml (see docs/many-shops.md).

  packaging/kubernetes/generate.py SHOPS_DIR [--image IMAGE]
      [--namespace NS] [--jitter DURATION] [--storage SIZE] > shops.yaml

Each config is written for the pod: its store and feeds_dir on the
volume (/var/lib/posfeed/...), its *_file secrets in the Secret's folder
(/etc/posfeed/secrets/...), every path absolute (a relative one would
resolve in the read-only /etc/posfeed; such a file is refused).
SHOP (the file name without .conf) names the objects (posfeed-SHOP) and
the Secret the CronJob mounts at /etc/posfeed/secrets (posfeed-SHOP,
optional: a shop without secrets needs none). The schedule comes from the
config's [sync] schedule and its [shop] timezone:

  daily HH:MM       that time, plus the shop's jitter, in the shop's zone
  every N minutes   every N minutes from the jitter's minute (N divides 60)
  every N hours     every N hours from the jitter's minute (N divides 24)
  on-demand (or none)  a suspended CronJob: run it with
                       kubectl create job --from=cronjob/posfeed-SHOP NAME

The jitter is a stable offset in [0, --jitter) taken from a hash of SHOP
(default 15m), so a thousand shops at daily 03:00 do not start in the
same minute, and the same shop keeps its minute on every regeneration.
Files are read in name order; the output is deterministic. Standard
library only. Exit status: 0 ok, 2 a bad argument or shop file (named
with its line), nothing written.
"""
import argparse
import configparser
import hashlib
import json
import os
import re
import sys

SHOP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
DURATION = re.compile(r"^(\d+)([smhd]?)$")
UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
DAILY = re.compile(r"^daily\s+(\d{1,2}):(\d{2})$")
EVERY = re.compile(r"^every\s+(\d+)\s+(minute|minutes|hour|hours)$")
LABEL = "app.kubernetes.io/name"
STORE_DIR = "/var/lib/posfeed"
SECRETS_DIR = "/etc/posfeed/secrets"


class ShopError(Exception):
    """A shop file that cannot be turned into manifests."""


def duration_s(text):
    m = DURATION.match(text.strip())
    if m is None:
        raise argparse.ArgumentTypeError(
            "%r is not a duration like 15m, 2h or 0" % text)
    return int(m.group(1)) * UNIT_S[m.group(2)]


def jitter_s(shop, window_s):
    """A stable offset in [0, window_s) from the shop's name: the same on
    every machine and every run of this script."""
    if window_s <= 0:
        return 0
    digest = hashlib.sha256(shop.encode()).digest()
    return int.from_bytes(digest[:8], "big") % window_s


def line_of(text, section, key):
    """The 1-based line of key in [section] of an INI text, for errors."""
    cur = None
    for n, ln in enumerate(text.splitlines(), 1):
        s = ln.strip()
        if s.startswith("[") and s.endswith("]"):
            cur = s[1:-1].strip()
        elif cur == section and s.split("=", 1)[0].strip() == key:
            return n
    return 0


def read_shop(path):
    """(config text, schedule string, timezone) of one shop file."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    ini = configparser.ConfigParser(inline_comment_prefixes=(";", "#"),
                                    interpolation=None, strict=False)
    try:
        ini.read_string(text, source=path)
    except configparser.Error as e:
        raise ShopError("%s: %s" % (path, str(e).splitlines()[0]))
    if not ini.has_option("shop", "timezone"):
        raise ShopError("%s: [shop] timezone is missing" % path)
    check_paths(path, text, ini)
    sched = ini.get("sync", "schedule", fallback="on-demand").strip()
    return text, sched, ini.get("shop", "timezone").strip()


def check_paths(path, text, ini):
    """posfeed resolves a relative path against the config's folder, which
    in the pod is the read-only /etc/posfeed: the store and feeds must
    name the volume, secret files the Secret's folder. A path that cannot
    work there is refused with its line."""
    need = [("shop", "store"), ("shop", "feeds_dir")]
    for sec in ini.sections():
        for key in ini.options(sec):
            if key.endswith("_file") or (sec == "source" and key == "path"):
                need.append((sec, key))
            elif sec.startswith("feed ") and key == "template":
                v = ini.get(sec, key)
                if "/" in v or "." in v:        # a file, not a built-in
                    need.append((sec, key))
    for sec, key in need:
        v = ini.get(sec, key, fallback="").strip()
        if not v.startswith("/"):
            n = line_of(text, sec, key)
            where = "%s:%d" % (path, n) if n else path
            raise ShopError(
                "%s: [%s] %s %s: in the pod a relative path lands in the "
                "read-only /etc/posfeed; give an absolute one (the store "
                "and feeds under %s, secret files under %s)"
                % (where, sec, key, "= " + v if v else "is not set",
                   STORE_DIR, SECRETS_DIR))


def cron_of(path, text, sched, offset_s):
    """(cron expression, suspended) for a posfeed schedule."""
    off_min = offset_s // 60
    where = "%s:%d" % (path, line_of(text, "sync", "schedule"))
    if sched == "on-demand":
        return "0 0 * * *", True
    m = DAILY.match(sched)
    if m:
        h, mi = int(m.group(1)), int(m.group(2))
        if h > 23 or mi > 59:
            raise ShopError("%s: schedule %r is not a time of day"
                            % (where, sched))
        t = (h * 60 + mi + off_min) % (24 * 60)
        return "%d %d * * *" % (t % 60, t // 60), False
    m = EVERY.match(sched)
    if m:
        n = int(m.group(1))
        if m.group(2).startswith("minute") and n >= 1 and 60 % n == 0:
            return "%d-59/%d * * * *" % (off_min % n, n), False
        if m.group(2).startswith("hour") and n >= 1 and 24 % n == 0:
            return "%d %d-23/%d * * *" % (off_min % 60, off_min // 60 % n,
                                          n), False
    raise ShopError("%s: schedule %r has no cron form here (daily HH:MM, "
                    "every N minutes with N dividing 60, every N hours with "
                    "N dividing 24, on-demand)" % (where, sched))


def manifests(shop, text, cron, suspended, tz, a):
    """The ConfigMap, PVC and CronJob of one shop, as dicts."""
    name = "posfeed-" + shop
    labels = {LABEL: "posfeed", "app.kubernetes.io/instance": shop}

    def meta(n):
        m = {"name": n, "labels": labels}
        if a.namespace:
            m["namespace"] = a.namespace
        return m

    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(name),
          "data": {"posfeed.conf": text}}
    pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
           "metadata": meta(name + "-store"),
           "spec": {"accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": a.storage}}}}
    container = {
        "name": "posfeed", "image": a.image,
        "args": ["-c", "/etc/posfeed/posfeed.conf", "run"],
        "env": [{"name": "TMPDIR", "value": "/tmp"}],
        "resources": {"requests": {"cpu": "250m", "memory": "96Mi"},
                      "limits": {"memory": "256Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/posfeed/posfeed.conf",
             "subPath": "posfeed.conf", "readOnly": True},
            {"name": "secrets", "mountPath": "/etc/posfeed/secrets",
             "readOnly": True},
            {"name": "store", "mountPath": "/var/lib/posfeed"},
            {"name": "tmp", "mountPath": "/tmp"}]}
    pod = {
        "restartPolicy": "Never", "terminationGracePeriodSeconds": 60,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001,
                            "runAsGroup": 10001, "fsGroup": 10001,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [container],
        "volumes": [
            {"name": "config", "configMap": {"name": name}},
            {"name": "secrets", "secret": {"secretName": name,
                                           "defaultMode": 0o440,
                                           "optional": True}},
            {"name": "store",
             "persistentVolumeClaim": {"claimName": name + "-store"}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}]}
    cj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta(name),
          "spec": {
              "schedule": cron, "timeZone": tz, "suspend": suspended,
              "concurrencyPolicy": "Forbid",
              "startingDeadlineSeconds": 900,
              "successfulJobsHistoryLimit": 1,
              "failedJobsHistoryLimit": 3,
              "jobTemplate": {"spec": {
                  "backoffLimit": 1,
                  "activeDeadlineSeconds": a.deadline,
                  "ttlSecondsAfterFinished": 86400,
                  "template": {"metadata": {"labels": labels},
                               "spec": pod}}}}}
    return [cm, pvc, cj]


def scalar(v):
    """A YAML scalar: JSON's forms of strings, numbers and booleans are
    valid YAML and never change type (no "no" read as false)."""
    return json.dumps(v)


def emit(v, indent, out):
    """Block-style YAML of dicts and lists; a multi-line string becomes a
    literal block, kept byte for byte."""
    pad = " " * indent
    if isinstance(v, dict):
        for k, x in v.items():
            if isinstance(x, str) and "\n" in x:
                # explicit indentation (a first line may start with a
                # blank) and chomping that keeps the trailing newlines
                body = x[:-1] if x.endswith("\n") else x
                chomp = ("+" if body.endswith("\n") else "") \
                    if x.endswith("\n") else "-"
                out.append("%s%s: |2%s" % (pad, k, chomp))
                out.extend((pad + "  " + ln) if ln else ""
                           for ln in body.split("\n"))
            elif isinstance(x, (dict, list)) and x:
                out.append("%s%s:" % (pad, k))
                emit(x, indent + 2, out)
            else:
                out.append("%s%s: %s" % (pad, k, scalar(x)))
    else:
        for x in v:
            if isinstance(x, (dict, list)) and x:
                sub = []
                emit(x, indent + 2, sub)
                out.append(pad + "- " + sub[0].lstrip())
                out.extend(sub[1:])
            else:
                out.append("%s- %s" % (pad, scalar(x)))


def shop_docs(path, a):
    shop = os.path.basename(path)[:-len(".conf")]
    if not SHOP_NAME.match(shop):
        raise ShopError("%s: the shop name %r must match "
                        "[A-Za-z0-9][A-Za-z0-9_-]{0,63}" % (path, shop))
    text, sched, tz = read_shop(path)
    cron, suspended = cron_of(path, text, sched, jitter_s(shop, a.jitter))
    return manifests(shop, text, cron, suspended, tz, a)


def main(argv):
    ap = argparse.ArgumentParser(
        description="Kubernetes manifests for a folder of shop configs.")
    ap.add_argument("shops_dir")
    ap.add_argument("--image", default="registry.example.com/posfeed:latest")
    ap.add_argument("--namespace", default="")
    ap.add_argument("--jitter", type=duration_s, default=15 * 60)
    ap.add_argument("--storage", default="1Gi")
    ap.add_argument("--deadline", type=int, default=3600,
                    help="activeDeadlineSeconds of each run (3600)")
    a = ap.parse_args(argv)
    try:
        names = sorted(n for n in os.listdir(a.shops_dir)
                       if n.endswith(".conf"))
    except OSError as e:
        print("generate.py: %s: %s" % (a.shops_dir, e.strerror),
              file=sys.stderr)
        return 2
    if not names:
        print("generate.py: %s: no *.conf files" % a.shops_dir,
              file=sys.stderr)
        return 2
    out = ["# Generated by packaging/kubernetes/generate.py from %d shop "
           "configs; do not edit, regenerate." % len(names)]
    try:
        for n in names:
            for doc in shop_docs(os.path.join(a.shops_dir, n), a):
                out.append("---")
                emit(doc, 0, out)
    except (ShopError, OSError, UnicodeDecodeError) as e:
        print("generate.py: %s" % e, file=sys.stderr)
        return 2
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
