// Draws the demo catalog's product images (web/public/images/products/<slug>.svg and
// <slug>-detail.svg). The SVGs are committed; run this again only to change a drawing:
//   node web/tools/draw-products.mjs
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const out = join(dirname(fileURLToPath(import.meta.url)), "..", "public", "images", "products");

const tent = (fly, floor, kind) => {
  if (kind === "dome")
    return `<path d="M20 170 Q100 20 180 170 Z" fill="${fly}"/><path d="M20 170 Q100 60 180 170" fill="none" stroke="#222" stroke-width="3"/>
<path d="M45 170 Q100 40 155 170" fill="none" stroke="#222" stroke-width="3"/><path d="M80 170 Q100 110 120 170 Z" fill="#333"/><rect x="10" y="168" width="180" height="8" fill="${floor}"/>`;
  if (kind === "solo")
    return `<path d="M30 170 L120 40 L180 170 Z" fill="${fly}"/><line x1="120" y1="40" x2="120" y2="172" stroke="#555" stroke-width="4"/>
<path d="M95 170 L120 100 L140 170 Z" fill="#2b2b2b"/><rect x="20" y="168" width="170" height="6" fill="${floor}"/>`;
  return `<path d="M20 170 L100 40 L180 170 Z" fill="${fly}"/><path d="M100 40 L100 170" stroke="#1d1d1d" stroke-width="3"/>
<path d="M70 170 L100 90 L130 170 Z" fill="#263238"/><line x1="100" y1="40" x2="100" y2="25" stroke="#222" stroke-width="3"/><rect x="10" y="168" width="180" height="8" fill="${floor}"/>`;
};
const bag = (c, trim) => `<path d="M70 30 Q100 10 130 30 L140 170 Q100 190 60 170 Z" fill="${c}"/>
<ellipse cx="100" cy="45" rx="20" ry="14" fill="#2a2a2a"/>${[70, 95, 120, 145].map((y) => `<path d="M66 ${y} Q100 ${y + 8} 136 ${y}" stroke="${trim}" stroke-width="3" fill="none"/>`).join("")}
<line x1="128" y1="40" x2="136" y2="165" stroke="${trim}" stroke-width="4" stroke-dasharray="6 4"/>`;
const pad = (c, pattern) => `<rect x="40" y="20" width="120" height="160" rx="${pattern === "foam" ? 4 : 24}" fill="${c}"/>
${pattern === "foam" ? [40, 60, 80, 100, 120, 140, 160].map((y) => `<path d="M45 ${y} h110" stroke="#00000033" stroke-width="6"/>`).join("") : [55, 80, 105, 130, 155].map((x) => `<line x1="${x}" y1="30" x2="${x}" y2="170" stroke="#ffffff66" stroke-width="4"/>`).join("") + `<circle cx="150" cy="30" r="6" fill="#333"/>`}`;
const pack = (c, h, pockets) => `<rect x="${100 - h / 3}" y="${180 - h}" width="${(h * 2) / 3}" height="${h}" rx="22" fill="${c}"/>
<path d="M${100 - h / 3} ${200 - h} Q100 ${170 - h} ${100 + h / 3} ${200 - h} L${100 + h / 3} ${215 - h} L${100 - h / 3} ${215 - h} Z" fill="#00000044"/>
${Array.from({ length: pockets }, (_, i) => `<rect x="${70 + i * (60 / Math.max(pockets, 1))}" y="${130}" width="${60 / Math.max(pockets, 1) - 6}" height="34" rx="6" fill="#00000033"/>`).join("")}
<line x1="${100 - h / 3 + 8}" y1="${185 - h}" x2="${100 - h / 3 + 8}" y2="172" stroke="#222" stroke-width="4"/><line x1="${100 + h / 3 - 8}" y1="${185 - h}" x2="${100 + h / 3 - 8}" y2="172" stroke="#222" stroke-width="4"/>`;
const stove = () => `<rect x="60" y="110" width="80" height="70" rx="16" fill="#1565c0"/><rect x="60" y="110" width="80" height="14" fill="#0d47a1"/>
<rect x="92" y="80" width="16" height="30" fill="#9e9e9e"/><path d="M60 80 h80 l-10 -10 h-60 Z" fill="#757575"/>
<path d="M85 68 Q90 45 100 60 Q108 40 115 68 Z" fill="#ff7043"/><path d="M93 68 Q98 55 100 62 Q104 52 108 68 Z" fill="#ffca28"/>`;
const pot = () => `<rect x="50" y="80" width="100" height="90" rx="8" fill="#b0bec5"/><rect x="44" y="70" width="112" height="14" rx="6" fill="#90a4ae"/>
<rect x="88" y="58" width="24" height="12" rx="4" fill="#37474f"/><path d="M150 95 h30 v10 h-30" fill="none" stroke="#546e7a" stroke-width="6"/>
<line x1="60" y1="100" x2="140" y2="100" stroke="#ffffff88" stroke-width="3"/>`;
const filter = () => `<path d="M60 60 h80 l10 110 q-50 20 -100 0 Z" fill="#4fc3f7"/><rect x="82" y="30" width="36" height="30" rx="6" fill="#0277bd"/>
<path d="M70 110 q30 10 60 0 M70 130 q30 10 60 0" stroke="#ffffffaa" stroke-width="4" fill="none"/>`;
const mug = () => `<rect x="55" y="60" width="80" height="110" rx="10" fill="#26a69a"/><path d="M135 85 q35 0 35 30 q0 30 -35 30" fill="none" stroke="#00796b" stroke-width="10"/>
<rect x="50" y="52" width="90" height="14" rx="6" fill="#424242"/><rect x="70" y="100" width="50" height="20" rx="4" fill="#ffffff55"/>`;
const jacket = (c, style) => {
  const body = `<path d="M70 40 L40 60 L20 150 L45 155 L60 95 L60 180 L140 180 L140 95 L155 155 L180 150 L160 60 L130 40 Q100 60 70 40 Z" fill="${c}"/>
<line x1="100" y1="52" x2="100" y2="180" stroke="#222" stroke-width="3"/>`;
  if (style === "rain") return body + `<path d="M70 40 Q100 0 130 40 Q100 55 70 40 Z" fill="${c}" stroke="#00000055" stroke-width="3"/><rect x="70" y="110" width="20" height="4" fill="#222"/><rect x="110" y="110" width="20" height="4" fill="#222"/>`;
  if (style === "down") return body + [75, 100, 125, 150].map((y) => `<line x1="60" y1="${y}" x2="140" y2="${y}" stroke="#00000044" stroke-width="4"/>`).join("");
  return body + [75, 95, 115, 135, 155].map((y) => `<line x1="60" y1="${y}" x2="140" y2="${y}" stroke="#ffffff55" stroke-width="2"/>`).join("") + [75, 90, 110, 125].map((x) => `<line x1="${x}" y1="60" x2="${x}" y2="180" stroke="#ffffff55" stroke-width="2"/>`).join("");
};
const socks = () => `<path d="M60 30 h40 v90 q0 30 -30 40 h-30 q-20 0 -15 -20 q5 -15 35 -25 Z" fill="#8d6e63"/>
<path d="M110 40 h40 v90 q0 30 -30 40 h-30 q-20 0 -15 -20 q5 -15 35 -25 Z" fill="#a1887f"/><rect x="60" y="30" width="40" height="14" fill="#5d4037"/><rect x="110" y="40" width="40" height="14" fill="#5d4037"/>`;
const headlamp = () => `<ellipse cx="100" cy="110" rx="80" ry="45" fill="none" stroke="#f44336" stroke-width="12"/>
<rect x="70" y="130" width="60" height="40" rx="10" fill="#212121"/><circle cx="100" cy="150" r="14" fill="#fff59d"/><path d="M100 170 l-30 30 h60 Z" fill="#fff59d88"/>`;
const battery = () => `<rect x="50" y="40" width="100" height="140" rx="14" fill="#37474f"/><rect x="62" y="55" width="76" height="90" rx="6" fill="#263238"/>
${[0, 1, 2].map((i) => `<rect x="70" y="${120 - i * 25}" width="60" height="18" rx="3" fill="#66bb6a"/>`).join("")}<rect x="85" y="160" width="30" height="8" rx="3" fill="#90a4ae"/>`;
const gps = () => `<rect x="60" y="20" width="80" height="160" rx="14" fill="#ff8f00"/><rect x="70" y="36" width="60" height="80" rx="4" fill="#e8f5e9"/>
<path d="M72 60 q20 -15 40 0 t18 0 M72 80 q20 -15 40 0 t18 0 M72 100 q20 -15 40 0 t18 0" stroke="#4caf50" stroke-width="2" fill="none"/><circle cx="100" cy="75" r="5" fill="#d32f2f"/>
<circle cx="100" cy="145" r="14" fill="#e65100"/><line x1="120" y1="20" x2="120" y2="4" stroke="#424242" stroke-width="6"/>`;
const poles = () => `<line x1="70" y1="20" x2="85" y2="185" stroke="#455a64" stroke-width="6"/><line x1="130" y1="20" x2="115" y2="185" stroke="#455a64" stroke-width="6"/>
<rect x="60" y="14" width="20" height="40" rx="6" fill="#212121"/><rect x="120" y="14" width="20" height="40" rx="6" fill="#212121"/><circle cx="83" cy="165" r="9" fill="none" stroke="#212121" stroke-width="3"/><circle cx="117" cy="165" r="9" fill="none" stroke="#212121" stroke-width="3"/>`;
const knife = () => `<path d="M30 110 L120 90 Q160 85 175 100 L120 115 Z" fill="#cfd8dc" stroke="#607d8b" stroke-width="2"/>
<rect x="10" y="105" width="70" height="24" rx="10" fill="#6d4c41" transform="rotate(-8 45 117)"/><circle cx="30" cy="118" r="4" fill="#d7ccc8"/><circle cx="62" cy="113" r="4" fill="#d7ccc8"/>`;
const firstAid = () => `<rect x="30" y="60" width="140" height="110" rx="14" fill="#d32f2f"/><rect x="80" y="40" width="40" height="24" rx="6" fill="none" stroke="#b71c1c" stroke-width="8"/>
<rect x="88" y="85" width="24" height="64" fill="#fff"/><rect x="68" y="105" width="64" height="24" fill="#fff"/>`;

const products = {
  "TENT-2P": ["Ridgeline 2-Person Tent", "#e8f5e9", tent("#2e7d32", "#1b5e20", "aframe")],
  "TENT-4P": ["Basecamp 4-Person Tent", "#fff3e0", tent("#ef6c00", "#4e342e", "dome")],
  "TENT-UL1": ["Featherlite Solo Tent", "#eceff1", tent("#78909c", "#37474f", "solo")],
  "BAG-0C": ["Alpine Down Bag 0C", "#e3f2fd", bag("#c62828", "#ffcdd2")],
  "BAG-10C": ["Summer Synthetic Bag 10C", "#f1f8e9", bag("#fbc02d", "#f57f17")],
  "PAD-AIR": ["Cloudrest Air Pad", "#ede7f6", pad("#5e35b1", "air")],
  "PAD-FOAM": ["Trail Foam Pad", "#fffde7", pad("#9e9d24", "foam")],
  "PACK-40": ["Switchback 40L Pack", "#e0f7fa", pack("#00838f", 120, 2)],
  "PACK-65": ["Expedition 65L Pack", "#fbe9e7", pack("#bf360c", 160, 3)],
  "PACK-DAY": ["Summit 22L Daypack", "#f3e5f5", pack("#8e24aa", 90, 1)],
  "STOVE-CAN": ["Pocket Canister Stove", "#e8eaf6", stove()],
  "POT-TI": ["Titanium Pot 750ml", "#fafafa", pot()],
  "FILTER-SQ": ["Squeeze Water Filter", "#e1f5fe", filter()],
  "MUG-INS": ["Insulated Camp Mug", "#e0f2f1", mug()],
  "JACKET-RAIN": ["Stormline Rain Jacket", "#fffde7", jacket("#fdd835", "rain")],
  "JACKET-DOWN": ["Puffy Down Jacket", "#e3f2fd", jacket("#1e88e5", "down")],
  "FLEECE-MID": ["Grid Fleece Midlayer", "#fce4ec", jacket("#d81b60", "grid")],
  "SOCK-WOOL": ["Merino Hiking Socks", "#efebe9", socks()],
  "LAMP-300": ["Headlamp 300 Lumen", "#212121", headlamp()],
  "BATT-10K": ["Power Bank 10000mAh", "#eceff1", battery()],
  "GPS-HAND": ["Trailfinder GPS", "#f1f8e9", gps()],
  "POLES-CF": ["Carbon Trekking Poles", "#e0f2f1", poles()],
  "KNIFE-FOLD": ["Folding Camp Knife", "#f5f5f5", knife()],
  "FIRSTAID-1": ["Trail First-Aid Kit", "#ffebee", firstAid()],
};

const svg = (title, body) => `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 400 300" width="400" height="300" role="img" aria-label="${title}">
<title>${title}</title>
${body}
</svg>
`;

mkdirSync(out, { recursive: true });
for (const [sku, [name, bg, drawing]] of Object.entries(products)) {
  const slug = sku.toLowerCase();
  writeFileSync(join(out, `${slug}.svg`), svg(name, `<rect width="400" height="300" fill="${bg}"/>
<g transform="translate(100 50)">${drawing}</g>`));
  const grid = Array.from({ length: 20 }, (_, i) => `<line x1="${i * 20}" y1="0" x2="${i * 20}" y2="300" stroke="#90a4ae33"/><line x1="0" y1="${i * 20}" x2="400" y2="${i * 20}" stroke="#90a4ae33"/>`).join("");
  writeFileSync(join(out, `${slug}-detail.svg`), svg(`${name}, detail`, `<rect width="400" height="300" fill="#ffffff"/>${grid}
<circle cx="200" cy="150" r="140" fill="${bg}" stroke="#37474f" stroke-width="4"/>
<clipPath id="lens"><circle cx="200" cy="150" r="138"/></clipPath>
<g clip-path="url(#lens)"><g transform="translate(10 -40) scale(1.9)">${drawing}</g></g>
<rect x="8" y="262" width="384" height="30" rx="6" fill="#263238"/><text x="200" y="283" font-family="sans-serif" font-size="16" fill="#ffffff" text-anchor="middle">${name} · ${sku}</text>`));
}
console.log(`drew ${Object.keys(products).length * 2} images in ${out}`);
