"""The demo catalog: a small outdoor-gear shop, enough to browse, filter and buy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SeedProduct:
    sku: str
    name: str
    category: str
    price: int
    stock: int
    description: str

    def body(self) -> dict[str, object]:
        slug = self.sku.lower()
        return {
            "name": self.name,
            "description": self.description,
            "category": self.category,
            "price": {"amount": self.price, "currency": "usd"},
            "images": [f"/images/products/{slug}.svg", f"/images/products/{slug}-detail.svg"],
            "status": "ACTIVE",
        }


def _p(sku: str, name: str, category: str, price: int, stock: int, description: str) -> SeedProduct:
    return SeedProduct(sku, name, category, price, stock, description)


CATALOG: tuple[SeedProduct, ...] = (
    _p("TENT-2P", "Ridgeline 2-Person Tent", "tents", 24900, 12, "Freestanding three-season tent, 2.1 kg."),
    _p("TENT-4P", "Basecamp 4-Person Tent", "tents", 39900, 6, "Roomy family tent with two vestibules."),
    _p("TENT-UL1", "Featherlite Solo Tent", "tents", 32900, 4, "Single-wall trekking-pole shelter, 780 g."),
    _p("BAG-0C", "Alpine Down Bag 0C", "sleeping", 27900, 10, "800-fill down mummy bag rated to 0 C."),
    _p("BAG-10C", "Summer Synthetic Bag 10C", "sleeping", 8900, 25, "Packable synthetic bag for warm nights."),
    _p("PAD-AIR", "Cloudrest Air Pad", "sleeping", 14900, 18, "Insulated air pad, R-value 4.2."),
    _p("PAD-FOAM", "Trail Foam Pad", "sleeping", 3900, 40, "Closed-cell foam pad that never punctures."),
    _p("PACK-40", "Switchback 40L Pack", "packs", 17900, 15, "Ventilated back panel, hip-belt pockets."),
    _p("PACK-65", "Expedition 65L Pack", "packs", 28900, 8, "Load-lifting frame for multi-day trips."),
    _p("PACK-DAY", "Summit 22L Daypack", "packs", 7900, 30, "Light daypack with hydration sleeve."),
    _p("STOVE-CAN", "Pocket Canister Stove", "cooking", 4900, 35, "Boils a litre in 3.5 minutes."),
    _p("POT-TI", "Titanium Pot 750ml", "cooking", 5900, 22, "Pot and lid that nest a fuel canister."),
    _p("FILTER-SQ", "Squeeze Water Filter", "cooking", 3900, 50, "0.1 micron hollow-fibre filter."),
    _p("MUG-INS", "Insulated Camp Mug", "cooking", 2400, 60, "Double-wall steel mug with a sliding lid."),
    _p(
        "JACKET-RAIN",
        "Stormline Rain Jacket",
        "apparel",
        19900,
        14,
        "Three-layer waterproof breathable shell.",
    ),
    _p("JACKET-DOWN", "Puffy Down Jacket", "apparel", 22900, 9, "Warm, compressible 850-fill jacket."),
    _p("FLEECE-MID", "Grid Fleece Midlayer", "apparel", 9900, 20, "Breathable grid fleece for cold starts."),
    _p("SOCK-WOOL", "Merino Hiking Socks", "apparel", 2200, 80, "Cushioned merino socks, two pairs."),
    _p("LAMP-300", "Headlamp 300 Lumen", "electronics", 4500, 45, "USB-C rechargeable headlamp."),
    _p("BATT-10K", "Power Bank 10000mAh", "electronics", 5900, 3, "Rugged power bank, 190 g."),
    _p("GPS-HAND", "Trailfinder GPS", "electronics", 34900, 5, "Handheld GPS with topographic maps."),
    _p("POLES-CF", "Carbon Trekking Poles", "accessories", 12900, 16, "Pair of folding carbon poles."),
    _p("KNIFE-FOLD", "Folding Camp Knife", "accessories", 3400, 28, "Locking 7.5 cm stainless blade."),
    _p("FIRSTAID-1", "Trail First-Aid Kit", "accessories", 2900, 2, "Compact kit for one to two people."),
)
