"""Deterministic fake legacy data: company names, contacts, addresses and an item catalogue.

Everything is drawn from a caller's ``random.Random`` so a seed reproduces the same values.
Good values here satisfy the target's rules (seed 000, "Data Validation").
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass

MY_OWNERS = ("Ah Meng", "Siti Aminah", "Muthu", "Lim Brothers", "Tan & Sons", "Wong Kee", "Raju",
             "Nurul Huda", "Ah Kow", "Chong", "Fatimah", "Ganesan", "Mei Ling", "Hafiz", "Ooi")
MY_TRADES = ("Kedai Runcit", "Syarikat", "Perniagaan", "Restoran", "Bengkel", "Kedai Ubat", "Pasar Mini",
             "Kilang Roti", "Kedai Elektrik", "Percetakan")
MY_SUFFIXES = (", Sdn Bhd", " Sdn. Bhd.", " Enterprise", " Trading", " Berhad", " (M) Sdn Bhd", "")
ADJECTIVES = ("Pacific", "Golden", "Blue Orchid", "Harbour", "Evergreen", "Summit", "Crescent", "Lotus",
              "Straits", "Monsoon", "Jade", "Silverline", "Red Hibiscus", "Northstar", "Coral")
NOUNS = ("Logistics", "Trading", "Engineering", "Foods", "Textiles", "Electronics", "Supplies", "Holdings",
         "Builders", "Pharmacy", "Motors", "Printing", "Marine", "Hardware", "Bakery")
INTL_SUFFIXES = {"MY": (" Sdn Bhd", ", Sdn Bhd", " Bhd"), "SG": (" Pte Ltd", " Pte. Ltd."),
                 "US": (" Inc.", " LLC", ", Inc.", " Co.")}
# Names that exercise CSV quoting and UTF-8: accents, embedded quotes and commas.
SPECIAL_NAMES = ("Café Rendang & Co", "Señor Kopi Sdn Bhd", "Crème de la Crème Bakery",
                 'The "Golden" Wok Restaurant', "Müller Präzision (M) Sdn Bhd", "Kopitiam Ñasi, Bhd",
                 'Ah Seng "Big Boss" Hardware, Sdn Bhd', "Brasserie Élan Pte Ltd")

MY_PLACES = (("Kuala Lumpur", "W.P. Kuala Lumpur", "50"), ("Petaling Jaya", "Selangor", "46"),
             ("Shah Alam", "Selangor", "40"), ("George Town", "Pulau Pinang", "10"),
             ("Johor Bahru", "Johor", "80"), ("Ipoh", "Perak", "30"), ("Kota Kinabalu", "Sabah", "88"),
             ("Kuching", "Sarawak", "93"), ("Melaka", "Melaka", "75"), ("Seremban", "Negeri Sembilan", "70"),
             ("Kuantan", "Pahang", "25"), ("Alor Setar", "Kedah", "05"))
US_PLACES = (("San Francisco", "CA", "941"), ("New York", "NY", "100"), ("Austin", "TX", "787"),
             ("Seattle", "WA", "981"))
MY_STREETS = ("Jalan Bukit Bintang", "Jalan Ampang", "Jalan Tun Razak", "Jalan SS 2/24", "Lorong Kulit",
              "Jalan Ipoh", "Persiaran Gurney", "Jalan Wong Ah Fook", "Jalan Sultan Ismail")
SG_STREETS = ("Orchard Road", "Ubi Avenue 1", "Tanjong Pagar Road", "Jurong West Street 42")
US_STREETS = ("Market Street", "Broadway", "Congress Avenue", "Pike Street")

EMAIL_LOCALS = ("accounts", "finance", "billing", "admin", "ap", "info", "purchasing")
TLDS = {"MY": (".com.my", ".my"), "SG": (".com.sg", ".sg"), "US": (".com",)}
NAME_NOISE = {"sdn", "bhd", "pte", "ltd", "inc", "llc", "co", "m", "the", "berhad"}
# Number ranges wholly valid in libphonenumber's metadata (so good phones pass any phone check).
MY_MOBILE_PREFIXES = ("12", "16", "19")
MY_LANDLINE_PREFIX = "38"  # Kuala Lumpur / Selangor 03-8xxx xxxx
SG_PREFIXES = ("61", "62", "63", "64", "65", "67", "68", *(f"8{d}" for d in range(1, 10)),
               *(f"9{d}" for d in range(1, 9)))

CREDIT_LIMITS = (1000, 2000, 2500, 5000, 7500, 10000, 15000, 20000, 25000, 50000, 100000)
PAY_TERMS = (0, 7, 14, 30, 45, 60)
PAY_TERM_WEIGHTS = (5, 10, 15, 45, 10, 15)

# (name, selling price in cents, category, item type, unit of measure)
ITEM_BASES = (("A4 Copier Paper 80gsm, 500 sheets", 1850, "Stationery", "inventory", "pack"),
              ('Cable Tie 8" (100 pcs)', 590, "Hardware", "inventory", "pack"),
              ("Teh Tarik Premix 3-in-1", 1290, "Food & Beverage", "inventory", "pack"),
              ("Crème Brûlée Mix 1kg", 3450, "Food & Beverage", "inventory", "kg"),
              ("LED Tube 18W", 1590, "Electrical", "inventory", "pcs"),
              ("Safety Helmet, yellow", 2500, "Safety", "inventory", "piece"),
              ("Printer Toner Cartridge", 18900, "Stationery", "inventory", "unit"),
              ("PVC Pipe 2in x 6m", 4200, "Hardware", "inventory", "pcs"),
              ("Cooking Oil 5kg", 3190, "Food & Beverage", "inventory", "unit"),
              ("Basmati Rice 10kg", 5290, "Food & Beverage", "inventory", "pack"),
              ("Office Chair, ergonomic", 45900, "Furniture", "non-inventory", "unit"),
              ("Hand Sanitiser 500ml", 990, "Safety", "inventory", "ea"),
              ("Extension Cord 3-way", 2890, "Electrical", "inventory", "pcs"),
              ("Kopi-O Beans 1kg", 3800, "Food & Beverage", "inventory", "kg"),
              ("Consulting Services (hour)", 25000, "Services", "service", "hour"),
              ("Delivery Charge", 1500, "Services", "service", "lot"))
# (name suffix, unit of measure overriding the base's, or None)
ITEM_VARIANTS = (("", None), (" - Premium", None), (" - Economy", None), (" (Box)", "box"),
                 (" (Carton of 12)", "carton"))


@dataclass(frozen=True)
class Item:
    """A catalogue item a line item can sell."""

    code: str
    description: str
    price_cents: int
    category: str = "General"
    item_type: str = "inventory"
    unit_of_measure: str = "unit"
    cost_cents: int = 0


def ascii_slug(text: str) -> str:
    """Lower-case ASCII letters and digits of ``text``, accents stripped, noise words dropped."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = [w for w in re.findall(r"[a-z0-9]+", plain) if w not in NAME_NOISE]
    return "".join(words[:3]) or "company"


def money(cents: int) -> str:
    """Cents as a two-decimal string, e.g. -1234 -> ``-12.34``."""
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d}"


class Faker:
    """Draws realistic field values from one seeded random generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._emails: set[str] = set()

    def country(self) -> str:
        return self.rng.choices(("MY", "SG", "US"), weights=(85, 10, 5))[0]

    def company_name(self, country: str) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.03:
            return rng.choice(SPECIAL_NAMES)
        if country == "MY" and roll < 0.55:
            return f"{rng.choice(MY_TRADES)} {rng.choice(MY_OWNERS)}{rng.choice(MY_SUFFIXES)}"
        return f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}{rng.choice(INTL_SUFFIXES[country])}"

    def email(self, name: str, country: str) -> str:
        """A well-formed address unique across this faker (a company's email is unique per company)."""
        local, domain = self.rng.choice(EMAIL_LOCALS), ascii_slug(name)
        tld = self.rng.choice(TLDS[country])
        address, n = f"{local}@{domain}{tld}", 1
        while address in self._emails:
            n += 1
            address = f"{local}@{domain}{n}{tld}"
        self._emails.add(address)
        return address

    def phone(self, country: str) -> str:
        rng = self.rng
        if country == "SG":
            return f"+65{rng.choice(SG_PREFIXES)}{rng.randrange(10**6):06d}"
        if country == "US":
            return f"+1{rng.choice(('415', '212', '512', '206'))}{rng.randint(200, 999)}{rng.randrange(10**4):04d}"
        if rng.random() < 0.25:
            return f"+60{MY_LANDLINE_PREFIX}{rng.randrange(10**7):07d}"
        return f"+60{rng.choice(MY_MOBILE_PREFIXES)}{rng.randrange(10**7):07d}"

    def address(self, country: str) -> tuple[str, str, str, str]:
        """(street, city, state, postcode) for the country."""
        rng = self.rng
        number = rng.randint(1, 250)
        if country == "SG":
            return f"{number} {rng.choice(SG_STREETS)}, #0{rng.randint(1, 9)}-{rng.randint(10, 99)}", \
                "Singapore", "Singapore", f"{rng.randint(10, 82):02d}{rng.randrange(10**4):04d}"
        if country == "US":
            city, state, prefix = rng.choice(US_PLACES)
            return f"{number} {rng.choice(US_STREETS)}", city, state, f"{prefix}{rng.randrange(100):02d}"
        city, state, prefix = rng.choice(MY_PLACES)
        return f"No. {number}, {rng.choice(MY_STREETS)}", city, state, f"{prefix}{rng.randrange(1000):03d}"

    def tax_number(self, country: str) -> str:
        rng = self.rng
        if country == "SG":
            return f"20{rng.randrange(10**7):07d}{rng.choice('ABCDEKMNRZ')}"
        if country == "US":
            return f"{rng.randint(10, 99)}-{rng.randrange(10**7):07d}"
        return f"{rng.randint(1, 9)}{rng.randrange(10**11):011d}"

    def credit_limit(self, other_than: str | None = None) -> str:
        choices = [money(v * 100) for v in CREDIT_LIMITS if money(v * 100) != other_than]
        return self.rng.choice(choices)

    def pay_terms(self) -> int:
        return self.rng.choices(PAY_TERMS, weights=PAY_TERM_WEIGHTS)[0]

    def so_ref(self) -> str:
        return f"SO-{self.rng.randrange(10**6):06d}" if self.rng.random() < 0.8 else ""

    def notes(self) -> str:
        return self.rng.choice(("", "", "", "", "Deliver to back door, ring bell", 'Per PO "urgent"',
                                "Thank you for your business", "Bayaran melalui FPX, terima kasih"))

    def catalogue(self, size: int = 120) -> list[Item]:
        """``size`` distinct items with stable codes; cost is 55-85% of the selling price."""
        items = []
        for i in range(size):
            base, cents, category, item_type, uom = ITEM_BASES[i % len(ITEM_BASES)]
            variant, variant_uom = ITEM_VARIANTS[(i // len(ITEM_BASES)) % len(ITEM_VARIANTS)]
            price = max(1, round(cents * self.rng.uniform(0.8, 1.3)))
            if item_type == "service":
                variant_uom = None
            items.append(Item(f"SKU-{10001 + i}", base + variant, price, category, item_type,
                              variant_uom or uom, max(1, round(price * self.rng.uniform(0.55, 0.85)))))
        return items
