"""Payables: vouchers owed to collaborators (contractors), grouped in statements, with their bad records.

The collaborators are a directory the target holds before the migration (``GenerationSummary.collaborators``,
created by ``target_seed.seed_collaborators``); a voucher names its collaborator by email, by external id
(``COLLAB_REF``) or by both, never by the target's id (``COLLAB_ID``), which the export cannot know.

A statement (``STATEMENT_NO``) is 1-4 vouchers of one collaborator on one day, named alike, with one
status and one due date, and a positive sum (a deduction is a negative voucher): merged on the statement,
it is one payable. A bad voucher is a statement of its own, so it is rejected alone, whether the target
takes the vouchers one by one or merged.

Payables draw from a random generator of their own, seeded from the export's seed: adding them (or
changing how many) leaves every byte of the other entities' files as it was.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from batch_orchestration.demo.books import quota
from batch_orchestration.demo.fake import Faker, money
from batch_orchestration.demo.layout import Row, split_counts
from batch_orchestration.demo.summary import BadRecord, GenerationSummary

PAYABLE_KINDS = ("zero_payable_amount", "payable_without_collaborator", "paid_payable_without_date",
                 "payable_unknown_collaborator", "payable_sub_cent_amount")
PAYABLES_PER_COLLABORATOR, MIN_COLLABORATORS = 3, 5
# How a statement names its collaborator: COLLAB_EMAIL only, COLLAB_REF only, or both.
NAMED_BY, NAMED_BY_WEIGHTS = (("email",), ("ref",), ("email", "ref")), (50, 25, 25)
STATUSES, STATUS_WEIGHTS = ("open", "approved", "draft", "paid"), (55, 15, 10, 20)
VOUCHERS_PER_STATEMENT = (1, 4)
DEDUCTION_SHARE = 1 / 6
CHARGE_CENTS = (5_000, 800_000)  # RM 50 to RM 8,000 a voucher
DUE_DAYS = (7, 14, 30, 30, 45)  # after the statement's day
PAID_DAYS_BACK = 5  # a paid statement was paid on its day or up to this many days before
SERVICES = ("Delivery runs (Klang Valley)", "Graphic design", "Site supervision", "Event crew", "Photography",
            "Translation BM-EN", "IT support call-outs", "Copywriting", "Aircond servicing", "Bookkeeping",
            "Lorry hire with driver", "Cleaning services")
DEDUCTIONS = ("Advance recovered", "Equipment rental deducted", "Late delivery penalty",
              "Uniform deposit", "Damaged goods charged back", "Overpayment last month")


def collaborator_count(payables: int) -> int:
    """About one collaborator per three vouchers, at least a handful (none for an export without payables)."""
    return max(MIN_COLLABORATORS, round(payables / PAYABLES_PER_COLLABORATOR)) if payables else 0


class Payables:
    """Builds the payables partition and the collaborator directory of an export being generated."""

    def __init__(self, days: list[date], seed: int, fraction: float, summary: GenerationSummary) -> None:
        self.rng = random.Random(f"payables/{seed}")
        self.fake = Faker(self.rng)
        self.days, self.labels = days, [d.isoformat() for d in days]
        self.fraction, self.summary = fraction, summary
        self.collaborators: list[dict[str, str]] = []
        self.rows: list[list[Row]] = [[] for _ in days]
        self._voucher_no = self._statement_no = self._unknown_refs = 0

    def add(self, count: int) -> None:
        """``count`` vouchers in statements, split evenly over the days, the bad ones among them."""
        self.collaborators = [self._collaborator(n) for n in range(1, collaborator_count(count) + 1)]
        self.summary.collaborators = self.collaborators
        per_day = split_counts(count, len(self.days), None)
        for index, bad_kinds in enumerate(self._deal_bad_kinds(count, per_day)):
            plans = [(size, None) for size in self._statement_sizes(per_day[index] - len(bad_kinds))]
            plans += [(1, kind) for kind in bad_kinds]
            self.rng.shuffle(plans)
            for size, kind in plans:
                rows = self._statement(index, size)
                if kind is not None:
                    self._spoil(kind, rows[0], index)

    def _collaborator(self, number: int) -> dict[str, str]:
        country = self.fake.country()
        name = self.fake.company_name(country)
        return {"email": self.fake.email(name, country), "name": name, "externalId": f"VND-{number:05d}"}

    def _deal_bad_kinds(self, count: int, per_day: list[int]) -> list[list[str]]:
        """The bad kinds of each day: each bad voucher goes to the day whose bad share it raises least, so
        that no day's reject rate is over the demo's threshold."""
        per_kind = quota(self.fraction, count, len(PAYABLE_KINDS)) if count else 0
        kinds = [kind for kind in PAYABLE_KINDS for _ in range(per_kind)]
        if len(kinds) > count // 2:
            raise ValueError("too few payables for the bad records requested; lower bad_fraction")
        self.rng.shuffle(kinds)
        dealt: list[list[str]] = [[] for _ in per_day]
        for kind in kinds:
            index = min((i for i, n in enumerate(per_day) if n), key=lambda i: (len(dealt[i]) + 1) / per_day[i])
            dealt[index].append(kind)
        return dealt

    def _statement_sizes(self, vouchers: int) -> list[int]:
        sizes = []
        while vouchers > 0:
            sizes.append(min(vouchers, self.rng.randint(*VOUCHERS_PER_STATEMENT)))
            vouchers -= sizes[-1]
        return sizes

    def _statement(self, index: int, size: int) -> list[Row]:
        """``size`` good vouchers of one statement on day ``index``."""
        rng, day = self.rng, self.days[index]
        self._statement_no += 1
        collaborator = rng.choice(self.collaborators)
        named_by = rng.choices(NAMED_BY, NAMED_BY_WEIGHTS)[0]
        status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
        paid = day - timedelta(rng.randint(0, PAID_DAYS_BACK))
        common = {"COLLAB_EMAIL": collaborator["email"] if "email" in named_by else "", "COLLAB_ID": "",
                  "COLLAB_REF": collaborator["externalId"] if "ref" in named_by else "", "STATUS": status,
                  "DUE_DATE": (day + timedelta(rng.choice(DUE_DAYS))).isoformat(),
                  "PAID_DATE": paid.isoformat() if status == "paid" else "",
                  "STATEMENT_NO": f"ST-{self._statement_no:06d}"}
        rows = []
        for cents in self._amounts(size):
            self._voucher_no += 1
            description = f"{rng.choice(SERVICES)}, {day:%B %Y}" if cents > 0 else rng.choice(DEDUCTIONS)
            rows.append({"VOUCHER_NO": f"PV-{self._voucher_no:06d}", **common, "AMOUNT": money(cents),
                         "DESCRIPTION": description})
        self.rows[index].extend(rows)
        return rows

    def _amounts(self, size: int) -> list[int]:
        """``size`` amounts in cents, some negative (deductions), the first positive if all would not be:
        the deductions take at most half of the charges, so the statement's sum is positive."""
        rng = self.rng
        deductions = [rng.random() < DEDUCTION_SHARE for _ in range(size)]
        deductions[0] = deductions[0] and not all(deductions)
        charges = {n: rng.randint(*CHARGE_CENTS) for n, deduction in enumerate(deductions) if not deduction}
        cap = sum(charges.values()) // (2 * size)
        return [charges[n] if n in charges else -rng.randint(100, cap) for n in range(size)]

    def _spoil(self, kind: str, row: Row, index: int) -> None:
        """Make the one voucher of a statement bad in the way ``kind`` names."""
        if kind == "zero_payable_amount":
            row["AMOUNT"] = detail = "0.00"
        elif kind == "payable_without_collaborator":
            row["COLLAB_EMAIL"] = row["COLLAB_REF"] = ""
            detail = "COLLAB_EMAIL, COLLAB_ID and COLLAB_REF are blank"
        elif kind == "paid_payable_without_date":
            row["STATUS"], row["PAID_DATE"] = "paid", ""
            detail = "STATUS paid, PAID_DATE blank"
        elif kind == "payable_unknown_collaborator":
            detail = self._unknown_collaborator(row)
        elif kind == "payable_sub_cent_amount":
            row["AMOUNT"] = f"{row['AMOUNT']}{self.rng.randint(1, 9)}"
            detail = f"AMOUNT {row['AMOUNT']}: Bulk Payables keeps 2 decimals"
        else:
            raise ValueError(f"not a payable kind: {kind}")
        self.summary.bad_records.append(BadRecord(kind, "payables", row["VOUCHER_NO"], self.labels[index], detail))

    def _unknown_collaborator(self, row: Row) -> str:
        """Name a collaborator the directory does not have, the way the voucher names one: an email no
        collaborator has (the faker's are unique), the external id after the directory's last."""
        if row["COLLAB_EMAIL"]:
            country = self.fake.country()
            row["COLLAB_EMAIL"] = self.fake.email(self.fake.company_name(country), country)
        if row["COLLAB_REF"]:
            self._unknown_refs += 1
            row["COLLAB_REF"] = f"VND-{len(self.collaborators) + self._unknown_refs:05d}"
        return f"no collaborator has {' or '.join(v for v in (row['COLLAB_EMAIL'], row['COLLAB_REF']) if v)}"
