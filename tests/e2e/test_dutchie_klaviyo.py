"""Dutchie POS to Klaviyo, end to end: three locations of one parent
(tests/emulators/dutchie_emulator.py) through `posfeed run` into the
Klaviyo emulator (tests/emulators/klaviyo_emulator.py), then `posfeed
verify`. What Klaviyo holds is checked against the Dutchie dataset
(dutchie_data.small()), never against posfeed's own output."""
import os
import sys
import unittest

import test_dutchie
import test_push

FACTS = test_dutchie.FACTS


class DutchieToKlaviyo(test_dutchie.DutchieCase):
    def setUp(self):
        super().setUp()
        self.k = test_push.klaviyo(self)
        self.k.timezone = "America/Denver"      # the shop's
        self.s = self.shop()
        with open(self.s.conf, "a") as f:
            f.write(test_push.push_section(self.k, since="90 days"))
        os.environ["KLAVIYO_KEY"] = test_push.KEY
        self.addCleanup(os.environ.pop, "KLAVIYO_KEY", None)

    # ---- the dataset's truth ------------------------------------------
    def customers(self):
        """Customer id -> the email its profile goes by (merged customers
        by their survivor's), for the parent's emailed customers."""
        by_id = {c["customerId"]: c for c in self.data["customers"]
                 if set(c["locations"]) & set(FACTS["locations"])}
        out = {}
        for cid, c in by_id.items():
            while c.get("mergedIntoCustomerId") in by_id:
                c = by_id[c["mergedIntoCustomerId"]]
            if c["emailAddress"] and not c["isAnonymous"]:
                out[cid] = c["emailAddress"].lower()
        return out

    def expected_orders(self, returns):
        emails = self.customers()
        names = {loc["locationId"]: loc["locationName"]
                 for loc in self.data["locations"]}
        out = {}
        for t in self.data["transactions"]:
            if (t["locationId"] not in FACTS["locations"] or
                    t["transactionType"] != "Retail" or t["isVoid"] or
                    bool(t["isReturn"]) != returns or
                    t["customerId"] not in emails):
                continue
            # A Refunded Order names the order it refunds.
            tid = t["returnOnTransactionId"] if returns else \
                t["transactionId"]
            out["%s-%s" % (t["locationId"], tid)] = {
                "email": emails[t["customerId"]],
                "store": names[t["locationId"]],
                "medical": t["isMedical"]}
        return out

    def test_profiles_and_orders_arrive_once_with_their_location(self):
        self.s.posfeed("run")
        k = self.k
        # Profiles: only emailed customers (merged ones folded, one per
        # email), without phone numbers though every customer has one,
        # and nobody subscribed.
        want = set(self.customers().values())
        self.assertEqual(set(k.profiles), want)
        self.assertTrue(all(c["cellPhone"] for c in self.data["customers"]
                            if c["emailAddress"]))
        for email, p in k.profiles.items():
            self.assertNotIn("phone_number", p["attributes"], email)
        test_push.never_subscribed(self, k)
        opted = [c["emailAddress"].lower() for c in self.data["customers"]
                 if c["optedIntoMarketing"] and c["emailAddress"]]
        self.assertTrue(opted)
        for email in opted:
            self.assertIs(k.profiles[email]["attributes"]["properties"]
                          ["OptedIntoMarketing"], True)
        # Placed and Refunded Order: one per sale / return of an emailed
        # customer, at its location.
        for metric, returns in (("Placed Order", False),
                                ("Refunded Order", True)):
            got = {e["properties"]["OrderId"]: e for e in k.events
                   if e["metric"] == metric}
            want = self.expected_orders(returns)
            self.assertEqual(set(got), set(want), metric)
            for oid, w in want.items():
                e = got[oid]
                self.assertEqual(e["profile"]["email"], w["email"], oid)
                self.assertEqual(e["properties"]["Store"], w["store"], oid)
                self.assertEqual(bool(e["properties"].get("IsMedical")),
                                 w["medical"], oid)
        for e in k.events:
            self.assertIn("Store", e["properties"], e["unique_id"])
        self.assertEqual(k.duplicates, 0)
        # A second run sends nothing again.
        before = k.received
        self.s.posfeed("run")
        self.assertEqual(k.received, before)

    def test_verify_agrees_then_flags_a_new_sale(self):
        self.s.posfeed("run")
        r = self.s.posfeed("verify", "--days", "30")
        self.assertIn("klaviyo", r.stdout)
        self.assertNotIn("FLAGGED", r.stdout)
        # A sale rung up yesterday, after the sync: the POS has it,
        # nothing else does yet.
        e = self.emu
        e.add_transaction(
            {"locationId": FACTS["locations"][0], "customerId": 1,
             "transactionType": "Retail", "date": e.now() - 86400},
            [{"productId": 1, "inventoryId": 104, "quantity": 1,
              "unitPrice": 36.0}])
        e.settle()
        r = self.s.posfeed("verify", "--days", "30", expect=1)
        self.assertRegex(r.stdout, r"FLAGGED: pos \d+ != store")

    def test_a_klaviyo_account_in_another_timezone_warns(self):
        self.k.timezone = "UTC"
        self.s.posfeed("run")
        r = self.s.posfeed("verify", "--days", "30", expect=None)
        self.assertIn("the Klaviyo account's timezone is UTC",
                      r.stdout + r.stderr)


if __name__ == "__main__":
    sys.exit(unittest.main())
