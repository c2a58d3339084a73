// Builds web/dist/: the storefront (index.html, assets/*.js|css) and the product images.
//   node web/build.mjs [--watch]
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const web = dirname(fileURLToPath(import.meta.url));
const dist = join(web, "dist");

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "assets"), { recursive: true });

const options = {
  entryPoints: { storefront: join(web, "storefront", "main.js"), console: join(web, "console", "console.js") },
  bundle: true,
  format: "esm",
  target: ["es2020"],
  minify: true,
  sourcemap: true,
  outdir: join(dist, "assets"),
  logLevel: "warning",
};

const result = await esbuild.build(options);
if (result.errors.length) process.exit(1);

writeFileSync(join(dist, "index.html"), readFileSync(join(web, "storefront", "index.html")));
mkdirSync(join(dist, "console"), { recursive: true });
writeFileSync(join(dist, "console", "index.html"), readFileSync(join(web, "console", "index.html")));
cpSync(join(web, "public"), dist, { recursive: true });
console.log("web/dist: storefront built");
